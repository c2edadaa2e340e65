// scheduler_test: the credit scheduler's single decisions: wake boost and tickling, ratelimit,
// yield, sleep/remove/offline edge cases, domctl parameters and affinity as Xen 4.17 treats
// them (hostile values included), and the intrusive list the queues are made of.
#include <gtest/gtest.h>

#include <pv/errno.hpp>

#include "core/intrusive_list.hpp"
#include "sched_sim.hpp"

namespace hv::sim {
namespace {

struct Item {
  int id;
  ListLink<Item> link;
};
ListLink<Item>& item_link(Item& i) { return i.link; }

TEST(IntrusiveList, InsertsAndRemovesAnywhere) {
  using List = IntrusiveList<Item, item_link>;
  Item a{1, {}}, b{2, {}}, c{3, {}}, d{4, {}};
  List l;
  EXPECT_TRUE(l.empty());
  l.push_back(b);
  l.push_front(a);
  l.push_back(d);
  l.insert_before(&d, c);
  std::vector<int> seen;
  for (Item* i = l.front(); i != nullptr; i = List::next(*i)) seen.push_back(i->id);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(List::prev(c), &b);
  l.remove(a);
  l.remove(c);
  l.remove(d);
  EXPECT_FALSE(List::linked(a));
  EXPECT_EQ(l.front(), &b);
  EXPECT_EQ(List::next(b), nullptr);
  EXPECT_EQ(List::prev(b), nullptr);
  l.remove(b);
  EXPECT_TRUE(l.empty());
  l.push_back(c);  // a removed element can be queued again
  EXPECT_EQ(l.front(), &c);
}

// Blocks `v` as sched_op block does: not runnable, and its pCPU reschedules if it runs it.
void block(Machine& m, Vcpu& v) {
  v.state = VcpuState::blocked;
  m.sched.vcpu_sleep(v);
  for (unsigned c = 0; c < m.cpus.size(); ++c)
    if (m.cpus[c].current == &v) m.reschedule(c);
}

unsigned wake(Machine& m, Vcpu& v) {
  v.state = VcpuState::runnable;
  return m.sched.vcpu_wake(v, m.now);
}

TEST(Scheduler, WokenVcpuWithCreditPreemptsTheHog) {
  Machine m(1);
  Vcpu& hog = *m.add_domain(256, 1).vcpu(0);
  Vcpu& io = *m.add_domain(256, 1).vcpu(0);
  m.run_until(100 * kMs);
  block(m, io);
  m.run_until(500 * kMs + 5 * kMs);  // the hog alone, mid-slice
  ASSERT_EQ(m.cpus[0].current, &hog);
  EXPECT_EQ(wake(m, io), 0u);  // tickle the pCPU: io outranks the hog
  EXPECT_EQ(io.sched.pri, SchedPri::boost);
  m.reschedule(0);
  EXPECT_EQ(m.cpus[0].current, &io);
  m.advance_to(m.now + kMs / 5);  // a short burst of I/O work, then block again
  block(m, io);
  EXPECT_EQ(m.cpus[0].current, &hog);
  // And again: an I/O-bound vCPU keeps getting the pCPU at once.
  m.run_until(m.now + 20 * kMs);
  EXPECT_EQ(wake(m, io), 0u);
  m.reschedule(0);
  EXPECT_EQ(m.cpus[0].current, &io);
}

TEST(Scheduler, WakeTicklesAnIdlePcpuWhichStealsTheVcpu) {
  Machine m(2);
  Domain& d = m.add_domain(256, 2, 0);
  Vcpu& hog = *d.vcpu(0);
  Vcpu& io = *d.vcpu(1);
  block(m, io);
  m.run_until(50 * kMs);
  ASSERT_EQ(m.cpus[0].current, &hog);
  ASSERT_EQ(m.cpus[1].current, nullptr);
  EXPECT_EQ(wake(m, io), 1u);
  m.reschedule(1);
  EXPECT_EQ(m.cpus[1].current, &io);
  EXPECT_EQ(io.sched.cpu, 1u);
}

TEST(Scheduler, InsertTicklesNobodyButTickleTargetNamesTheIdler) {
  Machine m(2);
  Vcpu& hog = *m.add_domain(256, 1, 0).vcpu(0);
  m.run_until(5 * kMs);
  ASSERT_EQ(m.cpus[0].current, &hog);
  Domain& d = m.add_domain(256, 1, 0);  // VCPUOP_up: queued on pCPU 0 behind the hog
  Vcpu& up = *d.vcpu(0);
  EXPECT_EQ(m.sched.tickle_target(up), 1u);
  EXPECT_EQ(m.sched.tickle_target(up), kSchedNoCpu);  // pCPU 1 is already asked
  m.reschedule(1);
  EXPECT_EQ(m.cpus[1].current, &up);
  EXPECT_EQ(m.sched.tickle_target(up), kSchedNoCpu);  // not queued
}

TEST(Scheduler, WakeOfAnEqualOrBetterRunningVcpuTicklesNobody) {
  Machine m(1);
  Vcpu& a = *m.add_domain(256, 1).vcpu(0);
  Vcpu& b = *m.add_domain(256, 1).vcpu(0);
  block(m, b);
  m.run_until(5 * kMs);
  ASSERT_EQ(m.cpus[0].current, &a);
  a.sched.pri = SchedPri::boost;  // as if a had just woken too
  EXPECT_EQ(wake(m, b), kSchedNoCpu);
  EXPECT_EQ(wake(m, b), kSchedNoCpu);  // already queued
  EXPECT_EQ(m.sched.vcpu_wake(a, m.now), kSchedNoCpu);  // running
}

TEST(Scheduler, RatelimitKeepsAJustPickedVcpuForOneMillisecond) {
  Machine m(1);
  Vcpu& a = *m.add_domain(256, 1).vcpu(0);
  Vcpu& b = *m.add_domain(256, 1).vcpu(0);
  block(m, b);
  m.reschedule(0);
  ASSERT_EQ(m.cpus[0].current, &a);
  m.advance_to(m.now + kMs / 5);
  EXPECT_EQ(wake(m, b), 0u);
  Scheduler::Decision d = m.sched.do_schedule(0, &a, m.now);
  EXPECT_EQ(d.next, &a);
  EXPECT_EQ(d.slice_ns, 4 * kMs / 5);
  d = m.sched.do_schedule(0, &a, m.now + 4 * kMs / 5);
  EXPECT_EQ(d.next, &b);
}

TEST(Scheduler, YieldGoesBehindPeersAndSkipsTheRatelimit) {
  Machine m(1);
  Vcpu& a = *m.add_domain(256, 1).vcpu(0);
  Vcpu& b = *m.add_domain(256, 1).vcpu(0);
  m.reschedule(0);
  ASSERT_EQ(m.cpus[0].current, &a);
  m.sched.vcpu_yield(a);
  m.reschedule(0);
  EXPECT_EQ(m.cpus[0].current, &b);
  m.advance_to(m.now + 2 * kMs);
  m.reschedule(0);  // an early call: b keeps the rest of its slice
  EXPECT_EQ(m.cpus[0].current, &b);
  m.run_until(m.cpus[0].deadline + 1);  // round robin at the end of the slice: a's turn
  EXPECT_EQ(m.cpus[0].current, &a);
  block(m, b);
  m.sched.vcpu_yield(a);  // nobody else runnable: a keeps running
  m.reschedule(0);
  EXPECT_EQ(m.cpus[0].current, &a);
}

TEST(Scheduler, SleepDequeuesAndBlockedCurrentIsNotRequeued) {
  Machine m(1);
  Vcpu& a = *m.add_domain(256, 1).vcpu(0);
  Vcpu& b = *m.add_domain(256, 1).vcpu(0);
  block(m, b);  // queued: dequeued at once
  m.run_until(100 * kMs);
  EXPECT_EQ(m.ran_ns[&b], 0u);
  block(m, a);  // running: its pCPU goes idle
  EXPECT_EQ(m.cpus[0].current, nullptr);
  m.sched.vcpu_sleep(a);  // twice is harmless
  EXPECT_EQ(wake(m, b), 0u);  // the idle pCPU is asked to reschedule
  m.reschedule(0);
  ASSERT_EQ(m.cpus[0].current, &b);
  // Blocked and woken again before its pCPU chose: it simply keeps running.
  b.state = VcpuState::blocked;
  b.state = VcpuState::runnable;
  EXPECT_EQ(m.sched.vcpu_wake(b, m.now), kSchedNoCpu);
  m.advance_to(m.now + 2 * kMs);
  m.reschedule(0);
  EXPECT_EQ(m.cpus[0].current, &b);
}

TEST(Scheduler, RemovedVcpusAreNeverPickedAgain) {
  Machine m(2);
  Domain& d = m.add_domain(256, 3, 0);
  Vcpu& queued = *d.vcpu(2);
  m.run_until(5 * kMs);
  Vcpu& running = *m.cpus[0].current;
  ASSERT_NE(&running, &queued);
  m.sched.vcpu_remove(queued);
  m.sched.vcpu_remove(running);
  m.sched.vcpu_remove(running);  // twice is harmless
  EXPECT_EQ(m.sched.vcpu_wake(queued, m.now), kSchedNoCpu);
  const std::uint64_t before = m.ran_ns[&running];
  m.run_until(kSec);
  EXPECT_EQ(m.ran_ns[&queued], 0u);
  EXPECT_LE(m.ran_ns[&running] - before, Scheduler::kTimeSliceNs);  // only until its pCPU chose
  // Back online (VCPUOP_up): it runs again.
  m.sched.vcpu_insert(running, m.now);
  m.sched.vcpu_insert(running, m.now);  // twice is harmless
  m.run_until(2 * kSec);
  EXPECT_GT(m.ran_ns[&running] - before, 100 * kMs);
}

// VCPUOP_down (vcpu_remove) stops a vCPU earning credit, and its _up keeps its debt (OVER).
// Unless the up makes it earn again, it stays OVER for good and never runs beside a vCPU that
// always has credit (here the other domain's, alone on the books and paid what it uses).
TEST(Scheduler, VcpuBroughtUpInDebtEarnsAndRuns) {
  Machine m(1);
  Vcpu& hog = *m.add_domain(256, 1).vcpu(0);
  Vcpu& v = *m.add_domain(256, 1).vcpu(0);
  // They take turns a period at a time, each paid half: just after v's turn it is in debt.
  for (int i = 0; i < 200 && !(m.cpus[0].current == &hog && v.sched.credit < 0 && hog.sched.credit >= 0); ++i)
    m.run_until(m.now + kMs);
  ASSERT_EQ(m.cpus[0].current, &hog);
  ASSERT_LT(v.sched.credit, 0);
  m.sched.vcpu_remove(v);
  m.sched.vcpu_insert(v, m.now);
  EXPECT_EQ(v.sched.pri, SchedPri::over);  // the debt is kept ...
  const std::uint64_t before = m.ran_ns[&v];
  m.run_until(m.now + kSec);
  EXPECT_GT(m.ran_ns[&v] - before, 400 * kMs);  // ... and paid off: it gets its half again
}

TEST(Scheduler, OfflineAndShutDownVcpusDoNotRun) {
  Machine m(1);
  Domain& d = m.add_domain(256, 1);
  Domain off(9, false);
  Vcpu ov(off, 0);
  ASSERT_TRUE(off.add_vcpu(ov));
  m.sched.vcpu_insert(ov, 0);  // VcpuState::offline: never queued
  d.shutdown(0);               // queued but no longer runnable: dropped when met
  m.run_until(100 * kMs);
  EXPECT_EQ(m.cpus[0].busy_ns, 0u);
  m.sched.vcpu_remove(ov);
  m.sched.vcpu_remove(*d.vcpu(0));
}

TEST(Scheduler, ParkedVcpuIsNotWokenUntilItsCreditReturns) {
  Machine m(1);
  Domain& d = m.add_domain(256, 1, 0, 10);
  Vcpu& v = *d.vcpu(0);
  m.run_until(Scheduler::kPeriodNs + kMs);  // ran a whole period on a 10% cap: parked
  ASSERT_TRUE(v.sched.parked);
  EXPECT_EQ(m.cpus[0].current, nullptr);
  block(m, v);
  EXPECT_EQ(wake(m, v), kSchedNoCpu);  // Xen: a paused vCPU does not run when woken
  // It earns 3 ms a period: back after 9 periods, queued without a boost.
  for (int i = 0; i < 100 && v.sched.parked; ++i) m.run_until(m.now + 10 * kMs);
  EXPECT_FALSE(v.sched.parked);
  EXPECT_EQ(v.sched.pri, SchedPri::under);
  EXPECT_EQ(m.cpus[0].current, &v);
  // In the long run it gets its 10% (in bursts of a period, as in Xen).
  m.run_until(3 * kSec);
  EXPECT_LE(m.ran_ns[&v], 3 * kSec / 10 + Scheduler::kPeriodNs);
  EXPECT_GE(m.ran_ns[&v], 3 * kSec / 10 - Scheduler::kPeriodNs);
}

TEST(Scheduler, ParamsFollowXenPutinfo) {
  Machine m(1);
  Domain& d = m.add_domain(512, 2, 0, 150);
  std::uint16_t weight = 0, cap = 0;
  m.sched.get_params(d, weight, cap);
  EXPECT_EQ(weight, 512);
  EXPECT_EQ(cap, 150);
  // Xen's csched_dom_cntl: weight 0 and cap 0xffff mean "leave as is"; nothing is refused
  // (libxl checks 1..65535 and 0..100*vcpus before it asks).
  EXPECT_EQ(m.sched.set_params(d, 0, 0xffff), 0);
  m.sched.get_params(d, weight, cap);
  EXPECT_EQ(weight, 512);
  EXPECT_EQ(cap, 150);
  EXPECT_EQ(m.sched.set_params(d, 65535, 5000), 0);  // a cap no vCPU count can reach
  m.sched.get_params(d, weight, cap);
  EXPECT_EQ(weight, 65535);
  EXPECT_EQ(cap, 5000);
  m.run_until(kSec);
  EXPECT_EQ(m.cpus[0].idle_ns, 0u);  // it does not bind
}

// Through the domctl or written straight into Domain::sched (as a builder may).
TEST(Scheduler, WeightChangeOfARunningDomainTakesEffect) {
  for (bool direct : {false, true}) {
    Machine m(1);
    Domain& a = m.add_domain(256, 1);
    Domain& b = m.add_domain(256, 1);
    m.run_until(kSec);
    if (direct)
      b.sched.weight = 768;
    else
      ASSERT_EQ(m.sched.set_params(b, 768, 0xffff), 0);
    const std::uint64_t a0 = m.domain_ns(a), b0 = m.domain_ns(b);
    m.run_until(6 * kSec);
    const double ratio = static_cast<double>(m.domain_ns(b) - b0) / static_cast<double>(m.domain_ns(a) - a0);
    EXPECT_GE(ratio, 2.7) << (direct ? "direct" : "set_params");
    EXPECT_LE(ratio, 3.3) << (direct ? "direct" : "set_params");
  }
}

TEST(Scheduler, AffinityWithoutAnOnlinePcpuIsRefused) {
  Machine m(2);
  Vcpu& v = *m.add_domain(256, 1).vcpu(0);
  EXPECT_EQ(m.sched.set_affinity(v, 0), -pv::XEN_EINVAL);
  EXPECT_EQ(m.sched.set_affinity(v, 0b1100), -pv::XEN_EINVAL);  // pCPUs 2, 3 are not online
  EXPECT_EQ(v.sched.affinity, ~std::uint64_t{0});
  EXPECT_EQ(m.sched.set_affinity(v, 0b0110), 0);  // moves the queued vCPU to pCPU 1
  EXPECT_EQ(v.sched.cpu, 1u);
}

TEST(Scheduler, OnlineCpusAreClampedAndOthersIdle) {
  Scheduler s;
  s.set_online_cpus(0);
  EXPECT_EQ(s.online_cpus(), 1u);
  s.set_online_cpus(100);
  EXPECT_EQ(s.online_cpus(), kSchedMaxCpus);
  s.set_online_cpus(2);
  Scheduler::Decision d = s.do_schedule(5, nullptr, 0);
  EXPECT_EQ(d.next, nullptr);
  EXPECT_GT(d.slice_ns, 0u);
  EXPECT_EQ(s.current(5), nullptr);
}

TEST(Scheduler, SlicesEndAtTheAccountingBoundary) {
  Machine m(1);
  m.add_domain(256, 1);
  m.add_domain(256, 1);
  m.reschedule(0);
  m.advance_to(m.now + 12 * kMs);
  Scheduler::Decision d = m.sched.do_schedule(0, m.cpus[0].current, m.now);
  EXPECT_EQ(d.slice_ns, Scheduler::kPeriodNs - 12 * kMs);
}

}  // namespace
}  // namespace hv::sim
