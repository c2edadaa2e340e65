// smp: starting the application processors (APs) the MADT lists, and which CPUs are online.
// CPU numbers are dense: the boot CPU is 0, each AP that comes online takes the next one.
// A CPU that does not answer is reported and skipped; bring-up never hangs.
#pragma once
#include <cstdint>

#include "core/acpi.hpp"
#include "core/boot_info.hpp"
#include "core/cmdline.hpp"
#include "core/physical_memory.hpp"

namespace hv::x86 {

// Starts the APs one at a time with INIT-SIPI-SIPI through a real-mode trampoline in a free
// page below 1 MiB, up to `maxcpus=N` (Xen's option) and HV_MAX_CPUS. Each AP gets its GDT
// and TSS, the shared IDT, its syscall stub, FPU/XSAVE and its local APIC (timer stopped),
// then waits in context's ap_schedule_loop. Logs "SMP: N CPUs online". Call after timer_init (the APs use
// its calibration), on the boot CPU, with interrupts off.
void smp_init(const PhysicalMemory& mem, const acpi::Tables& tables, const BootInfo& boot,
              const Cmdline& cmdline);

// This CPU's number (CpuInfo.cpu_id, found from the stack).
unsigned this_cpu();
bool cpu_online(unsigned cpu);
unsigned cpu_online_count();
// Bit n set: CPU n is online.
std::uint64_t cpu_online_mask();


}  // namespace hv::x86
