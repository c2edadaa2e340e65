// domain_registry: lookup and round-robin over the live domains' vCPUs.
#include "domain_registry.hpp"

#include <pv/sched.hpp>

namespace hv {

bool DomainRegistry::add(Domain& domain) {
  if (count_ == kMaxDomains || find(domain.id()) != nullptr) return false;
  domains_[count_++] = &domain;
  return true;
}

void DomainRegistry::remove(Domain& domain) {
  for (std::size_t i = 0; i < count_; ++i) {
    if (domains_[i] != &domain) continue;
    for (std::size_t j = i; j + 1 < count_; ++j) domains_[j] = domains_[j + 1];
    --count_;
    return;
  }
}

Domain* DomainRegistry::find(pv::domid_t id) const {
  for (std::size_t i = 0; i < count_; ++i)
    if (domains_[i]->id() == id) return domains_[i];
  return nullptr;
}

Vcpu* DomainRegistry::next_runnable(const Vcpu* after) const {
  // Flatten (domain index, vcpu id) into one sequence and scan it once, starting after `after`.
  std::size_t total = 0, start = 0;
  for (std::size_t d = 0; d < count_; ++d) {
    for (unsigned v = 0; v < domains_[d]->vcpu_count(); ++v, ++total)
      if (domains_[d]->vcpu(v) == after) start = total + 1;
  }
  for (std::size_t step = 0; step < total; ++step) {
    std::size_t want = (start + step) % total, index = 0;
    for (std::size_t d = 0; d < count_; ++d) {
      unsigned n = domains_[d]->vcpu_count();
      if (want < index + n) {
        Vcpu* v = domains_[d]->vcpu(static_cast<unsigned>(want - index));
        if (v->runnable()) return v;
        break;
      }
      index += n;
    }
  }
  return nullptr;
}

bool DomainRegistry::run_failed() const {
  for (std::size_t i = 0; i < count_; ++i) {
    const std::uint32_t reason = domains_[i]->shutdown_reason();
    if (domains_[i]->is_shut_down() && (reason == pv::SHUTDOWN_crash || reason == pv::SHUTDOWN_watchdog))
      return true;
  }
  return false;
}

}  // namespace hv
