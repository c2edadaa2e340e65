// timer_smp_test: the timer queues shared across CPUs (threads standing in for pCPUs): each
// "CPU" fires its own queue while another re-arms, stops and migrates the same vCPUs'
// timers; a timer is never on two queues, a one-shot timer fires exactly once however often
// it moves, and neither the hook nor a callback runs with a queue lock held. Every wait is
// bounded by a deadline, so a bug fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/domain.hpp"
#include "core/spinlock.hpp"
#include "core/timer.hpp"
#include "../smp_test_support.hpp"

namespace hv {
namespace {

using Clock = std::chrono::steady_clock;


// A corrupted queue (a timer linked on two lists) can loop forever inside the code under
// test: the Watchdog turns that into a failure.

// Events per vCPU; the map is built before any thread starts and only read afterwards.
struct Counts {
  std::unordered_map<const Vcpu*, std::size_t> index;
  std::vector<std::atomic<unsigned>> events;
  explicit Counts(std::size_t n) : events(n) {}
  static void send(Vcpu& v, void* ctx) {
    auto* c = static_cast<Counts*>(ctx);
    c->events[c->index.at(&v)].fetch_add(1, std::memory_order_relaxed);
  }
};

struct TimerSmpTest : ::testing::Test {
  static constexpr std::size_t kVcpus = 16;
  Domain d{1, false};  // no event channels: a poll timeout wakes nobody
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  TimerQueue q[2];
  Counts counts{kVcpus};
  std::atomic<std::uint64_t> clock{1'000'000};
  std::atomic<bool> stop_firing{false};
  microxen::test::Watchdog watchdog{std::chrono::seconds(10), "timer_smp_test"};

  void SetUp() override {
    set_spin_relax(microxen::test::yield_relax);
    for (std::size_t i = 0; i < kVcpus; ++i) {
      vcpus.push_back(std::make_unique<Vcpu>(d, static_cast<unsigned>(i % Domain::kMaxVcpus)));
      counts.index[vcpus.back().get()] = i;
      vcpus.back()->timers.queue = &q[i % 2];
    }
  }
  void TearDown() override { set_spin_relax(nullptr); }

  // One "CPU": fires its queue's due timers at a shared, advancing clock until told to stop.
  std::thread cpu(unsigned n, Clock::time_point deadline) {
    return std::thread([this, n, deadline] {
      while (!stop_firing.load() && Clock::now() < deadline)
        (void)fire_due_timers(q[n], clock.fetch_add(1'000) + 1'000, Counts::send, &counts);
    });
  }

  // Sizes agree with where the timers say they are, and a stopped world empties both queues.
  void expect_consistent_then_empty() {
    std::size_t on[2] = {0, 0};
    for (auto& v : vcpus)
      for (const Timer* t : {&v->timers.singleshot, &v->timers.periodic, &v->timers.poll}) {
        TimerQueue* where = t->on.load();
        ASSERT_TRUE(where == nullptr || where == &q[0] || where == &q[1]);
        if (where != nullptr) ++on[where == &q[1]];
      }
    EXPECT_EQ(q[0].size(), on[0]);
    EXPECT_EQ(q[1].size(), on[1]);
    for (auto& v : vcpus) timers_kill(*v);
    for (TimerQueue& queue : q) {
      EXPECT_TRUE(queue.empty());  // a timer linked on two lists would stay on one of them
      EXPECT_EQ(queue.earliest(), ~std::uint64_t{0});
    }
  }
};

TEST_F(TimerSmpTest, FiringWhileTimersAreReArmedStoppedAndMigrated) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
  std::thread cpus[2] = {cpu(0, deadline), cpu(1, deadline)};
  // The "vCPUs' own CPU": every operation a vCPU's hypercalls or its context switches do.
  std::mt19937 rng(42);
  const Clock::time_point stress_end = Clock::now() + std::chrono::milliseconds(800);
  unsigned ops = 0;
  while (Clock::now() < stress_end) {
    Vcpu& v = *vcpus[rng() % kVcpus];
    const std::uint64_t now = clock.load();
    const std::uint64_t ahead = now + rng() % 50'000;
    switch (rng() % 8) {
      case 0: timers_switch_in(v, q[rng() % 2], now, Counts::send, &counts); break;
      case 1: timers_switch_out(v); break;
      case 2: ASSERT_EQ(timer_set_timer_op(v, static_cast<std::int64_t>(ahead), now), 0); break;
      case 3: timer_stop_singleshot(v); break;
      case 4: ASSERT_EQ(timer_set_periodic(v, 1'000'000 + rng() % 1'000, now, Counts::send, &counts), 0); break;
      case 5: timer_stop_periodic(v); break;
      case 6: timer_set_poll(v, ahead, now); break;
      case 7: q[rng() % 2].set(v, TimerKind::singleshot, v.timers.singleshot, ahead); break;
    }
    ++ops;
  }
  stop_firing = true;
  for (std::thread& t : cpus) t.join();
  EXPECT_GT(ops, 1000u);
  unsigned events = 0;
  for (auto& e : counts.events) events += e.load();
  EXPECT_GT(events, 0u);
  expect_consistent_then_empty();
}

TEST_F(TimerSmpTest, SingleshotFiresExactlyOnceWhileMigrating) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(3);
  std::thread cpus[2] = {cpu(0, deadline), cpu(1, deadline)};
  unsigned round = 0;
  bool all_fired = false;
  // Rounds of: every vCPU's one-shot armed once, a little ahead, then moved to and fro until
  // each has fired.
  for (; round < 20 && Clock::now() < deadline; ++round) {
    for (auto& v : vcpus) counts.events[counts.index.at(v.get())] = 0;
    for (std::size_t i = 0; i < kVcpus; ++i)
      ASSERT_EQ(timer_set_timer_op(*vcpus[i], static_cast<std::int64_t>(clock.load() + 2'000 * (i + 1)), clock.load()), 0);
    all_fired = false;
    for (unsigned hop = 0; !all_fired && Clock::now() < deadline; ++hop) {
      all_fired = true;
      for (auto& v : vcpus) {
        timers_switch_in(*v, q[hop % 2], clock.load(), Counts::send, &counts);
        const bool done = !v->timers.singleshot.queued() && v->timers.singleshot.in_flight.load() == 0 &&
                          counts.events[counts.index.at(v.get())].load() != 0;
        all_fired = all_fired && done;
      }
    }
    ASSERT_TRUE(all_fired) << "round " << round << ": a one-shot timer was lost in a move";
    for (auto& v : vcpus) ASSERT_EQ(counts.events[counts.index.at(v.get())].load(), 1u) << "round " << round;
  }
  stop_firing = true;
  for (std::thread& t : cpus) t.join();
  EXPECT_EQ(round, 20u);
  expect_consistent_then_empty();
}

// The hook and the callbacks must be free to take the queue lock (the arch's hook reads
// earliest(), the event a callback sends may re-arm a timer): each checks that nobody holds it. Single-threaded, so
// a held lock can only be the caller's own.
TimerQueue* checked[2];
std::atomic<unsigned> hook_calls{0}, held_in_hook{0};

void hook_checks_unlocked(TimerQueue& q) {
  ++hook_calls;
  for (TimerQueue* c : checked)
    if (c->lock.try_lock()) c->lock.unlock();
    else ++held_in_hook;
  (void)q.earliest();
}

struct CallbackChecks {
  unsigned calls = 0, held = 0;
  static void send(Vcpu& v, void* ctx) {
    auto* c = static_cast<CallbackChecks*>(ctx);
    ++c->calls;
    for (TimerQueue* q : checked)
      if (q->lock.try_lock()) q->lock.unlock();
      else ++c->held;
    (void)v;
  }
};

TEST(TimerHookTest, HookAndCallbacksRunWithNoQueueLockHeld) {
  Domain d{1, false};
  Vcpu v{d, 0};
  TimerQueue a, b;
  checked[0] = &a;
  checked[1] = &b;
  hook_calls = held_in_hook = 0;
  a.set_hook(hook_checks_unlocked);
  b.set_hook(hook_checks_unlocked);
  CallbackChecks cb;
  timers_switch_in(v, a, 100, CallbackChecks::send, &cb);
  ASSERT_EQ(timer_set_timer_op(v, 500, 100), 0);                       // set: earliest moves
  ASSERT_EQ(timer_set_timer_op(v, 400, 100), 0);                       // re-arm here
  ASSERT_EQ(timer_set_periodic(v, 1'000'000, 2'000'000, CallbackChecks::send, &cb), 0);
  timer_set_poll(v, 300, 100);
  timers_switch_in(v, b, 200, CallbackChecks::send, &cb);              // migrate a -> b
  EXPECT_TRUE(a.empty());
  b.set(v, TimerKind::singleshot, v.timers.singleshot, 450);           // set across queues
  EXPECT_EQ(fire_due_timers(b, 3'000'000, CallbackChecks::send, &cb), 3u);  // periodic re-armed
  timer_stop_periodic(v);                                              // stop
  ASSERT_EQ(timer_set_timer_op(v, 5'000'000, 3'000'000), 0);
  timers_kill(v);
  EXPECT_GT(hook_calls.load(), 6u);
  EXPECT_EQ(held_in_hook.load(), 0u);
  EXPECT_GE(cb.calls, 3u);
  EXPECT_EQ(cb.held, 0u);
  EXPECT_TRUE(b.empty());
}

// Interleavings made deterministic: what another CPU does between a timer's pop and its
// callback (pop_due, then fire_timer, as fire_due_timers does).
struct PoppedTimerTest : ::testing::Test {
  Domain d{1, false};
  Vcpu v{d, 0};
  TimerQueue a, b;
  unsigned events = 0;
  static void send(Vcpu&, void* ctx) { ++*static_cast<unsigned*>(ctx); }
  static constexpr std::uint64_t kP = 1'000'000;
  void SetUp() override { timers_switch_in(v, a, 10 * kP, send, &events); }
  TimerQueue::Due pop(TimerQueue& q, std::uint64_t now) {
    const TimerQueue::Due due = q.pop_due(now);
    EXPECT_NE(due.vcpu, nullptr);
    return due;
  }
};

TEST_F(PoppedTimerTest, PeriodicPoppedThenSwitchedOutIsNotResurrected) {
  ASSERT_EQ(timer_set_periodic(v, kP, 10 * kP, send, &events), 0);  // event, next at 11 ms
  const TimerQueue::Due due = pop(a, 11 * kP);
  timers_switch_in(v, b, 11 * kP, send, &events);  // it moved to b (an event: a period passed)
  timers_switch_out(v);                            // and was switched out there
  EXPECT_EQ(events, 2u);
  fire_timer(due, 11 * kP, send, &events);
  EXPECT_EQ(events, 2u);  // its period was already handled by the switch-in
  EXPECT_FALSE(v.timers.periodic.queued());
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(b.empty());
}

TEST_F(PoppedTimerTest, PeriodicPoppedThenReArmedBySiblingIsNotDoubled) {
  ASSERT_EQ(timer_set_periodic(v, kP, 10 * kP, send, &events), 0);
  const TimerQueue::Due due = pop(a, 11 * kP);
  ASSERT_EQ(timer_set_periodic(v, 2 * kP, 11 * kP, send, &events), 0);  // sibling's VCPUOP
  EXPECT_EQ(events, 1u);  // 10 + 2 ms not reached yet
  fire_timer(due, 11 * kP, send, &events);
  EXPECT_EQ(events, 1u);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(a.earliest(), 12 * kP);  // the sibling's arming stands, once
}

TEST_F(PoppedTimerTest, PeriodicPoppedAndUntouchedIsReArmed) {
  ASSERT_EQ(timer_set_periodic(v, kP, 10 * kP, send, &events), 0);
  fire_timer(pop(a, 11 * kP), 11 * kP, send, &events);
  EXPECT_EQ(events, 2u);
  EXPECT_EQ(a.earliest(), 12 * kP);
}

TEST_F(PoppedTimerTest, SingleshotPoppedThenReArmedElsewhereFiresBothArmingsOnce) {
  ASSERT_EQ(timer_set_timer_op(v, static_cast<std::int64_t>(11 * kP), 10 * kP), 0);
  const TimerQueue::Due due = pop(a, 11 * kP);
  timers_switch_in(v, b, 11 * kP, send, &events);
  ASSERT_EQ(timer_set_timer_op(v, static_cast<std::int64_t>(12 * kP), 11 * kP), 0);  // a new arming
  fire_timer(due, 11 * kP, send, &events);  // the old arming's event
  EXPECT_EQ(events, 1u);
  EXPECT_EQ(b.earliest(), 12 * kP);
  EXPECT_EQ(fire_due_timers(b, 12 * kP, send, &events), 1u);
  EXPECT_EQ(events, 2u);
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(b.empty());
}

TEST_F(PoppedTimerTest, KillWaitsForACallbackInFlight) {
  microxen::test::Watchdog watchdog{std::chrono::seconds(10), "timer_smp_test"};
  ASSERT_EQ(timer_set_timer_op(v, static_cast<std::int64_t>(11 * kP), 10 * kP), 0);
  const TimerQueue::Due due = pop(a, 11 * kP);
  set_spin_relax(microxen::test::yield_relax);
  std::atomic<bool> killed{false};
  std::thread teardown([&] {
    timers_kill(v);
    killed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(killed.load());  // the vCPU must outlive the callback another CPU runs
  fire_timer(due, 11 * kP, send, &events);
  teardown.join();
  set_spin_relax(nullptr);
  EXPECT_TRUE(killed.load());
  EXPECT_EQ(events, 1u);
}

}  // namespace
}  // namespace hv
