// pv_cpu: bounce frames, following Xen 4.17's create_bounce_frame (x86_64/entry.S) exactly:
// the frame layout, the saved upcall mask in CS bits 32-39, IF derived from that mask, the
// stack checks, and the flags cleared on entry.
#include "pv_cpu.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>

#include "event_channel.hpp"
#include "log.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kVectorPageFault = 14, kVectorInvalidOpcode = 6;
constexpr std::uint64_t kPfUserBit = 1u << 2;
constexpr std::uint64_t RFLAGS_TF = 1u << 8;

void crash(Vcpu& vcpu, const char* why, std::uint64_t detail) {
  HV_WARN(guest, "d%uv%u: %s (%#lx): crashing domain", vcpu.domain().id(), vcpu.id(), why, detail);
  vcpu.domain().shutdown(pv::SHUTDOWN_crash);
}

// Xen's check: the frame must lie wholly below the hypervisor range or above it (+64 bytes).
bool stack_ok(std::uint64_t sp) {
  return sp <= pv::HYPERVISOR_VIRT_START || sp >= pv::HYPERVISOR_VIRT_END + 64;
}

}  // namespace

bool create_bounce_frame(HypercallContext& ctx, const Bounce& bounce) {
  Vcpu& vcpu = ctx.vcpu;
  GuestRegisters& r = ctx.regs;
  pv::vcpu_info* info = vcpu.info();
  if (bounce.handler == 0 || info == nullptr) {
    crash(vcpu, "no handler to bounce to", r.vector);
    return false;
  }
  std::uint64_t sp;
  if (!vcpu.mm.kernel_mode) {
    ctx.cpu.toggle_guest_mode(vcpu);  // kernel page tables and GS: the frame goes on its stack
    sp = vcpu.pv.kernel_sp;
  } else {
    sp = r.rsp;
    r.cs &= ~std::uint64_t{3};  // tells the guest "interrupted in kernel mode"
  }
  sp &= ~std::uint64_t{15};
  if (!stack_ok(sp)) {
    crash(vcpu, "bounce stack in the hypervisor range", sp);
    return false;
  }

  const std::uint8_t saved_mask = info->evtchn_upcall_mask;
  std::uint64_t rflags = (r.rflags & 0xFFFFFFFFu & ~(RFLAGS_IF | RFLAGS_IOPL)) | (saved_mask ? 0 : RFLAGS_IF);
  std::uint64_t frame[8];
  unsigned n = 0;  // lowest address first
  frame[n++] = r.rcx;
  frame[n++] = r.r11;
  if (bounce.has_error_code) frame[n++] = bounce.error_code & 0xFFFFFFFFu;
  frame[n++] = r.rip;
  frame[n++] = (std::uint64_t{saved_mask} << 32) | (r.cs & 0xFFFF);
  frame[n++] = rflags;
  frame[n++] = r.rsp;
  frame[n++] = r.ss;
  const std::uint64_t base = sp - n * 8;
  if (!ctx.memory.copy_to_guest(base, frame, n * 8).ok()) {
    crash(vcpu, "fault writing a bounce frame to the guest stack", base);
    return false;
  }
  if (bounce.mask_events) info->evtchn_upcall_mask = 1;

  r.rflags &= ~(RFLAGS_AC | RFLAGS_VM | RFLAGS_RF | RFLAGS_NT | RFLAGS_TF);
  r.ss = pv::FLAT_KERNEL_SS;
  r.rsp = base;
  r.cs = pv::FLAT_KERNEL_CS;
  r.rip = bounce.handler;
  return true;
}

bool deliver_exception(HypercallContext& ctx, unsigned vector, bool has_error_code,
                       std::uint64_t error_code, std::uint64_t cr2) {
  Vcpu& vcpu = ctx.vcpu;
  const GuestEntry& entry = vcpu.pv.traps[vector & 0xFF];
  if (entry.address == 0) {
    HV_WARN(guest, "d%uv%u: unhandled exception vector %u at rip %#lx", vcpu.domain().id(),
            vcpu.id(), vector, ctx.regs.rip);
    crash(vcpu, "no trap-table entry", vector);
    return false;
  }
  if (vector == kVectorPageFault) {
    if (pv::vcpu_info* info = vcpu.info()) info->arch.cr2 = cr2;
    // The guest always runs at CPL 3, so hardware always reports a user access.
    error_code = vcpu.mm.kernel_mode ? (error_code & ~kPfUserBit) : (error_code | kPfUserBit);
  }
  return create_bounce_frame(ctx, Bounce{entry.address, entry.mask_events, has_error_code, error_code});
}

bool deliver_pending_event(HypercallContext& ctx) {
  if (!events_need_delivery(ctx.vcpu)) return false;
  return create_bounce_frame(ctx, Bounce{ctx.vcpu.pv.event_callback.address, true, false, 0});
}

bool deliver_user_syscall(HypercallContext& ctx) {
  Vcpu& vcpu = ctx.vcpu;
  const bool compat = (ctx.regs.cs & 0xFFFF) == pv::FLAT_USER_CS32;
  const GuestEntry& cb = compat ? vcpu.pv.syscall32_callback : vcpu.pv.syscall_callback;
  if (cb.address == 0) {
    ctx.regs.rip -= 2;  // report #UD at the syscall instruction itself
    return deliver_exception(ctx, kVectorInvalidOpcode, false, 0);
  }
  ctx.regs.rflags &= ~(std::uint64_t{1} << 10);  // DF
  return create_bounce_frame(ctx, Bounce{cb.address, cb.mask_events, false, 0});
}

bool soft_interrupt_permitted(const Vcpu& vcpu, unsigned vector) {
  const GuestEntry& e = vcpu.pv.traps[vector & 0xFF];
  return vcpu.mm.kernel_mode ? e.dpl >= 1 : e.dpl == 3;
}

}  // namespace hv
