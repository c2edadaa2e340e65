// state: the hypervisor's global mutable state, all of it declared here and defined in
// state.cpp (the per-CPU frame and current vCPU live in CpuInfo, see percpu.hpp). Everything
// else receives what it needs as parameters. Each part says what guards it (the lock order
// is in core/spinlock.hpp).
#pragma once
#include <atomic>
#include <cstdint>

#include "core/boot_info.hpp"
#include "core/domain_registry.hpp"
#include "core/hypercall.hpp"
#include "core/mm_ops.hpp"
#include "core/scheduler.hpp"
#include "core/timer.hpp"
#include "layout.hpp"

namespace hv::x86 {

inline constexpr std::uint64_t kNoDeadline = ~std::uint64_t{0};

// A pCPU's scheduling state: its vCPU timers (the queue has its own lock) and when its
// current slice ends (this CPU's alone). Other CPUs only set need_resched.
struct CpuSchedState {
  TimerQueue timers;
  std::uint64_t slice_end = kNoDeadline;     // system time at which to choose again
  std::atomic<bool> need_resched{false};     // choose again on the way back to a guest
};

struct GlobalState {
  BootInfo boot;            // read-only once the APs start
  HypervisorInfo info;      // read-only once the APs start
  DomainRegistry domains;   // filled at boot, read-only while domains run
  MmOps* mm = nullptr;      // set once the frame table exists (mm_init); has its lock
  Scheduler scheduler;      // locks itself (per-pCPU run-queue locks)
  CpuSchedState cpus[HV_MAX_CPUS];
};

GlobalState& state();

}  // namespace hv::x86
