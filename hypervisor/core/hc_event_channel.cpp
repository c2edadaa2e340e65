// hc_event_channel: event_channel_op (hypercall 32) and the pre-3.0.2 event_channel_op_compat
// (16), as Xen 4.17's do_event_channel_op: copy the whole argument in (-EFAULT), act, and copy
// the result back only on success. Nothing is trusted from the guest copy beyond its bytes.
#include <pv/errno.hpp>

#include "event_channel.hpp"
#include "hypercall.hpp"

namespace hv {
namespace {

// The sub-ops whose argument returns a result: copy in, run, copy back on success (Xen: a
// failing copy-back is -EFAULT with the port left bound, "cleaning up would be a mess").
template <typename Arg, typename Op>
long in_out(HypercallContext& ctx, std::uint64_t guest_arg, Op op) {
  Arg arg{};
  if (!ctx.memory.read(guest_arg, arg).ok()) return -pv::XEN_EFAULT;
  const long rc = op(arg);
  if (rc == 0 && !ctx.memory.write(guest_arg, arg).ok()) return -pv::XEN_EFAULT;
  return rc;
}

template <typename Arg, typename Op>
long in_only(HypercallContext& ctx, std::uint64_t guest_arg, Op op) {
  Arg arg{};
  if (!ctx.memory.read(guest_arg, arg).ok()) return -pv::XEN_EFAULT;
  return op(arg);
}

long event_channel_op(HypercallContext& ctx, std::uint64_t cmd, std::uint64_t guest_arg) {
  EventChannelOps& ops = *ctx.events;
  Vcpu& v = ctx.vcpu;
  Domain& d = v.domain();
  switch (cmd) {
    case pv::EVTCHNOP_alloc_unbound:
      return in_out<pv::evtchn_alloc_unbound>(ctx, guest_arg, [&](auto& a) { return ops.alloc_unbound(v, a); });
    case pv::EVTCHNOP_bind_interdomain:
      return in_out<pv::evtchn_bind_interdomain>(ctx, guest_arg, [&](auto& a) { return ops.bind_interdomain(v, a); });
    case pv::EVTCHNOP_bind_virq:
      return in_out<pv::evtchn_bind_virq>(ctx, guest_arg, [&](auto& a) { return ops.bind_virq(v, a); });
    case pv::EVTCHNOP_bind_ipi:
      return in_out<pv::evtchn_bind_ipi>(ctx, guest_arg, [&](auto& a) { return ops.bind_ipi(v, a); });
    case pv::EVTCHNOP_bind_pirq:
      return in_out<pv::evtchn_bind_pirq>(ctx, guest_arg, [&](auto& a) { return ops.bind_pirq(v, a); });
    case pv::EVTCHNOP_status:
      return in_out<pv::evtchn_status>(ctx, guest_arg, [&](auto& a) { return ops.status(v, a); });
    case pv::EVTCHNOP_close:
      return in_only<pv::evtchn_close>(ctx, guest_arg, [&](auto& a) { return ops.close(d, a.port); });
    case pv::EVTCHNOP_send:
      return in_only<pv::evtchn_send>(ctx, guest_arg, [&](auto& a) { return ops.send(d, a.port); });
    case pv::EVTCHNOP_bind_vcpu:
      return in_only<pv::evtchn_bind_vcpu>(ctx, guest_arg, [&](auto& a) { return ops.bind_vcpu(d, a.port, a.vcpu); });
    case pv::EVTCHNOP_unmask:
      return in_only<pv::evtchn_unmask>(ctx, guest_arg, [&](auto& a) { return ops.unmask(d, a.port); });
    case pv::EVTCHNOP_reset:
      return in_only<pv::evtchn_reset>(ctx, guest_arg, [&](auto& a) { return ops.reset(v, a.dom); });
    // The FIFO ABI is not offered: its sub-ops fail as on a Xen built without it, after the
    // argument copy Xen makes first. Linux then stays with the 2-level ABI.
    case pv::EVTCHNOP_init_control:
      return in_only<pv::evtchn_init_control>(ctx, guest_arg, [](auto&) { return long{-pv::XEN_ENOSYS}; });
    case pv::EVTCHNOP_expand_array:
      return in_only<pv::evtchn_expand_array>(ctx, guest_arg, [](auto&) { return long{-pv::XEN_ENOSYS}; });
    case pv::EVTCHNOP_set_priority:
      return in_only<pv::evtchn_set_priority>(ctx, guest_arg, [&](auto& a) {
        // Xen: an invalid port is -EINVAL before the 2-level ABI's missing set_priority.
        return d.events->valid(a.port) ? long{-pv::XEN_ENOSYS} : long{-pv::XEN_EINVAL};
      });
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace

long do_event_channel_op(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.events == nullptr || ctx.vcpu.domain().events == nullptr) return -pv::XEN_ENOSYS;
  return event_channel_op(ctx, static_cast<std::uint32_t>(args.a1), args.a2);
}

// struct evtchn_op { uint32_t cmd; union { ... } u; }: every member of u is 4-byte aligned,
// so the sub-op's argument starts 4 bytes in; the whole 28-byte struct is copied first, as
// Xen does, and only the sub-ops of the old interface are accepted.
long do_event_channel_op_compat(HypercallContext& ctx, const HypercallArgs& args) {
  constexpr std::size_t kEvtchnOpSize = 4 + sizeof(pv::evtchn_status);
  std::uint8_t whole[kEvtchnOpSize];
  if (!ctx.memory.copy_from_guest(whole, args.a1, sizeof whole).ok()) return -pv::XEN_EFAULT;
  std::uint32_t cmd = 0;
  for (unsigned i = 0; i < 4; ++i) cmd |= std::uint32_t{whole[i]} << (8 * i);
  if (cmd > pv::EVTCHNOP_unmask) return -pv::XEN_ENOSYS;
  if (ctx.events == nullptr || ctx.vcpu.domain().events == nullptr) return -pv::XEN_ENOSYS;
  return event_channel_op(ctx, cmd, args.a1 + 4);
}

}  // namespace hv
