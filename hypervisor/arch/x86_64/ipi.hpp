// ipi: inter-processor interrupts (vectors in layout.hpp): kicks, TLB shootdown, running a
// function on another CPU, and the IPI round-trip measurement. The shootdown rule: a CPU
// that waits for another (a spin lock, a flush acknowledgement) has interrupts off, so every
// wait loop calls service_ipi_requests(); otherwise two CPUs flushing each other, or a lock
// holder flushing a CPU spinning on its lock, would wait for each other forever.
#pragma once
#include <cstdint>

#include "core/spinlock.hpp"

namespace hv::x86 {

// Sends `vector` to online CPU `cpu` (fixed delivery, physical destination), after the
// previous IPI left this CPU's APIC. Any context; panics if the APIC never accepts it.
void send_ipi(unsigned cpu, std::uint8_t vector);

// The `va` of flush_tlb_cpus that flushes every non-global and global translation.
inline constexpr std::uint64_t kFlushAll = ~std::uint64_t{0};

// Flushes `va`'s translation (or everything, kFlushAll) on every online CPU in `cpu_mask`
// (bit n: CPU n) and returns once each has done so: this CPU locally, the others through
// HV_VECTOR_FLUSH. Requests to one CPU merge (two different VAs become a full flush).
// Panics if a CPU has not acknowledged within 1 s of system time.
void flush_tlb_cpus(std::uint64_t cpu_mask, std::uint64_t va);
void flush_tlb_local(std::uint64_t va);

// Performs and acknowledges the flush requests posted to this CPU. Called by the flush IPI,
// the AP idle loop, and every loop that spins waiting for another CPU.
void service_ipi_requests();

// Runs fn(arg) on `cpu` from its HV_VECTOR_CALL handler (interrupts off there). With `wait`
// returns once fn has returned; false if it did not within 1 s. One call at a time per
// target; the target must be able to take the interrupt (idle, or running a guest).
bool run_on_cpu(unsigned cpu, void (*fn)(void*), void* arg, bool wait);

// The bare IPI round trip from this CPU to `target` and back (HV_VECTOR_PING answered from
// the handler), `samples` times (at most 1000). Interrupts are enabled on this CPU while it
// waits for each answer. False if `target` is not online or stops answering.
struct IpiRoundTrip {
  std::uint64_t median_ns, mean_ns;
  std::uint64_t median_cycles, mean_cycles;
  unsigned samples;
};
bool measure_ipi_round_trip(unsigned target, unsigned samples, IpiRoundTrip& out);

// The hypervisor's spin-lock wait: pause, and serve flush requests (see above); installed
// as every SpinLock's relax hook (core/spinlock.hpp).
struct IpiRelax {
  static void relax();
};

}  // namespace hv::x86
