// timer_irq: each CPU's timer queue (state().cpus[cpu].timers) driven by its local APIC
// timer. The APIC is always armed for the earlier of the queue's first deadline and the end
// of the CPU's scheduling slice; its interrupt fires every due vCPU timer (VIRQ_TIMER through
// the event channels, which wakes a blocked vCPU) and, at the slice end, asks the scheduler
// to choose again. An idle CPU halts until its next deadline or an IPI.
#pragma once
#include "core/domain.hpp"
#include "core/timer.hpp"
#include "trap_frame.hpp"

namespace hv::x86 {

// Enables the APIC timer and installs every CPU queue's hook (after time_init, before any
// vCPU runs).
void timer_init();

// Arms this CPU's APIC timer for its earliest deadline (queue or slice end).
void rearm_cpu_timer();

// Xen's context-switch timer work: `v` leaves / joins this CPU (periodic timer stopped /
// re-armed, possibly sending its event at once; its one-shot timers move to this CPU).
void timer_switch_out(Vcpu& v);
void timer_switch_in(Vcpu& v);

// Whether a vCPU of a domain still running has a timer armed, i.e. something can still wake
// a blocked vCPU without help from a running one.
bool timer_can_wake_someone();

// Called with the hypervisor lock held and no current vCPU: releases the lock, halts with
// interrupts enabled until the timer or an IPI, retakes the lock and fires what is due.
void idle_until_interrupt();

// The end of an interrupt handler that took the hypervisor lock on a guest's behalf: choose
// again if needed, deliver a pending NMI and event upcall, release the lock, return to guest.
void resume_after_interrupt();

}  // namespace hv::x86
