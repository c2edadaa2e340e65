/* apic: each CPU's local APIC (xAPIC MMIO through the direct map; every CPU sees its own
 * APIC at the same address): software enable, spurious vector, EOI, the interrupt command
 * register for IPIs, and the timer in one-shot mode, calibrated against the TSC once (on the
 * boot CPU) for all. The timer is only ever armed for the next deadline (no fixed tick).
 * Shared with entry.S for the vector numbers. */
#pragma once

#define HV_VECTOR_APIC_TIMER 0xf0 /* Xen uses the top vectors for its own interrupts too */
#define HV_VECTOR_SPURIOUS 0xff   /* low nibble all ones: required on older APICs */

#ifndef __ASSEMBLER__
#include <cstdint>

namespace hv::x86 {

// Boot CPU: enables its local APIC and measures the timer's rate against the TSC (time_init
// must have run). The timer is left stopped.
void apic_init();

// Application processors: enables this CPU's local APIC like apic_init, with the rate the
// boot CPU measured (all APIC timers share the bus clock). The timer is left stopped.
void apic_init_ap();

// This CPU's local APIC id (xAPIC: 8 bits).
std::uint32_t apic_id();

// Interrupt command register (xAPIC: high word = destination << 24, the low word's write
// sends). Delivery modes and flags as the SDM names them.
inline constexpr std::uint32_t APIC_DM_FIXED = 0x000, APIC_DM_INIT = 0x500, APIC_DM_STARTUP = 0x600;
inline constexpr std::uint32_t APIC_INT_ASSERT = 1u << 14, APIC_INT_LEVELTRIG = 1u << 15;

// Waits (bounded by `timeout_ns`) for the previous command to leave the APIC, then sends
// `low` to `dest_apic_id`; false if the APIC stayed busy. Interrupts must be off (the two
// register writes are one operation).
bool apic_send_icr(std::uint32_t dest_apic_id, std::uint32_t low, std::uint64_t timeout_ns);

// Waits (bounded) until the last command has been accepted; false if it stayed pending.
bool apic_icr_idle(std::uint64_t timeout_ns);

// Clears and returns the error status register (send/accept errors of the last command).
std::uint32_t apic_read_clear_esr();

// Arms the one-shot timer to interrupt `delta_ns` from now (at least one tick, so a deadline
// already passed interrupts at once); ~0 stops it. A delta longer than the 32-bit counter
// reaches interrupts early, and the caller re-arms for the rest.
void apic_timer_arm(std::uint64_t delta_ns);

void apic_eoi();

}  // namespace hv::x86
#endif
