// domain_registry: round-robin over every domain's vCPUs, skipping shut-down domains.
#include "core/domain_registry.hpp"

#include <gtest/gtest.h>

#include <pv/sched.hpp>

namespace hv {
namespace {

struct Machine {
  Domain d0{0, true}, d1{1, false}, d2{2, false};
  Vcpu v0{d0, 0}, v1{d1, 0}, v2{d2, 0};
  DomainRegistry registry;
  Machine() {
    for (auto [d, v] : {std::pair{&d0, &v0}, std::pair{&d1, &v1}, std::pair{&d2, &v2}}) {
      EXPECT_TRUE(d->add_vcpu(*v));
      v->state = VcpuState::runnable;
      EXPECT_TRUE(registry.add(*d));
    }
  }
};

TEST(DomainRegistry, YieldGoesRoundRobinAcrossDomains) {
  Machine m;
  EXPECT_EQ(m.registry.next_runnable(&m.v0), &m.v1);
  EXPECT_EQ(m.registry.next_runnable(&m.v1), &m.v2);
  EXPECT_EQ(m.registry.next_runnable(&m.v2), &m.v0);
  EXPECT_EQ(m.registry.next_runnable(nullptr), &m.v0);
}

TEST(DomainRegistry, ShutDownDomainsAreNeverPicked) {
  Machine m;
  m.d1.shutdown(pv::SHUTDOWN_poweroff);
  EXPECT_EQ(m.registry.next_runnable(&m.v0), &m.v2);
  m.d2.shutdown(pv::SHUTDOWN_crash);
  EXPECT_EQ(m.registry.next_runnable(&m.v0), &m.v0);  // alone: it goes on running
  m.d0.shutdown(pv::SHUTDOWN_poweroff);
  EXPECT_EQ(m.registry.next_runnable(&m.v0), nullptr);
}

TEST(DomainRegistry, RunFailsWhenAnyDomainCrashed) {
  Machine m;
  m.d0.shutdown(pv::SHUTDOWN_poweroff);
  m.d1.shutdown(pv::SHUTDOWN_reboot);
  m.d2.shutdown(pv::SHUTDOWN_poweroff);
  EXPECT_FALSE(m.registry.run_failed());
  Machine crashed_domu;
  crashed_domu.d0.shutdown(pv::SHUTDOWN_poweroff);
  crashed_domu.d2.shutdown(pv::SHUTDOWN_crash);
  EXPECT_TRUE(crashed_domu.registry.run_failed());
  Machine dom0_watchdog;
  dom0_watchdog.d0.shutdown(pv::SHUTDOWN_watchdog);
  EXPECT_TRUE(dom0_watchdog.registry.run_failed());
}

TEST(DomainRegistry, DuplicateIdRefused) {
  Machine m;
  Domain again{1, false};
  EXPECT_FALSE(m.registry.add(again));
  EXPECT_EQ(m.registry.find(2), &m.d2);
}

}  // namespace
}  // namespace hv
