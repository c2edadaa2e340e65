// hc_sched: sched_op (hypercall 29): yield, block, poll and shutdown. Yield asks the arch
// scheduler to run the next runnable vCPU (round robin over every domain) on the way out;
// block and poll leave the vCPU blocked until an event wakes it (core/event_channel), or a
// poll's timeout (core/timer); shutdown ends the domain, whose vCPUs are never run again.
#include <pv/errno.hpp>
#include <pv/sched.hpp>

#include "event_channel.hpp"
#include "hypercall.hpp"
#include "log.hpp"
#include "timer.hpp"

namespace hv {
namespace {

// Xen's do_poll: at most 128 ports, the whole list must be guest-accessible (-EFAULT), and a
// vCPU with nothing pending blocks until an event for it or one of the ports arrives, or
// until `timeout` (absolute system time; 0 = none) passes. An upcall already deliverable
// returns 0 before the ports are read, as in Xen. Either way the call returns 0: the guest
// re-checks its ports.
long sched_poll(HypercallContext& ctx, std::uint64_t guest_arg) {
  pv::sched_poll arg{};
  if (!ctx.memory.read(guest_arg, arg).ok()) return -pv::XEN_EFAULT;
  if (arg.nr_ports > EventChannels::kPollPortsMax) return -pv::XEN_EINVAL;
  if (!guest_range_ok(arg.ports.p, std::size_t{arg.nr_ports} * sizeof(std::uint32_t))) return -pv::XEN_EFAULT;
  EventChannels* ec = ctx.vcpu.domain().events;
  if (ctx.events == nullptr || ec == nullptr) return -pv::XEN_ENOSYS;
  if (events_need_delivery(ctx.vcpu)) return 0;
  std::uint32_t ports[EventChannels::kPollPortsMax];
  if (arg.nr_ports != 0 && !ctx.memory.copy_from_guest(ports, arg.ports.p, arg.nr_ports * sizeof ports[0]).ok())
    return -pv::XEN_EFAULT;
  const long rc = ctx.events->poll(ctx.vcpu, ports, arg.nr_ports);
  // Else it returned at once, or a sender already ended the poll (then a stale timer would
  // only be a spurious wake-up: poll_timer_fn acts on a vCPU still polling).
  const bool polling = (ec->poll_mask.load() & (1u << ctx.vcpu.id())) != 0;
  if (rc == 0 && polling && arg.timeout != 0) timer_set_poll(ctx.vcpu, arg.timeout, ctx.cpu.system_time_ns());
  return rc;
}

}  // namespace

long do_sched_op(HypercallContext& ctx, const HypercallArgs& args) {
  Domain& d = ctx.vcpu.domain();
  switch (args.a1) {
    case pv::SCHEDOP_yield:
      ctx.vcpu.yield_requested = true;
      return 0;
    case pv::SCHEDOP_block:
      if (ctx.events == nullptr || d.events == nullptr) return -pv::XEN_ENOSYS;
      ctx.events->block(ctx.vcpu);
      return 0;
    case pv::SCHEDOP_poll:
      return sched_poll(ctx, args.a2);
    case pv::SCHEDOP_shutdown:
    case pv::SCHEDOP_shutdown_code: {
      pv::sched_shutdown arg{};
      if (!ctx.memory.read(args.a2, arg).ok()) return -pv::XEN_EFAULT;
      // Xen takes any reason, truncated to 8 bits; shutdown_code only records it.
      std::uint32_t reason = arg.reason & 0xFF;
      if (args.a1 == pv::SCHEDOP_shutdown_code) return 0;
      HV_INFO(sched, "d%u: shutdown, reason %u", d.id(), reason);
      d.shutdown(reason);
      return 0;
    }
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
