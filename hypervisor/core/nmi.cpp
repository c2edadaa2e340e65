// nmi: VCPUOP_send_nmi delivery as Xen 4.17's process_nmi (x86_64/entry.S),
// set_guest_nmi_trapbounce (pv/traps.c) and async_exception_cleanup (pv/iret.c).
#include "nmi.hpp"

#include "vcpu_kick.hpp"
#include "log.hpp"
#include "pv_cpu.hpp"

namespace hv {

void raise_nmi(Vcpu& target) {
  if (target.nmi_pending.exchange(true)) return;  // Xen: test_and_set_bool, kick only on the first
  kick_vcpu(target);  // Xen's vcpu_kick: a blocked or polling target wakes up, a running one looks
}

bool deliver_pending_nmi(HypercallContext& ctx) {
  Vcpu& v = ctx.vcpu;
  if (!v.nmi_pending.load() || (v.async_exception_mask & kAsyncTrapNmi) != 0) return false;
  v.nmi_pending.store(false);
  const GuestEntry& entry = v.pv.traps[2];
  if (entry.address == 0) {
    // Xen's pv_inject_event on a null trap bounce: logged, and the NMI is gone.
    HV_WARN(guest, "d%uv%u: unhandled NMI (no callback registered)", v.domain().id(), v.id());
    return false;
  }
  const std::uint8_t old_mask = v.async_exception_mask;
  if (!create_bounce_frame(ctx, Bounce{entry.address, entry.mask_events, false, 0})) return false;
  v.nmi_old_mask = old_mask;
  v.async_exception_mask = old_mask | kAsyncTrapNmi;
  return true;
}

void nmi_iret_cleanup(Vcpu& vcpu) {
  // Only the NMI is an async exception here, so the mask has at most that one bit.
  if (vcpu.async_exception_mask == 0) return;
  vcpu.async_exception_mask = vcpu.nmi_old_mask;
}

}  // namespace hv
