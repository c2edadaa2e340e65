// hc_sched: sched_op (hypercall 29): yield and shutdown. Yield asks the arch scheduler to
// run the next runnable vCPU (round robin over every domain) on the way out; shutdown ends
// the domain, whose vCPUs are never run again. Block and poll come with event channels.
#include <pv/errno.hpp>
#include <pv/sched.hpp>

#include "hypercall.hpp"
#include "log.hpp"

namespace hv {

long do_sched_op(HypercallContext& ctx, const HypercallArgs& args) {
  Domain& d = ctx.vcpu.domain();
  switch (args.a1) {
    case pv::SCHEDOP_yield:
      ctx.vcpu.yield_requested = true;
      return 0;
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
