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

void unblock_vcpu(Vcpu& v) {
  if (v.state != VcpuState::blocked) return;
  v.state = VcpuState::runnable;
  if (EventChannels* ec = v.domain().events) {  // a poll ends with the block (Xen's do_poll)
    ec->poll_mask &= ~(1u << v.id());
    ec->poll_port[v.id()] = 0;
  }
  notify_woken(v);
}

void bring_vcpu_up(Vcpu& v) {
  if (v.state != VcpuState::offline) return;
  v.state = VcpuState::runnable;
  notify_woken(v);
}

void kick_vcpu(Vcpu& v) {
  unblock_vcpu(v);
  if (installed != nullptr && installed->kicked != nullptr) installed->kicked(v);
}

}  // namespace hv
