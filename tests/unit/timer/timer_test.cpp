// timer_test: the deadline queue's order and the Xen 4.17 semantics of set_timer_op and the
// VCPUOP timer sub-ops (past deadlines, huge timeouts, periodic re-arming, limits).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <pv/errno.hpp>

#include "core/domain.hpp"
#include "core/timer.hpp"

namespace hv {
namespace {

struct Recorder {
  std::vector<Vcpu*> events;
  static void send(Vcpu& v, void* ctx) { static_cast<Recorder*>(ctx)->events.push_back(&v); }
};

int hook_calls = 0;
void count_hook(TimerQueue&) { ++hook_calls; }

struct TimerTest : ::testing::Test {
  Domain d{1, false};
  Vcpu v0{d, 0};
  Vcpu v1{d, 1};
  TimerQueue q;
  Recorder rec;
  unsigned fire(std::uint64_t now) { return fire_due_timers(q, now, Recorder::send, &rec); }
  void SetUp() override {
    v0.timers.queue = &q;
    v1.timers.queue = &q;
  }
};

TEST_F(TimerTest, QueueKeepsEarliestFirstAndReArmMoves) {
  q.set(v0, TimerKind::singleshot, v0.timers.singleshot, 300);
  q.set(v1, TimerKind::singleshot, v1.timers.singleshot, 100);
  EXPECT_EQ(q.earliest(), 100u);
  q.set(v1, TimerKind::singleshot, v1.timers.singleshot, 500);  // re-arm: moved, not doubled
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.earliest(), 300u);
  q.stop(v0.timers.singleshot);
  EXPECT_EQ(q.earliest(), 500u);
  q.stop(v0.timers.singleshot);  // stopping twice is harmless
  EXPECT_EQ(q.size(), 1u);
}

TEST_F(TimerTest, HookToldWhenEarliestChanges) {
  hook_calls = 0;
  q.set_hook(count_hook);
  q.set(v0, TimerKind::singleshot, v0.timers.singleshot, 300);
  EXPECT_EQ(hook_calls, 1);
  q.set(v1, TimerKind::singleshot, v1.timers.singleshot, 400);  // behind: no change
  EXPECT_EQ(hook_calls, 1);
  q.stop(v0.timers.singleshot);
  EXPECT_EQ(hook_calls, 2);
}

TEST_F(TimerTest, QueueHasNoCapacityLimit) {
  // Eight boot domains of eight vCPUs with three timers each: the queue is intrusive.
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  for (unsigned i = 0; i < 200; ++i) {
    vcpus.push_back(std::make_unique<Vcpu>(d, i % Domain::kMaxVcpus));
    vcpus.back()->timers.queue = &q;
    ASSERT_EQ(timer_set_timer_op(*vcpus.back(), 1000 - i, 0), 0);
  }
  EXPECT_EQ(q.size(), 200u);
  EXPECT_EQ(fire(1000), 200u);
  ASSERT_EQ(rec.events.size(), 200u);
  EXPECT_EQ(rec.events.front(), vcpus.back().get());  // earliest deadline first
  EXPECT_EQ(rec.events.back(), vcpus.front().get());
}

TEST_F(TimerTest, TimerArmedOnAnotherQueueIsMovedAndStoppedThere) {
  // The vCPU's queue changed (another CPU) while its one-shot timer was armed on the first.
  TimerQueue other;
  ASSERT_EQ(timer_set_timer_op(v0, 500, 0), 0);
  v0.timers.queue = &other;
  timer_stop_singleshot(v0);  // stopped on the queue that holds it
  EXPECT_TRUE(q.empty());
  v0.timers.queue = &q;
  ASSERT_EQ(timer_set_timer_op(v0, 500, 0), 0);
  v0.timers.queue = &other;
  ASSERT_EQ(timer_set_timer_op(v0, 700, 0), 0);  // re-armed: moved, not doubled
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(other.earliest(), 700u);
}

TEST_F(TimerTest, EqualDeadlinesFireInArmingOrder) {
  q.set(v0, TimerKind::singleshot, v0.timers.singleshot, 100);
  q.set(v1, TimerKind::singleshot, v1.timers.singleshot, 100);
  EXPECT_EQ(fire(100), 2u);
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[0], &v0);
  EXPECT_EQ(rec.events[1], &v1);
}

TEST_F(TimerTest, FireDueFiresOnlyExpiredInOrder) {
  ASSERT_EQ(timer_set_timer_op(v0, 200, 0), 0);
  ASSERT_EQ(timer_set_timer_op(v1, 100, 0), 0);
  EXPECT_EQ(fire(99), 0u);  // never early
  EXPECT_EQ(fire(200), 2u);
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[0], &v1);
  EXPECT_EQ(rec.events[1], &v0);
  EXPECT_EQ(fire(1000), 0u);  // one-shot: once
  EXPECT_TRUE(q.empty());
}

TEST_F(TimerTest, SetTimerOpZeroStops) {
  ASSERT_EQ(timer_set_timer_op(v0, 5000, 1000), 0);
  ASSERT_EQ(timer_set_timer_op(v0, 0, 1000), 0);
  EXPECT_EQ(fire(10000), 0u);
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(TimerTest, SetTimerOpPastDeadlineFiresAtNextCheck) {
  ASSERT_EQ(timer_set_timer_op(v0, 500, 1000), 0);
  EXPECT_EQ(q.earliest(), 500u);
  EXPECT_EQ(fire(1000), 1u);
}

TEST_F(TimerTest, SetTimerOpHugeOrNegativeBecomes100ms) {
  const std::uint64_t now = 1'000'000'000;
  ASSERT_EQ(timer_set_timer_op(v0, -5, now), 0);
  EXPECT_EQ(q.earliest(), now + 100'000'000);
  ASSERT_EQ(timer_set_timer_op(v0, static_cast<std::int64_t>(now + (std::uint64_t{1} << 50)), now), 0);
  EXPECT_EQ(q.earliest(), now + 100'000'000);
  // Just under 2^50 ns ahead is taken as given.
  const std::int64_t ok = static_cast<std::int64_t>(now + (std::uint64_t{1} << 50) - 1);
  ASSERT_EQ(timer_set_timer_op(v0, ok, now), 0);
  EXPECT_EQ(q.earliest(), static_cast<std::uint64_t>(ok));
  // Xen truncates offset >> 50 to 32 bits: 2^82 ns ahead is impossible in 63 bits, so the
  // check is effectively "offset >= 2^50".
}

TEST_F(TimerTest, SingleshotPastSendsAtOnce) {
  ASSERT_EQ(timer_set_singleshot(v0, 3000, 2000, Recorder::send, &rec), 0);
  EXPECT_TRUE(rec.events.empty());
  ASSERT_EQ(timer_set_singleshot(v0, 1999, 2000, Recorder::send, &rec), 0);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(q.empty());  // the pending one was stopped
  // Bit 63 set is negative as s_time_t: in the past.
  ASSERT_EQ(timer_set_singleshot(v0, ~std::uint64_t{0}, 2000, Recorder::send, &rec), 0);
  EXPECT_EQ(rec.events.size(), 2u);
  // Exactly now is not in the past: armed, fires at the next check.
  ASSERT_EQ(timer_set_singleshot(v0, 2000, 2000, Recorder::send, &rec), 0);
  EXPECT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(fire(2000), 1u);
}

TEST_F(TimerTest, StopSingleshotPreventsEvent) {
  ASSERT_EQ(timer_set_singleshot(v0, 3000, 2000, Recorder::send, &rec), 0);
  timer_stop_singleshot(v0);
  EXPECT_EQ(fire(5000), 0u);
  EXPECT_TRUE(rec.events.empty());
}

TEST_F(TimerTest, PeriodicLimits) {
  EXPECT_EQ(timer_set_periodic(v0, 999'999, 0, Recorder::send, &rec), -pv::XEN_EINVAL);
  EXPECT_EQ(timer_set_periodic(v0, (~std::uint64_t{0} >> 2) + 1, 0, Recorder::send, &rec), -pv::XEN_EINVAL);
  EXPECT_EQ(timer_set_periodic(v0, 1'000'000, 5'000'000, Recorder::send, &rec), 0);
}

TEST_F(TimerTest, PeriodicFiresAndReArmsFromNow) {
  const std::uint64_t p = 1'000'000;
  // last_event 0: a period has passed at 5 ms, so the first event goes out at once (Xen).
  ASSERT_EQ(timer_set_periodic(v0, p, 5 * p, Recorder::send, &rec), 0);
  EXPECT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(q.earliest(), 6 * p);
  EXPECT_EQ(fire(6 * p - 1), 0u);
  EXPECT_EQ(fire(6 * p + 300), 1u);
  EXPECT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(q.earliest(), 7 * p + 300);  // Xen: next = now + period
  timer_stop_periodic(v0);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(fire(100 * p), 0u);
}

TEST_F(TimerTest, PeriodicStopsOnSwitchOutAndResumesOnSwitchIn) {
  const std::uint64_t p = kDefaultPeriodNs;
  v0.timers.periodic_period = p;
  v0.timers.queue = nullptr;
  timers_switch_in(v0, q, 3 * p, Recorder::send, &rec);
  EXPECT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(q.earliest(), 4 * p);
  timers_switch_out(v0);
  EXPECT_TRUE(q.empty());
  timers_switch_in(v0, q, 3 * p + 10, Recorder::send, &rec);  // not a period yet: no event
  EXPECT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(q.earliest(), 4 * p);
}

TEST_F(TimerTest, UnscheduledVcpu) {
  Vcpu v2{d, 2};
  EXPECT_EQ(timer_set_periodic(v2, 2'000'000, 0, Recorder::send, &rec), 0);  // kept for switch-in
  EXPECT_TRUE(rec.events.empty());
  EXPECT_EQ(v2.timers.periodic_period, 2'000'000u);
  EXPECT_EQ(timer_set_timer_op(v2, 5, 0), -pv::XEN_ENOSYS);
}

TEST_F(TimerTest, KillStopsEveryTimer) {
  ASSERT_EQ(timer_set_periodic(v0, 1'000'000, 0, Recorder::send, &rec), 0);
  ASSERT_EQ(timer_set_timer_op(v0, 50, 0), 0);
  timer_set_poll(v0, 70, 0);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_TRUE(timers_armed(v0.timers));
  timers_kill(v0);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(timers_armed(v0.timers));
}

TEST_F(TimerTest, PollTimeoutWithoutAPollerDoesNothing) {
  timer_set_poll(v0, 70, 0);  // this domain has no event channels: nothing polls
  EXPECT_EQ(fire(70), 1u);
  EXPECT_TRUE(rec.events.empty());
}

}  // namespace
}  // namespace hv
