/* apic: the boot CPU's local APIC (xAPIC MMIO through the direct map): software enable,
 * spurious vector, EOI, and its timer in one-shot mode, calibrated against the TSC. The
 * timer is only ever armed for the next deadline (no fixed tick). Shared with entry.S for
 * the vector numbers. */
#pragma once

#define HV_VECTOR_APIC_TIMER 0xf0 /* Xen uses the top vectors for its own interrupts too */
#define HV_VECTOR_SPURIOUS 0xff   /* low nibble all ones: required on older APICs */

#ifndef __ASSEMBLER__
#include <cstdint>

namespace hv::x86 {

// Enables the local APIC and measures its timer's rate against the TSC (time_init must have
// run). The timer is left stopped.
void apic_init();

// Arms the one-shot timer to interrupt `delta_ns` from now (at least one tick, so a deadline
// already passed interrupts at once); ~0 stops it. A delta longer than the 32-bit counter
// reaches interrupts early, and the caller re-arms for the rest.
void apic_timer_arm(std::uint64_t delta_ns);

void apic_eoi();

}  // namespace hv::x86
#endif
