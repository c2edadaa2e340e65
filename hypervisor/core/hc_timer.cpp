// hc_timer: set_timer_op (hypercall 15) and the VCPUOP timer sub-ops (Xen 4.17's
// do_set_timer_op and common_vcpu_op). Expired timers raise VIRQ_TIMER for their vCPU through
// the event-channel code, which wakes the vCPU if it is blocked; nothing happens when the
// guest has not bound VIRQ_TIMER. The handlers run on the calling vCPU's CPU holding its
// domain lock only (core/timer takes the timer locks itself and sends with none held).
#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/vcpu.hpp>

#include "event_channel.hpp"
#include "hypercall.hpp"
#include "timer.hpp"

namespace hv {

void send_timer_event(Vcpu& v, void* events) {
  if (events != nullptr) static_cast<EventChannelOps*>(events)->send_vcpu_virq(v, pv::VIRQ_TIMER);
}

long do_set_timer_op(HypercallContext& ctx, const HypercallArgs& args) {
  return timer_set_timer_op(ctx.vcpu, static_cast<std::int64_t>(args.a1), ctx.cpu.system_time_ns());
}

long vcpu_timer_op(HypercallContext& ctx, unsigned cmd, Vcpu& v, std::uint64_t arg) {
  switch (cmd) {
    case pv::VCPUOP_set_periodic_timer: {
      pv::vcpu_set_periodic_timer set{};
      if (!ctx.memory.read(arg, set).ok()) return -pv::XEN_EFAULT;
      return timer_set_periodic(v, set.period_ns, ctx.cpu.system_time_ns(), send_timer_event, ctx.events);
    }
    case pv::VCPUOP_stop_periodic_timer:
      timer_stop_periodic(v);
      return 0;
    case pv::VCPUOP_set_singleshot_timer: {
      if (&v != &ctx.vcpu) return -pv::XEN_EINVAL;  // checked before the copy, as Xen
      pv::vcpu_set_singleshot_timer set{};
      if (!ctx.memory.read(arg, set).ok()) return -pv::XEN_EFAULT;
      // Xen 4.17 ignores set.flags (VCPU_SSHOTTMR_future is no longer honoured).
      return timer_set_singleshot(v, set.timeout_abs_ns, ctx.cpu.system_time_ns(), send_timer_event, ctx.events);
    }
    case pv::VCPUOP_stop_singleshot_timer:
      if (&v != &ctx.vcpu) return -pv::XEN_EINVAL;
      timer_stop_singleshot(v);
      return 0;
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
