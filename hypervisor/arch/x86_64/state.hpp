// state: the hypervisor's global mutable state, all of it declared here and defined in
// state.cpp (the per-CPU frame and current vCPU live in CpuInfo, see percpu.hpp). Everything
// else receives what it needs as parameters. All of it is guarded by the hypervisor lock
// (hv_lock.hpp), except what its comment says otherwise.
#pragma once
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

// A pCPU's scheduling state: its vCPU timers and when its current slice ends.
struct CpuSchedState {
  TimerQueue timers;
  std::uint64_t slice_end = kNoDeadline;  // system time at which to choose again
  bool need_resched = false;              // choose again on the way back to a guest
};

struct GlobalState {
  BootInfo boot;
  HypervisorInfo info;
  DomainRegistry domains;
  MmOps* mm = nullptr;  // set once the frame table exists (mm_init)
  Scheduler scheduler;
  CpuSchedState cpus[HV_MAX_CPUS];
};

GlobalState& state();

}  // namespace hv::x86
