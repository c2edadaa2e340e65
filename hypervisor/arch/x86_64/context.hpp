// context: which vCPU runs on this CPU. Switching saves the outgoing vCPU's registers from
// the per-CPU frame, loads the incoming one's and its page-table root, and resumes it. Every
// function here is called with no lock held, and none holds one while a guest runs.
#pragma once
#include "core/domain.hpp"

namespace hv::x86 {

// Installs the vCPU notifier (core/vcpu_kick: wake-ups go to the scheduler, kicks become
// IPIs) and tells the scheduler which CPUs are online. After smp_init, before any domain is
// built.
void context_init();

// The boot CPU, once the boot domains are built: every CPU starts scheduling (the APs wait
// for this), and this one enters its idle loop. Never returns.
[[noreturn]] void start_scheduling();

// An AP's life once it is online: waits for start_scheduling, then schedules. Never returns.
[[noreturn]] void ap_schedule_loop();

// Runs `vcpu` on this CPU from its saved registers.
[[noreturn]] void run_vcpu(Vcpu& vcpu);

// Called on the way back to a guest: if the current vCPU can no longer run, has yielded, or
// this CPU was asked to choose again, the scheduler decides; returns only when the current
// vCPU continues. When no vCPU can run anywhere, ends the machine.
void reschedule_if_needed();

// This CPU has no current vCPU: runs what the scheduler picks, halting while there is none.
[[noreturn]] void idle_loop();

// The last step before resuming the current vCPU from the per-CPU frame (guest_entry.cpp):
// a pending, unmasked upcall is bounced to its event callback, as Xen's test_guest_events.
// If that crashes the domain, something else is scheduled instead.
void deliver_events_on_resume(Vcpu& vcpu);

}  // namespace hv::x86
