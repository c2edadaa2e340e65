// scheduler_smp_test: the scheduler called from several pCPUs at once. The context-saved
// protocol step by step (a switched-out vCPU runs nowhere else until context_saved), then a
// stress test: threads acting as pCPUs schedule, block and switch while other threads wake
// vCPUs and change their affinity; no vCPU may run on two pCPUs at once, none may be lost,
// and nothing may deadlock (a watchdog fails the test instead of hanging).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/spinlock.hpp"
#include "../smp_test_support.hpp"
#include "sched_sim.hpp"

namespace hv::sim {
namespace {

TEST(SchedulerSmp, SwitchedOutVcpuIsNotStolenUntilItsContextIsSaved) {
  Scheduler s;
  s.set_online_cpus(2);
  Domain da(1, false), db(2, false);
  Vcpu v(da, 0), w(db, 0);
  for (Vcpu* x : {&v, &w}) {
    x->state = VcpuState::runnable;
    s.vcpu_insert(*x, 0);
  }
  ASSERT_EQ(s.do_schedule(0, nullptr, kMs).next, &v);
  EXPECT_TRUE(v.sched.context_live);
  s.vcpu_yield(v);
  ASSERT_EQ(s.do_schedule(0, &v, 3 * kMs).next, &w);  // v is queued again, still live on pCPU 0
  EXPECT_EQ(s.do_schedule(1, nullptr, 3 * kMs).next, nullptr);  // the idler may not take it yet
  EXPECT_EQ(s.context_saved(v), 1u);  // ... so it is named once v's registers are saved
  EXPECT_FALSE(v.sched.context_live);
  EXPECT_EQ(s.do_schedule(1, nullptr, 4 * kMs).next, &v);
  EXPECT_EQ(v.sched.cpu, 1u);
}

TEST(SchedulerSmp, VcpuThatLostItsPcpuWhileRunningMovesWhenSaved) {
  Scheduler s;
  s.set_online_cpus(2);
  Domain d(1, false);
  Vcpu v(d, 0);
  v.state = VcpuState::runnable;
  s.vcpu_insert(v, 0);
  ASSERT_EQ(s.do_schedule(0, nullptr, kMs).next, &v);
  ASSERT_EQ(s.set_affinity(v, 0b10), 0);
  EXPECT_EQ(v.sched.cpu, 0u);  // running: it stays until its pCPU chooses
  EXPECT_EQ(s.do_schedule(0, &v, 3 * kMs).next, nullptr);
  EXPECT_EQ(s.do_schedule(1, nullptr, 3 * kMs).next, nullptr);
  EXPECT_EQ(s.context_saved(v), 1u);  // moved to pCPU 1, which is idle
  EXPECT_EQ(v.sched.cpu, 1u);
  EXPECT_EQ(s.do_schedule(1, nullptr, 4 * kMs).next, &v);
}

// ---- stress ----

constexpr unsigned kCpus = 4;
// The shared clock moves this much per do_schedule: slices (and accountings) end every few
// dozen calls, so vCPUs switch and migrate often.
constexpr std::uint64_t kStepNs = 250'000;
constexpr auto kRunTime = std::chrono::milliseconds(1500);
constexpr auto kWatchdog = std::chrono::seconds(20);


struct Stress {
  Scheduler sched;
  std::vector<std::unique_ptr<Domain>> domains;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::unique_ptr<std::atomic<int>[]> running_on;  // per vCPU: the pCPU running it, -1: none
  std::atomic<std::uint64_t> clock{1};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> double_runs{0};
  std::atomic<std::uint64_t> switches{0}, wakes{0}, blocks{0}, affinity_changes{0};
  Vcpu* current[kCpus] = {};

  Stress() {
    sched.set_online_cpus(kCpus);
    // Three domains of three vCPUs; one capped, so parking and unparking happen too.
    const std::uint16_t weights[] = {256, 512, 128}, caps[] = {0, 0, 50};
    for (unsigned i = 0; i < 3; ++i) {
      Domain& d = *domains.emplace_back(std::make_unique<Domain>(static_cast<pv::domid_t>(i + 1), false));
      EXPECT_EQ(sched.set_params(d, weights[i], caps[i]), 0);
      for (unsigned j = 0; j < 3; ++j) {
        Vcpu& v = *vcpus.emplace_back(std::make_unique<Vcpu>(d, j));
        EXPECT_TRUE(d.add_vcpu(v));
        v.state = VcpuState::runnable;
        v.sched.cpu = (i + j) % kCpus;
        sched.vcpu_insert(v, 0);
      }
    }
    running_on = std::make_unique<std::atomic<int>[]>(vcpus.size());
    for (std::size_t i = 0; i < vcpus.size(); ++i) running_on[i] = -1;
  }

  std::size_t index(const Vcpu& v) const {
    for (std::size_t i = 0; i < vcpus.size(); ++i)
      if (vcpus[i].get() == &v) return i;
    ADD_FAILURE() << "unknown vCPU";
    return 0;
  }

  // One do_schedule on `cpu` and the switch it asks for. The incoming vCPU must be free; the
  // outgoing one stays "loaded" here (running_on) through the switch, which takes a while (a
  // yield), and is released just before context_saved: a pCPU that took it earlier is caught.
  void schedule(unsigned cpu, std::uint64_t now) {
    Vcpu* prev = current[cpu];
    const Scheduler::Decision d = sched.do_schedule(cpu, prev, now);
    EXPECT_GT(d.slice_ns, 0u);
    if (d.next == prev) {  // kept: still loaded here
      if (prev != nullptr) {
        EXPECT_EQ(running_on[index(*prev)].load(), static_cast<int>(cpu));
      }
      return;
    }
    if (d.next != nullptr) {
      int none = -1;
      if (!running_on[index(*d.next)].compare_exchange_strong(none, static_cast<int>(cpu))) ++double_runs;
    }
    current[cpu] = d.next;
    if (prev != nullptr) {
      std::this_thread::yield();
      running_on[index(*prev)].store(-1);
      sched.context_saved(*prev);
    }
    ++switches;
  }

  // A pCPU: schedules in a loop; now and then its vCPU blocks (sched_op block: only the vCPU
  // itself does, so only its pCPU) or yields first.
  void cpu_thread(unsigned cpu) {
    std::mt19937 rng(cpu + 1);
    while (!stop.load()) {
      Vcpu* cur = current[cpu];
      if (cur != nullptr) {
        const unsigned r = rng() % 64;
        VcpuState runnable = VcpuState::runnable;
        if (r == 0 && cur->state.compare_exchange_strong(runnable, VcpuState::blocked)) {
          sched.vcpu_sleep(*cur);
          ++blocks;
        } else if (r == 1) {
          sched.vcpu_yield(*cur);
        }
      }
      schedule(cpu, clock.fetch_add(kStepNs) + kStepNs);
      if (current[cpu] == nullptr) std::this_thread::yield();  // idle: let the wakers run
    }
  }

  // A waker (event channels, timers) that also does the odd domctl and VCPUOP: wakes blocked
  // vCPUs, changes affinities and weights, takes vCPUs down and brings them up again.
  std::mutex vcpuop_lock;  // stands in for the domain locks (one for all domains here)
  void helper_thread(unsigned seed) {
    std::mt19937 rng(seed);
    while (!stop.load()) {
      Vcpu& v = *vcpus[rng() % vcpus.size()];
      const unsigned r = rng() % 64;
      VcpuState runnable = VcpuState::runnable, offline = VcpuState::offline;
      if (r < 8) {
        const std::uint64_t mask = rng() % ((1u << kCpus) - 1) + 1;
        EXPECT_EQ(sched.set_affinity(v, mask), 0);
        ++affinity_changes;
      } else if (r == 8) {
        EXPECT_EQ(sched.set_params(v.domain(), static_cast<std::uint16_t>(64 + rng() % 512), 0xffff), 0);
      } else if (r == 9 || r == 10) {
        // VCPUOP_down and _up run under the domain lock in the hypervisor, so one vCPU's state
        // change and its scheduler call are never split by another's (without it an up could
        // land between a down's state change and its remove, and the vCPU be lost).
        std::lock_guard<std::mutex> domain_lock(vcpuop_lock);
        if (r == 9 && v.state.compare_exchange_strong(runnable, VcpuState::offline)) sched.vcpu_remove(v);
        if (r == 10 && v.state.compare_exchange_strong(offline, VcpuState::runnable)) sched.vcpu_insert(v, clock.load());
      } else if (v.wake_from_blocked()) {
        sched.vcpu_wake(v, clock.load());
        ++wakes;
      }
      std::this_thread::yield();
    }
  }
};


TEST(SchedulerSmp, StressNoDoubleRunNoLostVcpuNoDeadlock) {
  set_spin_relax(microxen::test::yield_relax);  // more threads than host cores: let the lock holder run
  Stress st;
  {
    microxen::test::Watchdog watchdog(kWatchdog, "scheduler stress");
    std::vector<std::thread> cpus, helpers;
    for (unsigned c = 0; c < kCpus; ++c) cpus.emplace_back([&st, c] { st.cpu_thread(c); });
    for (unsigned h = 0; h < 2; ++h) helpers.emplace_back([&st, h] { st.helper_thread(100 + h); });
    std::this_thread::sleep_for(kRunTime);
    // All at once, so that the state checked below is a mid-run one (stopping the wakers first
    // would leave every vCPU blocked). Each thread finishes its step: a block is followed by
    // its do_schedule, a won wake by its vcpu_wake.
    st.stop = true;
    for (std::thread& t : helpers) t.join();
    for (std::thread& t : cpus) t.join();
  }
  set_spin_relax(nullptr);
  using ull = unsigned long long;
  std::printf("switches %llu, blocks %llu, wakes %llu, affinity changes %llu, periods %llu\n",
              static_cast<ull>(st.switches.load()), static_cast<ull>(st.blocks.load()),
              static_cast<ull>(st.wakes.load()), static_cast<ull>(st.affinity_changes.load()),
              static_cast<ull>(st.clock.load() / Scheduler::kPeriodNs));
  EXPECT_EQ(st.double_runs.load(), 0u);
  // That it did some work: an idle host does ~100000 switches, a loaded one under TSan ~500.
  EXPECT_GT(st.switches.load(), 100u);
  EXPECT_GT(st.blocks.load(), 10u);
  EXPECT_GT(st.wakes.load(), 10u);
  EXPECT_GT(st.affinity_changes.load(), 10u);
  EXPECT_GT(st.clock.load(), 10 * Scheduler::kPeriodNs);  // many accountings ran

  // Quiescent: every runnable vCPU is queued exactly once or some pCPU's current (parked ones
  // wait off the queues for their credit), and only currents are still live.
  for (unsigned c = 0; c < kCpus; ++c) EXPECT_EQ(st.sched.current(c), st.current[c]);
  for (const auto& v : st.vcpus) {
    unsigned running = 0;
    for (unsigned c = 0; c < kCpus; ++c) running += st.current[c] == v.get();
    const unsigned queued = v->sched.runq.linked ? 1 : 0;
    EXPECT_LE(running + queued, 1u) << "d" << v->domain().id() << "v" << v->id();
    if (v->runnable() && !v->sched.parked) {
      EXPECT_EQ(running + queued, 1u) << "d" << v->domain().id() << "v" << v->id();
    }
    EXPECT_EQ(v->sched.context_live.load(), running == 1);
    // Only earning lifts an OVER vCPU: one that is not earning must not be in debt, or it may
    // never run again beside vCPUs with credit (a VCPUOP_up in debt once left it so).
    if (v->sched.inserted && !v->sched.active) {
      EXPECT_GE(v->sched.credit, 0) << "d" << v->domain().id() << "v" << v->id();
    }
  }

  // Draining: wake the blocked and bring up the offline, then every pCPU schedules a slice at
  // a time; every vCPU runs.
  for (const auto& v : st.vcpus) {
    if (v->wake_from_blocked()) st.sched.vcpu_wake(*v, st.clock.load());
    VcpuState offline = VcpuState::offline;
    if (v->state.compare_exchange_strong(offline, VcpuState::runnable)) st.sched.vcpu_insert(*v, st.clock.load());
  }
  std::vector<bool> ran(st.vcpus.size());
  for (int round = 0; round < 400; ++round) {
    const std::uint64_t now = st.clock.fetch_add(Scheduler::kTimeSliceNs) + Scheduler::kTimeSliceNs;
    for (unsigned c = 0; c < kCpus; ++c) {
      st.schedule(c, now);
      if (st.current[c] != nullptr) ran[st.index(*st.current[c])] = true;
    }
  }
  EXPECT_EQ(st.double_runs.load(), 0u);
  for (std::size_t i = 0; i < st.vcpus.size(); ++i)
    EXPECT_TRUE(ran[i]) << "d" << st.vcpus[i]->domain().id() << "v" << st.vcpus[i]->id() << " never ran";
}

}  // namespace
}  // namespace hv::sim
