// scheduler_share_test: long simulations of CPU-bound vCPUs under the credit scheduler:
// weights give proportional shares, a cap bounds a domain and leaves the pCPU idle, idle pCPUs
// steal work, and hard affinity is never crossed.
#include <gtest/gtest.h>

#include "sched_sim.hpp"

namespace hv::sim {
namespace {

constexpr std::uint64_t kRun = 5 * kSec;

// Asserts a / b within +-10% of `want`.
void expect_ratio(std::uint64_t a, std::uint64_t b, double want) {
  ASSERT_GT(b, 0u);
  const double ratio = static_cast<double>(a) / static_cast<double>(b);
  EXPECT_GE(ratio, want * 0.9) << a << " / " << b;
  EXPECT_LE(ratio, want * 1.1) << a << " / " << b;
}

// A light (weight 256) and a heavy (512) domain of `nvcpus` CPU-bound vCPUs each, queued on
// the given pCPUs, run for kRun: the heavy one gets twice the pCPU time.
std::unique_ptr<Machine> one_to_two(unsigned ncpus, unsigned nvcpus, unsigned light_cpu, unsigned heavy_cpu,
                                    std::uint64_t tick_ns = 0) {
  auto m = std::make_unique<Machine>(ncpus);
  m->tick_ns = tick_ns;
  Domain& light = m->add_domain(256, nvcpus, light_cpu);
  Domain& heavy = m->add_domain(512, nvcpus, heavy_cpu);
  m->run_until(kRun);
  expect_ratio(m->domain_ns(heavy), m->domain_ns(light), 2.0);
  return m;
}

TEST(SchedulerShare, WeightsOneToTwoOnOnePcpu) {
  auto m = one_to_two(1, 1, 0, 0);
  EXPECT_EQ(m->cpus[0].idle_ns, 0u);
}

TEST(SchedulerShare, WeightsOneToTwoOnTwoPcpusWithTwoVcpusEach) {
  auto m = one_to_two(2, 2, 0, 1);
  // Within a domain its vCPUs share alike (domains 1 and 2 own vcpus[0..1] and [2..3]).
  for (unsigned i = 0; i < 4; i += 2)
    expect_ratio(m->ran_ns[m->vcpus[i].get()], m->ran_ns[m->vcpus[i + 1].get()], 1.0);
  EXPECT_LT(m->cpus[0].idle_ns + m->cpus[1].idle_ns, kRun / 100);
}

TEST(SchedulerShare, WeightsHoldWhenAllStartOnOnePcpu) { one_to_two(2, 2, 0, 0); }

// A caller that reschedules at every timer tick (here 7 ms, out of step with the 30 ms
// period) changes nothing: a vCPU keeps its slice unless someone outranks it.
TEST(SchedulerShare, WeightsHoldWhenCalledMoreOftenThanAsked) {
  one_to_two(1, 1, 0, 0, 7 * kMs);
  one_to_two(2, 2, 0, 1, 7 * kMs);
}

TEST(SchedulerShare, EqualWeightsShareEqually) {
  Machine m(1);
  Domain& a = m.add_domain(256, 1);
  Domain& b = m.add_domain(256, 1);
  Domain& c = m.add_domain(256, 1);
  m.run_until(kRun);
  expect_ratio(m.domain_ns(a), m.domain_ns(b), 1.0);
  expect_ratio(m.domain_ns(b), m.domain_ns(c), 1.0);
}

// Xen 4.17's credit1 adds a domain's weight once per active vCPU: with equal weights a busy
// two-vCPU domain gets twice the time of a busy one-vCPU domain.
TEST(SchedulerShare, WeightCountsOncePerActiveVcpu) {
  Machine m(1);
  Domain& two = m.add_domain(256, 2);
  Domain& one = m.add_domain(256, 1);
  m.run_until(kRun);
  expect_ratio(m.domain_ns(two), m.domain_ns(one), 2.0);
}

TEST(SchedulerShare, CapFiftyAloneLeavesThePcpuHalfIdle) {
  Machine m(1);
  Domain& capped = m.add_domain(256, 1, 0, 50);
  m.run_until(kRun);
  const double share = static_cast<double>(m.domain_ns(capped)) / kRun;
  EXPECT_LE(share, 0.52);
  EXPECT_GE(share, 0.40);  // a cap is a ceiling, but the domain does get near it
  EXPECT_EQ(m.cpus[0].idle_ns + m.cpus[0].busy_ns, kRun);
  EXPECT_GE(static_cast<double>(m.cpus[0].idle_ns) / kRun, 0.48);
}

TEST(SchedulerShare, CapBindsBesideAnUncappedDomain) {
  Machine m(1);
  Domain& capped = m.add_domain(512, 1, 0, 25);
  Domain& other = m.add_domain(256, 1);
  m.run_until(kRun);
  EXPECT_LE(static_cast<double>(m.domain_ns(capped)) / kRun, 0.27);
  EXPECT_GE(static_cast<double>(m.domain_ns(other)) / kRun, 0.70);
}

TEST(SchedulerShare, CapOfTwoVcpusIsForTheDomain) {
  Machine m(2);
  Domain& capped = m.add_domain(256, 2, 0, 100);
  m.run_until(kRun);
  const double share = static_cast<double>(m.domain_ns(capped)) / kRun;  // in pCPUs
  EXPECT_LE(share, 1.04);
  EXPECT_GE(share, 0.80);
}

TEST(SchedulerShare, IdlePcpuStealsSoFourVcpusShareTwoPcpus) {
  Machine m(2);
  for (int i = 0; i < 4; ++i) m.add_domain(256, 1, 0);
  m.run_until(kRun);
  for (const auto& v : m.vcpus) {
    const double share = static_cast<double>(m.ran_ns[v.get()]) / kRun;
    EXPECT_GE(share, 0.45) << "d" << v->domain().id();
    EXPECT_LE(share, 0.55) << "d" << v->domain().id();
  }
  // Both pCPUs busy: at most the first idle poll (one period) is lost.
  EXPECT_LE(m.cpus[0].idle_ns + m.cpus[1].idle_ns, Scheduler::kPeriodNs);
}

TEST(SchedulerShare, HardAffinityIsNeverCrossed) {
  Machine m(2);
  Domain& pinned = m.add_domain(256, 1, 0);
  Vcpu& p = *pinned.vcpu(0);
  m.sched.vcpu_remove(p);
  ASSERT_EQ(m.sched.set_affinity(p, 0b10), 0);
  m.sched.vcpu_insert(p, m.now);
  EXPECT_EQ(p.sched.cpu, 1u);  // moved off the pCPU it may not use
  Domain& others = m.add_domain(256, 3, 0);
  Domain& pinned0 = m.add_domain(256, 1, 1);
  ASSERT_EQ(m.sched.set_affinity(*pinned0.vcpu(0), 0b01), 0);
  m.run_until(kRun);
  EXPECT_EQ(m.ran_on[&p], 0b10u);
  EXPECT_EQ(m.ran_on[pinned0.vcpu(0)], 0b01u);
  EXPECT_GT(m.ran_ns[&p], 0u);
  for (unsigned i = 0; i < others.vcpu_count(); ++i) EXPECT_GT(m.ran_ns[others.vcpu(i)], kRun / 10);
}

TEST(SchedulerShare, AffinityChangedWhileRunningTakesEffectAtTheNextSchedule) {
  Machine m(2);
  Domain& d = m.add_domain(256, 1, 0);
  Vcpu& v = *d.vcpu(0);
  m.run_until(10 * kMs);
  ASSERT_EQ(m.cpus[0].current, &v);
  ASSERT_EQ(m.sched.set_affinity(v, 0b10), 0);
  m.run_until(kSec);
  EXPECT_EQ(v.sched.cpu, 1u);
  EXPECT_EQ(m.cpus[0].current, nullptr);
  EXPECT_EQ(m.cpus[1].current, &v);
}

}  // namespace
}  // namespace hv::sim
