// hc_pv_cpu: the hypercalls that shape a PV vCPU: set_trap_table, stack_switch,
// set_callbacks / callback_op, iret, set_segment_base and fpu_taskswitch. Semantics follow
// Xen 4.17 (pv/callback.c, pv/iret.c, x86_64/mm.c, pv/misc-hypercalls.c).
#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>

#include "hypercall.hpp"
#include "log.hpp"
#include "nmi.hpp"
#include "pv_cpu.hpp"

namespace hv {
namespace {

constexpr unsigned kTrapTableMax = 256;  // one call installs at most a whole virtual IDT

GuestEntry* callback_slot(PvCpuState& pv, std::uint16_t type) {
  switch (type) {
    case pv::CALLBACKTYPE_event: return &pv.event_callback;
    case pv::CALLBACKTYPE_failsafe: return &pv.failsafe_callback;
    case pv::CALLBACKTYPE_syscall: return &pv.syscall_callback;
    case pv::CALLBACKTYPE_syscall32: return &pv.syscall32_callback;
    case pv::CALLBACKTYPE_sysenter: return &pv.sysenter_callback;
    case pv::CALLBACKTYPE_nmi: return &pv.traps[2];  // Xen keeps it in the virtual IDT
    default: return nullptr;
  }
}

}  // namespace

long register_callback(PvCpuState& pv, const pv::callback_register& reg) {
  if (!is_canonical(reg.address)) return -pv::XEN_EINVAL;
  GuestEntry* slot = callback_slot(pv, reg.type);
  if (slot == nullptr) return -pv::XEN_ENOSYS;
  slot->address = reg.address;
  // The event and NMI callbacks always mask events; the others as the guest asks.
  slot->mask_events = reg.type == pv::CALLBACKTYPE_event || reg.type == pv::CALLBACKTYPE_nmi ||
                      (reg.flags & pv::CALLBACKF_mask_events) != 0;
  slot->dpl = 0;
  return 0;
}

GuestEntry trap_entry(const pv::trap_info& t) {
  return GuestEntry{t.address, pv::TI_GET_IF(t.flags), static_cast<std::uint8_t>(pv::TI_GET_DPL(t.flags))};
}

long do_set_trap_table(HypercallContext& ctx, const HypercallArgs& args) {
  PvCpuState& pv = ctx.vcpu.pv;
  if (args.a1 == 0) {  // a null table clears the whole virtual IDT
    for (GuestEntry& e : pv.traps) e = GuestEntry{};
    return 0;
  }
  for (unsigned i = 0; i < kTrapTableMax; ++i) {
    pv::trap_info t{};
    if (!ctx.memory.read(args.a1 + i * sizeof t, t).ok()) return -pv::XEN_EFAULT;
    if (t.address == 0) return 0;
    if (!is_canonical(t.address)) return -pv::XEN_EINVAL;
    pv.traps[t.vector] = trap_entry(t);
  }
  return 0;  // (Xen would continue in a continuation; no real table is longer than 256)
}

long do_stack_switch(HypercallContext& ctx, const HypercallArgs& args) {
  ctx.vcpu.pv.kernel_ss = fixup_guest_selector(static_cast<std::uint16_t>(args.a1));
  ctx.vcpu.pv.kernel_sp = args.a2;
  return 0;
}

long do_set_callbacks(HypercallContext& ctx, const HypercallArgs& args) {
  pv::callback_register event{pv::CALLBACKTYPE_event, 0, 0, args.a1};
  pv::callback_register failsafe{pv::CALLBACKTYPE_failsafe, 0, 0, args.a2};
  pv::callback_register syscall{pv::CALLBACKTYPE_syscall, 0, 0, args.a3};
  for (const auto& reg : {event, failsafe, syscall})
    if (long rc = register_callback(ctx.vcpu.pv, reg); rc != 0) return rc;
  return 0;
}

long do_callback_op(HypercallContext& ctx, const HypercallArgs& args) {
  switch (args.a1) {
    case pv::CALLBACKOP_register: {
      pv::callback_register reg{};
      if (!ctx.memory.read(args.a2, reg).ok()) return -pv::XEN_EFAULT;
      return register_callback(ctx.vcpu.pv, reg);
    }
    case pv::CALLBACKOP_unregister: {
      pv::callback_unregister reg{};
      if (!ctx.memory.read(args.a2, reg).ok()) return -pv::XEN_EFAULT;
      // As in Xen: only the NMI callback can be unregistered.
      if (reg.type == pv::CALLBACKTYPE_nmi) {
        ctx.vcpu.pv.traps[2] = GuestEntry{};
        return 0;
      }
      return callback_slot(ctx.vcpu.pv, reg.type) != nullptr ? -pv::XEN_EINVAL : -pv::XEN_ENOSYS;
    }
    default:
      return -pv::XEN_ENOSYS;
  }
}

long do_iret(HypercallContext& ctx, const HypercallArgs&) {
  Vcpu& vcpu = ctx.vcpu;
  GuestRegisters& r = ctx.regs;
  pv::iret_context frame{};
  if (!ctx.memory.read(r.rsp, frame).ok()) {
    HV_WARN(guest, "d%uv%u: fault reading the iret context at %#lx: crashing domain", vcpu.domain().id(), vcpu.id(), r.rsp);
    vcpu.domain().shutdown(pv::SHUTDOWN_crash);
    return 0;
  }
  if ((frame.cs & 3) == 3) {  // returning to guest user mode
    if (vcpu.mm.guest_table_user == 0) {
      HV_WARN(guest, "d%uv%u: iret to user mode with no user page tables: crashing domain", vcpu.domain().id(), vcpu.id());
      vcpu.domain().shutdown(pv::SHUTDOWN_crash);
      return 0;
    }
    if (vcpu.mm.kernel_mode) ctx.cpu.toggle_guest_mode(vcpu);
  }
  r.rip = frame.rip;
  r.cs = frame.cs | 3;
  r.rflags = (frame.rflags & ~(RFLAGS_IOPL | RFLAGS_VM)) | RFLAGS_IF;
  r.rsp = frame.rsp;
  r.ss = frame.ss | 3;
  if ((frame.flags & pv::VGCF_in_syscall) == 0) {
    r.r11 = frame.r11;
    r.rcx = frame.rcx;
  }
  if (pv::vcpu_info* info = vcpu.info()) info->evtchn_upcall_mask = (frame.rflags & RFLAGS_IF) ? 0 : 1;
  nmi_iret_cleanup(vcpu);  // an NMI callback returning: a pending NMI may go out now
  return static_cast<long>(frame.rax);  // the dispatcher puts this in %rax
}

long do_set_segment_base(HypercallContext& ctx, const HypercallArgs& args) {
  switch (args.a1) {
    case pv::SEGBASE_FS:
    case pv::SEGBASE_GS_USER:
    case pv::SEGBASE_GS_KERNEL:
      if (!is_canonical(args.a2)) return -pv::XEN_EINVAL;
      ctx.cpu.set_segment_base(ctx.vcpu, static_cast<unsigned>(args.a1), args.a2);
      return 0;
    case pv::SEGBASE_GS_USER_SEL:
      ctx.cpu.set_segment_base(ctx.vcpu, pv::SEGBASE_GS_USER_SEL, args.a2 & 0xFFFF);
      return 0;
    default:
      return -pv::XEN_EINVAL;
  }
}

long do_fpu_taskswitch(HypercallContext& ctx, const HypercallArgs& args) {
  ctx.vcpu.pv.virtual_ts = args.a1 != 0;
  ctx.cpu.set_fpu_trap(ctx.vcpu.pv.virtual_ts);
  return 0;
}

}  // namespace hv
