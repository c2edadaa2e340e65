// timer_irq: the CPU's timer queue driven by the local APIC timer. The APIC is always armed
// for the queue's earliest deadline (reprogrammed whenever that changes); its interrupt fires
// every due vCPU timer (VIRQ_TIMER through the event channels, which wakes a blocked vCPU)
// and reschedules. When no vCPU can run, the CPU halts until the next deadline.
#pragma once
#include "core/domain.hpp"
#include "core/timer.hpp"

namespace hv::x86 {

// Enables the APIC timer and its queue (after time_init, before any vCPU runs).
void timer_init();

// This CPU's queue (vCPUs join it when scheduled).
TimerQueue& cpu_timer_queue();

// Xen's context-switch timer work: `v` leaves / joins this CPU (periodic timer stopped /
// re-armed, possibly sending its event at once).
void timer_switch_out(Vcpu& v);
void timer_switch_in(Vcpu& v);

// Whether a vCPU of a domain still running has a timer armed, i.e. something can still wake
// a blocked vCPU without help from a running one.
bool timer_can_wake_someone();

// Halts with interrupts enabled until the timer interrupt, then fires what is due. Called
// only when no vCPU is runnable and timer_can_wake_someone().
void idle_until_timer();

}  // namespace hv::x86
