// vcpu_kick: see vcpu_kick.hpp.
#include "vcpu_kick.hpp"

#include "domain.hpp"
#include "event_channel.hpp"

namespace hv {
namespace {

const VcpuNotifier* installed = nullptr;

void notify_woken(Vcpu& v) {
  if (installed != nullptr && installed->woken != nullptr) installed->woken(v);
}

}  // namespace

void set_vcpu_notifier(const VcpuNotifier* notifier) { installed = notifier; }

// Xen's vcpu_unblock. Only the waker whose compare-exchange moved the vCPU out of blocked
// notifies the scheduler, so concurrent wakers (a send from another domain, the timer, an
// NMI) queue it once. A poll ends with the block; if the vCPU already ran again and went
// back to polling, taking its new poll bit away would leave it asleep without one, so
// whoever ends a poll also wakes (Xen re-clears _VPF_blocked for the same reason).
void unblock_vcpu(Vcpu& v) {
  if (!v.wake_from_blocked()) return;
  if (EventChannels* ec = v.domain().events; ec != nullptr && ec->stop_polling(v.id())) (void)v.wake_from_blocked();
  notify_woken(v);
}

// offline -> runnable under the domain lock (VCPUOP_up), but a compare-exchange all the
// same: state is atomic because wakers on other CPUs change blocked -> runnable.
void bring_vcpu_up(Vcpu& v) {
  VcpuState offline = VcpuState::offline;
  if (!v.state.compare_exchange_strong(offline, VcpuState::runnable)) return;
  notify_woken(v);
}

void kick_vcpu(Vcpu& v) {
  unblock_vcpu(v);
  if (installed != nullptr && installed->kicked != nullptr) installed->kicked(v);
}

}  // namespace hv
