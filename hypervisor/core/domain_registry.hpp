// DomainRegistry: every live domain, by id. Fixed capacity, no allocation; the objects are
// owned by whoever created them (the boot code, later domctl).
#pragma once
#include <cstddef>

#include "domain.hpp"

namespace hv {

class DomainRegistry {
 public:
  static constexpr std::size_t kMaxDomains = 64;

  [[nodiscard]] bool add(Domain& domain);  // false when full or the id is taken
  void remove(Domain& domain);
  Domain* find(pv::domid_t id) const;
  std::size_t size() const { return count_; }
  Domain* at(std::size_t i) const { return i < count_ ? domains_[i] : nullptr; }

  // The next runnable vCPU after `after` in round-robin order (domains in registration
  // order, vCPUs by id), possibly `after` itself; nullptr when nothing can run.
  Vcpu* next_runnable(const Vcpu* after) const;

  // When every domain has stopped, whether the run failed: some domain (dom0 included) shut
  // down as crashed or by its watchdog. Any other reason of dom0 (poweroff, reboot, ...) is a
  // success. Test runs turn this into QEMU's exit status.
  bool run_failed() const;

 private:
  Domain* domains_[kMaxDomains] = {};
  std::size_t count_ = 0;
};

}  // namespace hv
