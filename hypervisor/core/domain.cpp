// domain: domain and vCPU life cycle.
#include "domain.hpp"

#include <pv/shared_info.hpp>

namespace hv {

bool Vcpu::runnable() const {
  return state == VcpuState::runnable && !domain_.is_shut_down();
}

pv::vcpu_info* Vcpu::info() const {
  // Moved by register_vcpu_info under the event lock while other CPUs deliver: one read.
  if (pv::vcpu_info* placed = __atomic_load_n(&placed_info, __ATOMIC_ACQUIRE); placed != nullptr) return placed;
  pv::shared_info* si = domain_.shared_info;
  if (si == nullptr || id_ >= pv::XEN_LEGACY_MAX_VCPUS) return nullptr;
  return &si->vcpu_info[id_];
}

void Domain::shutdown(std::uint32_t reason) {
  std::uint32_t none = kNoReason;
  if (reason == kNoReason || !shutdown_reason_.compare_exchange_strong(none, reason)) return;
  DomainState running = DomainState::running;
  state_.compare_exchange_strong(running, DomainState::shutdown, std::memory_order_release);
}

bool Domain::add_vcpu(Vcpu& vcpu) {
  if (vcpu_count_ == kMaxVcpus || &vcpu.domain() != this || vcpu.id() != vcpu_count_) return false;
  vcpus_[vcpu_count_++] = &vcpu;
  return true;
}

}  // namespace hv
