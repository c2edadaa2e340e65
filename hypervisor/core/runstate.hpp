// Runstate accounting (Xen's vcpu_runstate_change / update_runstate_area): each vCPU keeps
// the nanoseconds of system time it spent running, runnable, blocked and offline, and the
// guest may register a vcpu_runstate_info in its own memory that the hypervisor rewrites
// whenever the vCPU is scheduled (Linux's steal-time accounting reads it; Linux BUG()s when
// the registration fails).
#pragma once
#include <cstdint>
#include <pv/vcpu.hpp>

namespace hv {

class GuestMemory;

struct VcpuRunstate {
  pv::vcpu_runstate_info info{pv::RUNSTATE_offline, 0, 0, {}};
  std::uint64_t guest_area = 0;  // VCPUOP_register_runstate_memory_area (0: none)
};

// Moves to `state` at system time `now`: the time since the last change goes to the old
// state. A clock that reads earlier than the entry time (never expected) adds nothing.
void runstate_change(VcpuRunstate& r, int state, std::uint64_t now);

// The accounting as of `now` (Xen's vcpu_runstate_get for the running vCPU: the current
// state's time includes the period still in progress).
pv::vcpu_runstate_info runstate_snapshot(const VcpuRunstate& r, std::uint64_t now);

// Rewrites the guest's registered copy through `memory` (the vCPU's own address space).
// With VMASST_TYPE_runstate_update_flag, state_entry_time carries XEN_RUNSTATE_UPDATE while
// the copy is in flux, as Xen writes it. A copy that faults is skipped, as in Xen.
void update_runstate_area(const VcpuRunstate& r, GuestMemory& memory, bool update_flag);

}  // namespace hv
