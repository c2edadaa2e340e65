// guest_entry: what happens when the CPU enters the hypervisor (entry.S calls hv_exception
// for every exception and every guest syscall). From a guest: hypercalls are dispatched,
// user-mode syscalls and exceptions are bounced to the guest kernel (core/pv_cpu), and a
// refused `int n` is told apart from a real #GP by decoding the instruction.
// From the hypervisor itself: a fault in a guest-memory accessor resumes at its fixup, a
// #DB (a guest watchpoint hit by such an access) is logged and dropped; anything else is a
// hypervisor bug and panics.
#include <pv/sched.hpp>

#include "context.hpp"
#include "core/cpuid_policy.hpp"
#include "core/debugreg.hpp"
#include "core/event_channel.hpp"
#include "core/hypercall.hpp"
#include "core/pv_cpu.hpp"
#include "core/log.hpp"
#include "core/mm_ops.hpp"
#include "core/nmi.hpp"
#include "core/panic.hpp"
#include "core/x86_decode.hpp"
#include "fault_fixup.hpp"
#include "guest_memory.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "percpu.hpp"
#include "priv_op_platform.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"
#include "trap_frame.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kVectorPageFault = 14, kVectorGeneralProtection = 13, kVectorDeviceNotAvailable = 7;
constexpr std::uint64_t kVectorDebug = 1;
constexpr std::uint64_t kCr4Osxsave = 1u << 18;

// The memory lock around work that may change frames (MmOps::lock): an emulated mov to %cr3
// is an MMUEXT_NEW_BASEPTR, a page-table store an mmu_update.
PrivOpResult emulate_privileged_op_locked(HypercallContext& ctx, PrivOpHardware& hw) {
  if (ctx.mm == nullptr) return emulate_privileged_op(ctx, hw);
  LockGuard guard(ctx.mm->lock());
  return emulate_privileged_op(ctx, hw);
}

// A #GP from `int n` (CD nn) whose gate is DPL 0: deliver vector n if the guest's virtual
// IDT allows it from the current mode, else the #GP. The instruction is read from guest
// memory rather than trusting the error code (TCG reports (n << 4) | 2 instead of
// (n << 3) | 2). A #GP(0) from a privileged or I/O instruction is emulated where Xen
// emulates it (core/priv_op).
void handle_general_protection(HypercallContext& ctx) {
  TrapFrame& f = ctx.regs;
  std::uint8_t insn[2] = {};
  if ((f.error_code & 3) == 2 && ctx.memory.copy_from_guest(insn, f.rip, 2).ok() && insn[0] == 0xCD) {
    if (soft_interrupt_permitted(ctx.vcpu, insn[1])) {
      f.rip += 2;
      deliver_exception(ctx, insn[1], false, 0);
      return;
    }
    deliver_exception(ctx, kVectorGeneralProtection, true, (std::uint64_t{insn[1]} << 3) | 2);
    return;
  }
  // Xen emulates privileged and I/O instructions only for #GP(0) (pv_emulate_privileged_op).
  PrivOpHardware hw;
  if (f.error_code == 0 && emulate_privileged_op_locked(ctx, hw) == PrivOpResult::emulated) {
    load_guest_cr4(ctx.vcpu);  // a mov to %cr4 may have changed FSGSBASE/TSD
    return;
  }
  deliver_exception(ctx, kVectorGeneralProtection, true, f.error_code);
}

CpuidRegs host_cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  CpuidResult r = cpuid(leaf, subleaf);
  return {r.eax, r.ebx, r.ecx, r.edx};
}

// #UD: the forced emulation prefix before cpuid asks us to emulate it; anything else is the
// guest's own #UD.
void handle_invalid_opcode(HypercallContext& ctx) {
  TrapFrame& f = ctx.regs;
  std::uint8_t insn[kForcedCpuidLength] = {};
  if (ctx.memory.copy_from_guest(insn, f.rip, sizeof insn).ok() && is_forced_cpuid(insn)) {
    CpuidRegs r = guest_cpuid(static_cast<std::uint32_t>(f.rax), static_cast<std::uint32_t>(f.rcx), host_cpuid,
                              (ctx.vcpu.pv.guest_cr4 & kCr4Osxsave) != 0);
    f.rax = r.eax;
    f.rbx = r.ebx;
    f.rcx = r.ecx;
    f.rdx = r.edx;
    f.rip += kForcedCpuidLength;
    return;
  }
  deliver_exception(ctx, 6, false, 0);
}

// Writable page tables (spec §4.4; Xen pv_ro_page_fault): a guest-kernel store into one of
// its own read-only mapped L1 tables is decoded and applied as a validated entry update.
// Returns false when the fault is not one to emulate (the caller forwards the #PF).
constexpr std::uint64_t kPfPresent = 1, kPfWrite = 2, kPfReserved = 8, kPfFetch = 16;
constexpr std::uint64_t kRflagsTf = 1u << 8;

// Up to 15 instruction bytes at `rip` (fewer when the next page is not readable).
std::size_t fetch_instruction(HypercallContext& ctx, std::uint64_t rip, std::uint8_t (&insn)[15]) {
  if (ctx.memory.copy_from_guest(insn, rip, sizeof insn).ok()) return sizeof insn;
  const std::size_t in_page = 0x1000 - (rip & 0xfff);
  if (in_page < sizeof insn && ctx.memory.copy_from_guest(insn, rip, in_page).ok()) return in_page;
  return 0;
}

bool emulate_pt_write(HypercallContext& ctx, std::uint64_t cr2) {
  TrapFrame& f = ctx.regs;
  if (ctx.mm == nullptr || !ctx.vcpu.mm.kernel_mode) return false;
  LockGuard guard(ctx.mm->lock());
  const std::uint64_t kinds = kPfPresent | kPfWrite | kPfReserved | kPfFetch;
  if ((f.error_code & kinds) != (kPfPresent | kPfWrite)) return false;
  Result<std::uint64_t> target =
      ctx.mm->ptwr_target(MmCaller{ctx.vcpu.domain().memory, ctx.vcpu.mm}, cr2);
  if (!target) return false;
  std::uint8_t insn[15] = {};
  const std::size_t n = fetch_instruction(ctx, f.rip, insn);
  std::optional<x86dec::DecodedStore> s =
      x86dec::decode_store(std::span<const std::uint8_t>(insn, n));
  if (!s) return false;
  std::uint64_t* const gpr[16] = {&f.rax, &f.rcx, &f.rdx, &f.rbx, &f.rsp, &f.rbp, &f.rsi, &f.rdi,
                                  &f.r8,  &f.r9,  &f.r10, &f.r11, &f.r12, &f.r13, &f.r14, &f.r15};
  PtwrRegisters regs{};
  for (unsigned i = 0; i < 16; ++i) regs.gpr[i] = *gpr[i];
  regs.rflags = f.rflags;
  const std::uint64_t ea = x86dec::effective_address(*s, regs.gpr, f.rip);
  // Xen: only naturally aligned stores within the faulting page.
  if (((ea ^ cr2) & ~std::uint64_t{0xfff}) != 0 || (ea & (s->width - 1)) != 0) return false;
  const std::uint64_t maddr = (*target & ~std::uint64_t{0xfff}) | (ea & 0xfff);
  const PtwrOutcome out =
      ctx.mm->ptwr_emulate(MmCaller{ctx.vcpu.domain().memory, ctx.vcpu.mm}, *s, maddr, regs);
  if (out == PtwrOutcome::refused) return false;
  if (out == PtwrOutcome::retry) return true;  // lost a race: re-execute the instruction
  for (unsigned i = 0; i < 16; ++i) *gpr[i] = regs.gpr[i];
  f.rflags = regs.rflags;
  f.rip += s->length;
  if (f.rflags & kRflagsTf) deliver_exception(ctx, 1, false, 0);  // single-step trap after it
  return true;
}

// #NM: the hardware TS only mirrors the guest's virtual TS, so the guest sees #NM exactly
// when its virtual TS is set, and (as Xen's do_device_not_available) that TS is cleared as
// the #NM is delivered; a stale hardware TS is simply cleared.
void handle_device_not_available(HypercallContext& ctx) {
  if (ctx.vcpu.pv.virtual_ts) deliver_exception(ctx, kVectorDeviceNotAvailable, false, 0);
  ctx.vcpu.pv.virtual_ts = false;
  ctx.cpu.set_fpu_trap(false);
}

void handle_from_guest(HypercallContext& ctx) {
  TrapFrame& f = ctx.regs;
  if (f.vector == HV_VECTOR_SYSCALL) {
    // `syscall` left the return rip in %rcx and rflags in %r11; the entry stub needed %rcx
    // for its jump, so put back what the guest architecturally has there.
    f.rcx = f.rip;
    f.r11 = f.rflags;
    if (ctx.vcpu.mm.kernel_mode) {
      HypercallArgs args{f.rdi, f.rsi, f.rdx, f.r10, f.r8};
      f.rax = static_cast<std::uint64_t>(dispatch_hypercall(ctx, f.rax, args));
    } else {
      deliver_user_syscall(ctx);
    }
    return;
  }
  const auto vector = static_cast<unsigned>(f.vector);
  if (vector == kVectorGeneralProtection) return handle_general_protection(ctx);
  if (vector == 6) return handle_invalid_opcode(ctx);
  if (vector == kVectorPageFault) {
    const std::uint64_t cr2 = read_cr2();
    if (!emulate_pt_write(ctx, cr2)) deliver_exception(ctx, vector, true, f.error_code, cr2);
    return;
  }
  if (vector == kVectorDeviceNotAvailable) return handle_device_not_available(ctx);
  if (vector == kVectorDebug) {
    // Xen's do_debug from guest context: what the hardware saw goes into the virtual DR6
    // (get_debugreg(6) in the guest's handler), then the guest gets its #DB.
    ctx.vcpu.pv.dr6 = merge_dr6(ctx.vcpu.pv.dr6, take_hardware_dr6());
    deliver_exception(ctx, vector, false, 0);
    return;
  }
  if (vector < 32) deliver_exception(ctx, vector, vector_has_error_code(vector), f.error_code);
}

// sysretq is cheaper than iretq but only reproduces one state exactly: rip = rcx, rflags =
// r11, the flat 64-bit selectors, and (XSA-7: sysret faults in ring 0 on a non-canonical
// rcx) a canonical rip. Anything else (iret, bounces, exceptions) returns with iretq.
void choose_return_path(CpuInfo& info) {
  TrapFrame& f = info.guest_frame;
  if (info.current == nullptr || f.vector != HV_VECTOR_SYSCALL) return;
  const bool canonical = f.rip < 0x0000800000000000ull || f.rip >= 0xFFFF800000000000ull;
  if (canonical && f.rcx == f.rip && f.r11 == f.rflags && f.cs == HV_SEL_RING3_CS64 &&
      f.ss == HV_SEL_RING3_DS32)
    f.vector = HV_VECTOR_SYSRET;
}

// Xen 4.17's do_debug in hypervisor context: a guest's data breakpoint hit by our own access
// to its memory (copy to/from guest, a bounce frame). Data breakpoints are traps, so that
// access has completed and simply goes on; as in Xen 4.17 the hit is logged and dropped (not
// reported to the guest). An instruction breakpoint cannot match hypervisor code (set_debugreg
// refuses hypervisor addresses); should one fire, breakpoints are switched off rather than
// faulting forever. TF never legitimately reaches hypervisor code, so it is cleared.
void note_hypervisor_debug(TrapFrame& f) {
  const std::uint64_t dr6 = take_hardware_dr6();
  if ((f.rflags & kRflagsTf) != 0) {
    HV_WARN(cpu, "single-step trap in hypervisor context at rip %#lx: TF cleared", f.rip);
    f.rflags &= ~kRflagsTf;
  }
  const std::uint64_t dr7 = read_dr7();
  for (unsigned bp = 0; bp < 4; ++bp) {
    const bool hit = ((dr6 >> bp) & 1) != 0 && ((dr7 >> (bp * 2)) & 3) != 0;
    if (hit && ((dr7 >> (16 + bp * 4)) & 3) == 0) {  // R/W 00: instruction execution
      HV_ERROR(cpu, "instruction breakpoint %u hit in hypervisor context: DR7 cleared", bp);
      write_dr7(0);
      break;
    }
  }
  HV_WARN(cpu, "#DB in hypervisor context at rip %#lx, dr6 %#lx", f.rip, dr6);
}

void handle_guest_entry(TrapFrame& f) {
  CpuInfo* info = get_cpu_info();
  Vcpu* vcpu = info->current;
  if (vcpu == nullptr || &f != &info->guest_frame)
    HV_PANIC("guest entry (vector %#lx) without a current vCPU frame", f.vector);
  CurrentGuestMemory memory;
  PvCpuPlatform cpu;
  EventChannelOps events{state().domains};
  HypercallContext ctx{*vcpu, memory, state().info, f, cpu, state().mm};
  ctx.events = &events;
  {
    // The trap or hypercall runs under its domain's lock (spinlock.hpp's level 1), released
    // before any scheduling decision: the vCPU may not come back to this CPU.
    LockGuard domain_guard(vcpu->domain().lock);
    handle_from_guest(ctx);
    if (vcpu->mm.reload_cr3) {  // an MMU operation replaced the current root
      vcpu->mm.reload_cr3 = false;
      load_guest_root(*vcpu);
    }
    if (vcpu->mm.ldt_dirty) {  // SET_LDT, a new root, or a write to one of its descriptors
      vcpu->mm.ldt_dirty = false;
      LockGuard memory_guard(state().mm->lock());
      state().mm->load_ldt_frames(MmCaller{vcpu->domain().memory, vcpu->mm});
      load_guest_ldt(*vcpu);
    }
  }
  reschedule_if_needed();  // returns only if this vCPU goes on running
  resume_pv_cpu(*vcpu);  // before any event upcall, as Xen's test_all_events
  deliver_events_on_resume(*vcpu);
  choose_return_path(*info);
}

}  // namespace

void deliver_events_on_resume(Vcpu& vcpu) {
  CurrentGuestMemory memory;
  PvCpuPlatform cpu;
  HypercallContext ctx{vcpu, memory, state().info, get_cpu_info()->guest_frame, cpu, state().mm};
  deliver_pending_event(ctx);
  if (!vcpu.runnable()) reschedule_if_needed();  // the bounce crashed the domain
}
void resume_pv_cpu(Vcpu& vcpu) {
  CurrentGuestMemory memory;
  PvCpuPlatform cpu;
  HypercallContext ctx{vcpu, memory, state().info, get_cpu_info()->guest_frame, cpu, state().mm};
  if (vcpu.pv.dr_dirty) {
    vcpu.pv.dr_dirty = false;
    load_debug_registers(vcpu.pv);
  }
  deliver_pending_nmi(ctx);
  if (!vcpu.runnable()) reschedule_if_needed();  // the bounce crashed the domain
}

}  // namespace hv::x86

// entry.S: the iretq back to a guest faulted (a bad selector from the guest's iret frame).
// The frame is the vCPU's own; crash its domain and run something else.
extern "C" void hv_bad_guest_frame(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  hv::Vcpu* vcpu = get_cpu_info()->current;
  HV_WARN(guest, "d%u: cannot resume at cs %#lx ss %#lx rip %#lx: crashing domain",
          vcpu ? vcpu->domain().id() : 0xFFFF, f->cs, f->ss, f->rip);
  if (vcpu != nullptr) vcpu->domain().shutdown(pv::SHUTDOWN_crash);
  reschedule_if_needed();  // (never returns: the vCPU can no longer run)
}

extern "C" void hv_exception(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  // NMI, #DF and #MC run on IST stacks, where get_cpu_info() does not apply.
  if (f->vector == 2) {
    HV_WARN(cpu, "NMI at rip %#lx ignored", f->rip);
    return;
  }
  if (((f->cs & 3) == 3 || f->vector == HV_VECTOR_SYSCALL) && f->vector != 8 && f->vector != 18) {
    handle_guest_entry(*f);  // (may enter another vCPU instead of returning)
    return;
  }
  if (f->vector == 1) {  // before the fixups: the access that hit a breakpoint did not fault
    note_hypervisor_debug(*f);
    return;
  }
  if (std::uint64_t fixup = find_fixup(f->rip)) {
    f->rip = fixup;  // a guest-memory access faulted: the accessor reports -EFAULT
    return;
  }
  static const char* const kNames[32] = {
      "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound",
      "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
      "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
      "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
      "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22",
      "reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV injection",
      "#VC VMM communication", "#SX security", "reserved 31"};
  const char* name = f->vector < 32 ? kNames[f->vector] : "interrupt";
  HV_PANIC("unexpected exception %lu (%s) err=%#lx rip=%#lx cs=%#lx rflags=%#lx rsp=%#lx cr2=%#lx "
           "rax=%#lx rbx=%#lx rcx=%#lx rdx=%#lx rsi=%#lx rdi=%#lx rbp=%#lx",
           f->vector, name, f->error_code, f->rip, f->cs, f->rflags, f->rsp, read_cr2(), f->rax,
           f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp);
}
