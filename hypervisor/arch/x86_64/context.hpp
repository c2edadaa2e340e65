// context: which vCPU runs on this CPU. Switching saves the outgoing vCPU's registers from
// the per-CPU frame, loads the incoming one's and its page-table root, and resumes it.
#pragma once
#include "core/domain.hpp"

namespace hv::x86 {

// Runs `vcpu` on this CPU from its saved registers; never returns.
[[noreturn]] void run_vcpu(Vcpu& vcpu);

// Called on the way back to a guest: if the current vCPU can no longer run, saves it and
// runs another one; when no vCPU can run anywhere, ends the machine. Returns only when the
// current vCPU continues.
void reschedule_if_needed();

// The last step before resuming the current vCPU from the per-CPU frame (guest_entry.cpp):
// a pending, unmasked upcall is bounced to its event callback, as Xen's test_guest_events.
// If that crashes the domain, something else is scheduled instead.
void deliver_events_on_resume(Vcpu& vcpu);

}  // namespace hv::x86
