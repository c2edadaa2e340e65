// hc_misc: vm_assist, multicall and physdev_op set_iopl (Xen 4.17 common/domain.c,
// common/multicall.c, arch/x86/physdev.c).
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/multicall.hpp>
#include <pv/physdev.hpp>

#include "hypercall.hpp"
#include "mm_ops.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kMaxMulticalls = 1u << 16;  // bound the work of one hypercall

}  // namespace

long do_vm_assist(HypercallContext& ctx, const HypercallArgs& args) {
  return MmOps::vm_assist(ctx.vcpu.domain().memory, static_cast<unsigned>(args.a1),
                          static_cast<unsigned>(args.a2))
      .code();
}

long do_multicall(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.in_multicall) return -pv::XEN_EINVAL;  // Xen refuses reentry
  const std::uint64_t list = args.a1, count = args.a2 & 0xFFFFFFFFu;
  if (count > kMaxMulticalls) return -pv::XEN_EINVAL;
  ctx.in_multicall = true;
  long rc = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = list + i * sizeof(pv::multicall_entry);
    pv::multicall_entry call{};
    if (!ctx.memory.read(at, call).ok()) { rc = -pv::XEN_EFAULT; break; }
    HypercallArgs sub{call.args[0], call.args[1], call.args[2], call.args[3], call.args[4]};
    call.result = static_cast<std::uint64_t>(dispatch_hypercall(ctx, call.op, sub));
    const std::uint64_t result_at = at + offsetof(pv::multicall_entry, result);
    if (!ctx.memory.write(result_at, call.result).ok()) { rc = -pv::XEN_EFAULT; break; }
    // iret leaves the multicall (Xen's mc_exit); so does a call that ended the domain.
    if (call.op == pv::hypercall::iret) { rc = static_cast<long>(call.result); break; }
    if (ctx.vcpu.domain().is_shut_down()) break;
  }
  ctx.in_multicall = false;
  return rc;
}

long do_physdev_op(HypercallContext& ctx, const HypercallArgs& args) {
  switch (args.a1) {
    case pv::PHYSDEVOP_set_iopl: {
      pv::physdev_set_iopl op{};
      if (!ctx.memory.read(args.a2, op).ok()) return -pv::XEN_EFAULT;
      if (op.iopl > 3) return -pv::XEN_EINVAL;
      ctx.vcpu.pv.iopl = static_cast<std::uint8_t>(op.iopl);
      return 0;
    }
    default:
      return -pv::XEN_ENOSYS;  // interrupts and devices come with dom0 device support
  }
}

}  // namespace hv
