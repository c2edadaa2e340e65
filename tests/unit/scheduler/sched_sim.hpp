// sched_sim: a discrete-event simulation of pCPUs driving the credit scheduler with a fake
// clock. Each pCPU runs what do_schedule picked until the slice it returned ends (or a test
// event interrupts it); the simulation records, per vCPU, the run time and the pCPUs it ran
// on, and per pCPU its idle time. vCPUs are CPU-bound unless a test blocks them.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/domain.hpp"
#include "core/scheduler.hpp"

namespace hv::sim {

inline constexpr std::uint64_t kMs = 1'000'000;
inline constexpr std::uint64_t kSec = 1000 * kMs;

struct Machine {
  Scheduler sched;
  std::uint64_t now = 0;
  std::vector<std::unique_ptr<Domain>> domains;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  struct Cpu {
    Vcpu* current = nullptr;
    std::uint64_t deadline = 0;  // next do_schedule
    std::uint64_t idle_ns = 0;
    std::uint64_t busy_ns = 0;
  };
  std::vector<Cpu> cpus;
  std::map<const Vcpu*, std::uint64_t> ran_ns;
  std::map<const Vcpu*, std::uint64_t> ran_on;  // bit per pCPU
  // Non-zero: every pCPU also calls do_schedule at each multiple of it (a periodic timer
  // interrupt that reschedules more often than the scheduler asks).
  std::uint64_t tick_ns = 0;

  explicit Machine(unsigned ncpus) : cpus(ncpus) { sched.set_online_cpus(ncpus); }

  // A domain with `nvcpus` runnable vCPUs, all on pCPU `cpu`, inserted at `now`.
  Domain& add_domain(std::uint16_t weight, unsigned nvcpus, unsigned cpu = 0, std::uint16_t cap = 0) {
    auto id = static_cast<pv::domid_t>(domains.size() + 1);
    Domain& d = *domains.emplace_back(std::make_unique<Domain>(id, false));
    EXPECT_EQ(sched.set_params(d, weight, cap), 0);
    for (unsigned i = 0; i < nvcpus; ++i) {
      Vcpu& v = *vcpus.emplace_back(std::make_unique<Vcpu>(d, i));
      EXPECT_TRUE(d.add_vcpu(v));
      v.state = VcpuState::runnable;
      v.sched.cpu = cpu;
      sched.vcpu_insert(v, now);
    }
    return d;
  }

  // Makes `cpu` choose now (as a wake-up's reschedule IPI would).
  void reschedule(unsigned cpu) {
    advance_to(now);
    Cpu& c = cpus[cpu];
    Vcpu* prev = c.current;
    Scheduler::Decision d = sched.do_schedule(cpu, prev, now);
    EXPECT_GT(d.slice_ns, 0u);
    c.current = d.next;
    if (prev != nullptr && d.next != prev) sched.context_saved(*prev);  // switched out at once
    c.deadline = now + d.slice_ns;
    if (d.next != nullptr) ran_on[d.next] |= std::uint64_t{1} << cpu;
  }

  // Runs every pCPU until `end`, rescheduling each at the end of its slice (and at ticks).
  void run_until(std::uint64_t end) {
    for (;;) {
      std::uint64_t next = end;
      for (const Cpu& c : cpus) next = std::min(next, c.deadline);
      if (tick_ns != 0) next = std::min(next, (now / tick_ns + 1) * tick_ns);
      advance_to(next);
      if (now >= end) return;
      const bool tick = tick_ns != 0 && now % tick_ns == 0;
      for (unsigned i = 0; i < cpus.size(); ++i)
        if (tick || cpus[i].deadline <= now) reschedule(i);
    }
  }

  // Credits each pCPU's current with the time from `now` to `t`.
  void advance_to(std::uint64_t t) {
    if (t <= now) return;
    const std::uint64_t dt = t - now;
    for (Cpu& c : cpus) {
      if (c.current != nullptr) {
        ran_ns[c.current] += dt;
        c.busy_ns += dt;
      } else {
        c.idle_ns += dt;
      }
    }
    now = t;
  }

  std::uint64_t domain_ns(const Domain& d) {
    std::uint64_t sum = 0;
    for (unsigned i = 0; i < d.vcpu_count(); ++i) sum += ran_ns[d.vcpu(i)];
    return sum;
  }
};

}  // namespace hv::sim
