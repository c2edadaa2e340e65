// time: the machine's clock. At boot the TSC is calibrated against a reference the machine
// offers and the CMOS RTC is read once; from then on system time is ns since boot computed
// from the TSC, and every vCPU's vcpu_time_info and every domain's wall clock are published
// into shared_info with the version protocol (core/pvclock). Guests divide by what we write:
// tsc_to_system_mul is never 0 once time_init has run.
#pragma once
#include <cstdint>

#include "core/boot_info.hpp"
#include "core/domain.hpp"
#include "core/physical_memory.hpp"

namespace hv::x86 {

// Calibrates the TSC (ACPI PM timer, else PIT channel 2, else CPUID 0x15/0x16), reads the
// RTC for the wall clock, and logs both. Panics when no reference gives a frequency.
void time_init(const PhysicalMemory& mem, const BootInfo& boot);

// ns since boot (Xen's NOW()).
std::uint64_t system_time_ns();

// TSC frequency in Hz, as calibrated.
std::uint64_t tsc_hz();

// Publishes a fresh time record into the vCPU's vcpu_info (nothing before it has one). Called
// before a vCPU first runs and whenever it is scheduled onto a CPU.
void update_vcpu_time(Vcpu& vcpu);

// Publishes the wall clock (UTC at system time 0) into the domain's shared_info.
void publish_domain_wallclock(Domain& domain);

}  // namespace hv::x86
