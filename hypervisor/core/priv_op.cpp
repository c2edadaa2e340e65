// priv_op: decoding the faulting instruction and emulating the control-register, cache,
// TSC, XCR and interrupt-flag instructions (MSRs: priv_op_msr.cpp; ports: priv_op_io.cpp).
// Semantics are Xen 4.17's x86_emulate() driven by pv/emul-priv-op.c's hooks.
#include "priv_op.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/mmu.hpp>
#include <pv/shared_info.hpp>

#include "mm_ops.hpp"
#include "pv_cpu.hpp"

namespace hv {
namespace {

constexpr unsigned kVectorDebug = 1, kVectorPageFault = 14;
constexpr std::uint64_t kRflagsTf = 1u << 8;
constexpr std::uint64_t kDr6Step = 1u << 14;

struct Prefixes {
  bool opsize = false, addr32 = false, rep = false, lock = false;
  std::uint8_t rex = 0;
};

bool is_legacy_prefix(std::uint8_t b) {
  switch (b) {
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
    case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
      return true;
    default:
      return false;
  }
}

std::uint8_t port_io_width(std::uint8_t opcode, const Prefixes& p) {
  if ((opcode & 1) == 0) return 1;
  return p.opsize && !(p.rex & 8) ? 2 : 4;  // REX.W does not make port I/O 8 bytes wide
}

// One-byte opcodes: cli/sti and the port I/O family.
std::optional<PrivOpInsn> decode_one_byte(std::uint8_t op, const Prefixes& p,
                                          std::span<const std::uint8_t> rest, std::size_t at,
                                          std::size_t* needed) {
  PrivOpInsn insn;
  insn.length = static_cast<std::uint8_t>(at + 1);
  insn.lock = p.lock;
  switch (op) {
    case 0xfa: insn.kind = PrivOpKind::cli; return insn;
    case 0xfb: insn.kind = PrivOpKind::sti; return insn;
    case 0xe4: case 0xe5: case 0xe6: case 0xe7:
      if (rest.size() < at + 2) {
        if (needed) *needed = at + 2;
        return std::nullopt;
      }
      insn.kind = op & 2 ? PrivOpKind::out : PrivOpKind::in;
      insn.port = rest[at + 1];
      insn.length = static_cast<std::uint8_t>(at + 2);
      break;
    case 0xec: case 0xed: case 0xee: case 0xef:
      insn.kind = op & 2 ? PrivOpKind::out : PrivOpKind::in;
      insn.port_in_dx = true;
      break;
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      insn.kind = op & 2 ? PrivOpKind::outs : PrivOpKind::ins;
      insn.port_in_dx = true;
      insn.rep = p.rep;
      insn.addr32 = p.addr32;
      break;
    default:
      return std::nullopt;
  }
  insn.io_bytes = port_io_width(op, p);
  return insn;
}

std::optional<PrivOpInsn> decode_two_byte(std::span<const std::uint8_t> b, std::size_t at,
                                          const Prefixes& p, std::size_t* needed) {
  auto want = [&](std::size_t n) {
    if (b.size() >= n) return true;
    if (needed) *needed = n;
    return false;
  };
  if (!want(at + 2)) return std::nullopt;
  PrivOpInsn insn;
  insn.lock = p.lock;
  insn.length = static_cast<std::uint8_t>(at + 2);
  const std::uint8_t op = b[at + 1];
  switch (op) {
    case 0x06: insn.kind = PrivOpKind::clts; return insn;
    case 0x09: insn.kind = PrivOpKind::wbinvd; return insn;
    case 0x30: insn.kind = PrivOpKind::wrmsr; return insn;
    case 0x31: insn.kind = PrivOpKind::rdtsc; return insn;
    case 0x32: insn.kind = PrivOpKind::rdmsr; return insn;
    case 0x20: case 0x22: {
      if (!want(at + 3)) return std::nullopt;
      const std::uint8_t modrm = b[at + 2];
      // mov cr always uses the register form whatever `mod` says.
      insn.kind = op == 0x20 ? PrivOpKind::mov_from_cr : PrivOpKind::mov_to_cr;
      insn.cr = static_cast<std::uint8_t>(((modrm >> 3) & 7) | (p.rex & 4 ? 8 : 0));
      insn.gpr = static_cast<std::uint8_t>((modrm & 7) | (p.rex & 1 ? 8 : 0));
      insn.length = static_cast<std::uint8_t>(at + 3);
      return insn;
    }
    case 0x01: {
      if (!want(at + 3)) return std::nullopt;
      insn.length = static_cast<std::uint8_t>(at + 3);
      if (b[at + 2] == 0xd1) insn.kind = PrivOpKind::xsetbv;
      else if (b[at + 2] == 0xf9) insn.kind = PrivOpKind::rdtscp;
      else return std::nullopt;
      return insn;
    }
    default:
      return std::nullopt;
  }
}

std::uint64_t& gpr(GuestRegisters& r, unsigned index) {
  std::uint64_t* const regs[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi,
                                   &r.rdi, &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13,
                                   &r.r14, &r.r15};
  return *regs[index & 15];
}

bool read_cr(HypercallContext& ctx, PrivOpPlatform& hw, unsigned cr, std::uint64_t& value) {
  const Vcpu& v = ctx.vcpu;
  switch (cr) {
    case 0:
      value = (hw.read_cr0() & ~priv_op::X86_CR0_TS) | (v.pv.virtual_ts ? priv_op::X86_CR0_TS : 0);
      return true;
    case 2:  // Xen's ctrlreg[2] is mirrored into vcpu_info.arch.cr2 on every #PF bounce
      value = v.info() ? v.info()->arch.cr2 : 0;
      return true;
    case 3:  // xen_pfn_to_cr3 of the kernel root (PV: the gfn is the mfn)
      value = v.mm.guest_table << 12;
      return true;
    case 4:
      value = priv_op::guest_cr4(v, hw);
      return true;
    default:
      return false;
  }
}

std::uint64_t cr4_policy_mask(PrivOpPlatform& hw) {
  const CpuidRegs l1 = hw.guest_cpuid(1, 0), l7 = hw.guest_cpuid(7, 0);
  std::uint64_t drop = 0;
  if (!(l1.edx & (1u << 4))) drop |= priv_op::X86_CR4_TSD;
  if (!(l1.edx & (1u << 2))) drop |= priv_op::X86_CR4_DE;
  if (!(l7.ebx & 1u)) drop |= priv_op::X86_CR4_FSGSBASE;
  if (!(l1.ecx & (1u << 26))) drop |= priv_op::X86_CR4_OSXSAVE;
  return priv_op::kCr4GuestMask & ~drop;
}

bool write_cr(HypercallContext& ctx, PrivOpPlatform& hw, unsigned cr, std::uint64_t value) {
  Vcpu& v = ctx.vcpu;
  switch (cr) {
    case 0:  // only TS may change (Xen: "Attempt to change unmodifiable CR0 flags")
      if ((value ^ hw.read_cr0()) & ~priv_op::X86_CR0_TS) return false;
      v.pv.virtual_ts = (value & priv_op::X86_CR0_TS) != 0;
      ctx.cpu.set_fpu_trap(v.pv.virtual_ts);
      return true;
    case 2:
      if (v.info()) v.info()->arch.cr2 = value;
      return true;
    case 3: {  // new_guest_cr3, as MMUEXT_NEW_BASEPTR does it (xen_cr3_to_pfn: value >> 12)
      if (ctx.mm == nullptr) return false;
      pv::mmuext_op op{};
      op.cmd = pv::MMUEXT_NEW_BASEPTR;
      op.arg1.mfn = value >> 12;
      unsigned done = 0;
      return ctx.mm->mmuext_op(MmCaller{v.domain().memory, v.mm}, std::span(&op, 1), done,
                               pv::DOMID_SELF).ok();
    }
    case 4:
      // The guest keeps its choice of the policy-permitted bits; the rest of its view is
      // the hypervisor's own setting (pv_fixup_guest_cr4). Hardware CR4 is not changed.
      v.pv.guest_cr4 = value & cr4_policy_mask(hw);
      return true;
    default:
      return false;
  }
}

// handle_xsetbv for XCR0: x87 always, AVX only with SSE, nothing the guest's CPUID lacks.
bool write_xcr(PrivOpPlatform& hw, std::uint32_t index, std::uint64_t value) {
  if (index != 0) return false;
  const CpuidRegs d = hw.guest_cpuid(0xd, 0);
  const std::uint64_t offered = (std::uint64_t{d.edx} << 32) | d.eax;
  if (!(value & 1) || (value & ~offered) || ((value & 4) && !(value & 2))) return false;
  return hw.write_xcr0(value);
}

// Mirrors what Xen's x86_emulate() does before any hook: ring-0-only instructions #GP in
// guest user mode; cli/sti need the virtual IOPL and are then ignored.
bool emulate_non_io(HypercallContext& ctx, PrivOpPlatform& hw, const PrivOpInsn& insn) {
  GuestRegisters& r = ctx.regs;
  const bool ring0 = ctx.vcpu.mm.kernel_mode;
  const auto edx_eax = [&](std::uint64_t v) {
    r.rax = static_cast<std::uint32_t>(v);
    r.rdx = v >> 32;
  };
  if (insn.lock) return false;  // #UD in the real emulator; never emulated here
  switch (insn.kind) {
    case PrivOpKind::rdmsr: {
      std::uint64_t value = 0;
      if (!ring0 || !priv_op::read_msr(ctx, hw, static_cast<std::uint32_t>(r.rcx), value))
        return false;
      edx_eax(value);
      return true;
    }
    case PrivOpKind::wrmsr:
      return ring0 && priv_op::write_msr(ctx, hw, static_cast<std::uint32_t>(r.rcx),
                                         (r.rdx << 32) | static_cast<std::uint32_t>(r.rax));
    case PrivOpKind::mov_from_cr: {
      std::uint64_t value = 0;
      if (!ring0 || !read_cr(ctx, hw, insn.cr, value)) return false;
      gpr(r, insn.gpr) = value;
      return true;
    }
    case PrivOpKind::mov_to_cr:
      return ring0 && write_cr(ctx, hw, insn.cr, gpr(r, insn.gpr));
    case PrivOpKind::clts:
      if (!ring0) return false;
      ctx.vcpu.pv.virtual_ts = false;
      ctx.cpu.set_fpu_trap(false);
      return true;
    case PrivOpKind::wbinvd:
      // Xen flushes only for domains allowed to (cache_flush_permitted: I/O resources);
      // others' wbinvd is a no-op because Linux uses it in start-of-day timing loops.
      if (!ring0) return false;
      if (ctx.vcpu.domain().privileged()) hw.wbinvd();
      return true;
    case PrivOpKind::rdtsc: case PrivOpKind::rdtscp: {
      if (!ring0 && (priv_op::guest_cr4(ctx.vcpu, hw) & priv_op::X86_CR4_TSD)) return false;
      std::uint64_t aux = 0;
      if (insn.kind == PrivOpKind::rdtscp &&
          !priv_op::read_msr(ctx, hw, priv_op::MSR_TSC_AUX, aux))
        return false;
      edx_eax(hw.read_tsc());
      if (insn.kind == PrivOpKind::rdtscp) r.rcx = static_cast<std::uint32_t>(aux);
      return true;
    }
    case PrivOpKind::xsetbv:
      return ring0 && write_xcr(hw, static_cast<std::uint32_t>(r.rcx),
                                (r.rdx << 32) | static_cast<std::uint32_t>(r.rax));
    case PrivOpKind::cli: case PrivOpKind::sti:
      return priv_op::iopl_ok(ctx.vcpu);
    default:
      return false;
  }
}

priv_op::IoStep emulate(HypercallContext& ctx, PrivOpPlatform& hw, const PrivOpInsn& insn) {
  switch (insn.kind) {
    case PrivOpKind::in: case PrivOpKind::out: case PrivOpKind::ins: case PrivOpKind::outs:
      if (insn.lock) return priv_op::IoStep::raise_gp;
      return priv_op::emulate_port_io(ctx, hw, insn);
    default:
      return emulate_non_io(ctx, hw, insn) ? priv_op::IoStep::completed
                                           : priv_op::IoStep::raise_gp;
  }
}

// Up to 15 bytes at rip; fewer when the next page is unreadable. 0: rip itself unreadable.
std::size_t fetch(GuestMemory& memory, std::uint64_t rip, std::uint8_t (&insn)[15]) {
  if (memory.copy_from_guest(insn, rip, sizeof insn).ok()) return sizeof insn;
  const std::size_t in_page = 0x1000 - (rip & 0xfff);
  if (in_page < sizeof insn && memory.copy_from_guest(insn, rip, in_page).ok()) return in_page;
  return 0;
}

}  // namespace

std::optional<PrivOpInsn> decode_priv_op(std::span<const std::uint8_t> b, std::size_t* needed) {
  Prefixes p;
  std::size_t at = 0;
  for (;; ++at) {
    if (at >= b.size() || at >= 15) {
      if (needed && at < 15) *needed = at + 1;
      return std::nullopt;
    }
    const std::uint8_t c = b[at];
    if (is_legacy_prefix(c)) {
      p.rex = 0;  // a REX prefix only counts right before the opcode
      if (c == 0x66) p.opsize = true;
      if (c == 0x67) p.addr32 = true;
      if (c == 0xf0) p.lock = true;
      if (c == 0xf2 || c == 0xf3) p.rep = true;
      continue;
    }
    if ((c & 0xf0) == 0x40) {
      p.rex = c;
      continue;
    }
    break;
  }
  std::optional<PrivOpInsn> insn = b[at] == 0x0f ? decode_two_byte(b, at, p, needed)
                                                 : decode_one_byte(b[at], p, b, at, needed);
  if (insn && insn->length > 15) return std::nullopt;
  return insn;
}

PrivOpResult emulate_privileged_op(HypercallContext& ctx, PrivOpPlatform& hw) {
  GuestRegisters& r = ctx.regs;
  std::uint8_t bytes[15] = {};
  const std::size_t got = fetch(ctx.memory, r.rip, bytes);
  std::size_t needed = 0;
  std::optional<PrivOpInsn> insn =
      decode_priv_op(std::span<const std::uint8_t>(bytes, got), &needed);
  if (!insn) {
    if (needed > got && got < sizeof bytes) {
      // Xen's insn_fetch: an unreadable instruction byte is a #PF (error code 0) at it.
      deliver_exception(ctx, kVectorPageFault, true, 0, r.rip + got);
      return PrivOpResult::emulated;
    }
    return PrivOpResult::not_emulated;
  }
  switch (emulate(ctx, hw, *insn)) {
    case priv_op::IoStep::raise_gp: return PrivOpResult::not_emulated;
    case priv_op::IoStep::exception_delivered: return PrivOpResult::emulated;
    case priv_op::IoStep::repeat: return PrivOpResult::emulated;  // rip stays: more reps
    case priv_op::IoStep::completed: break;
  }
  r.rip += insn->length;
  if (r.rflags & kRflagsTf) {  // the single-step trap the instruction would have raised
    ctx.vcpu.pv.dr6 |= kDr6Step;
    deliver_exception(ctx, kVectorDebug, false, 0);
  }
  return PrivOpResult::emulated;
}

namespace priv_op {

std::uint64_t guest_cr4(const Vcpu& vcpu, PrivOpPlatform& hw) {
  return (vcpu.pv.guest_cr4 & kCr4GuestMask) | (hw.read_cr4() & kCr4GuestVisibleMask);
}

}  // namespace priv_op

}  // namespace hv
