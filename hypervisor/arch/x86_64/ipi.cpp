// ipi: the IPI handlers (entered from entry.S's ipi_stub) and the protocols on top of them.
// Every handler sends its EOI first: its vector and the flush vector share the APIC's top
// priority class, so a handler that waits for another CPU must not keep the flush vector
// blocked (it serves flush requests from its wait loop anyway, with interrupts off).
#include "ipi.hpp"

#include <atomic>

#include "apic.hpp"
#include "context.hpp"
#include "core/panic.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "percpu.hpp"
#include "smp.hpp"
#include "time.hpp"
#include "timer_irq.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kIcrTimeoutNs = 100'000'000;
constexpr std::uint64_t kAckTimeoutNs = 1'000'000'000;  // a CPU that needs longer is broken
constexpr std::uint64_t kCr4Pge = 1u << 7;
constexpr unsigned kMaxSamples = 1000;

struct CallSlot {
  std::atomic<void (*)(void*)> fn{nullptr};
  void* arg = nullptr;
  std::atomic<bool> done{false};
};

constinit CallSlot call_slots[HV_MAX_CPUS];
constinit std::atomic<unsigned> ping_reply_to[HV_MAX_CPUS];  // CPU + 1 to answer, 0: none
constinit std::atomic<std::uint64_t> pings_received[HV_MAX_CPUS];
constinit std::uint64_t round_trip_cycles[kMaxSamples];

std::uint64_t irq_save() {
  std::uint64_t flags;
  asm volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
  return flags;
}

void irq_restore(std::uint64_t flags) {
  if (flags & (1u << 9)) asm volatile("sti" ::: "memory");
}

// A request word: the page of `va` with bit 0 set (so VA 0 is a request too), or kFlushAll.
std::uint64_t merge_request(std::uint64_t posted, std::uint64_t va) {
  const std::uint64_t mine = va == kFlushAll ? kFlushAll : (va & ~0xFFFull) | 1;
  return posted == 0 || posted == mine ? mine : kFlushAll;
}

// Posts `va` to `target`; returns the ticket its flush_done must reach.
std::uint64_t post_flush(CpuInfo& target, std::uint64_t va) {
  std::uint64_t posted = target.flush_request.load(std::memory_order_relaxed);
  while (!target.flush_request.compare_exchange_weak(posted, merge_request(posted, va), std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
  }
  // The ticket is taken after the request is visible: whoever sees the ticket sees it.
  return target.flush_seq.fetch_add(1, std::memory_order_acq_rel) + 1;
}

// Spins until `flag` holds `want`, serving flush requests; false after kAckTimeoutNs.
bool wait_for(const std::atomic<bool>& flag, bool want) {
  const std::uint64_t start = system_time_ns();
  while (flag.load(std::memory_order_acquire) != want) {
    if (system_time_ns() - start > kAckTimeoutNs) return false;
    IpiRelax::relax();
  }
  return true;
}

std::uint64_t median_of(std::uint64_t* v, unsigned n) {
  for (unsigned i = 1; i < n; ++i)  // insertion sort: 1000 samples, once
    for (unsigned j = i; j > 0 && v[j - 1] > v[j]; --j) {
      const std::uint64_t t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::uint64_t cycles_to_ns(std::uint64_t cycles) {
  return static_cast<std::uint64_t>(static_cast<unsigned __int128>(cycles) * 1'000'000'000u / tsc_hz());
}

}  // namespace

void send_ipi(unsigned cpu, std::uint8_t vector) {
  if (!cpu_online(cpu)) HV_PANIC("IPI %#x to CPU %u, which is not online", vector, cpu);
  const std::uint64_t flags = irq_save();  // an interrupt between the two ICR writes would send its own IPI
  const bool sent = apic_send_icr(cpu_info_of(cpu)->apic_id, APIC_DM_FIXED | APIC_INT_ASSERT | vector, kIcrTimeoutNs);
  irq_restore(flags);
  if (!sent) HV_PANIC("IPI %#x to CPU %u: the local APIC stayed busy", vector, cpu);
}

void flush_tlb_local(std::uint64_t va) {
  if (va != kFlushAll) {
    asm volatile("invlpg (%0)" ::"r"(va) : "memory");
    return;
  }
  const std::uint64_t cr4 = read_cr4();
  if (cr4 & kCr4Pge) {  // toggling PGE flushes global entries too
    write_cr4(cr4 & ~kCr4Pge);
    write_cr4(cr4);
  } else {
    asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
  }
}

void flush_tlb_cpus(std::uint64_t cpu_mask, std::uint64_t va) {
  const unsigned self = this_cpu();
  cpu_mask &= cpu_online_mask();
  if (cpu_mask >> self & 1) flush_tlb_local(va);
  cpu_mask &= ~(std::uint64_t{1} << self);
  std::uint64_t tickets[HV_MAX_CPUS] = {};
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu) {
    if (!(cpu_mask >> cpu & 1)) continue;
    tickets[cpu] = post_flush(*cpu_info_of(cpu), va);
    send_ipi(cpu, HV_VECTOR_FLUSH);
  }
  const std::uint64_t start = system_time_ns();
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu) {
    if (!(cpu_mask >> cpu & 1)) continue;
    const CpuInfo& target = *cpu_info_of(cpu);
    while (target.flush_done.load(std::memory_order_acquire) < tickets[cpu]) {
      if (system_time_ns() - start > kAckTimeoutNs)
        HV_PANIC("TLB flush: CPU %u did not acknowledge request %lu (va %#lx) within 1 s", cpu, tickets[cpu], va);
      IpiRelax::relax();
    }
  }
}

void service_ipi_requests() {
  CpuInfo* info = get_cpu_info();
  if (info->flush_done.load(std::memory_order_relaxed) == info->flush_seq.load(std::memory_order_relaxed)) return;
  // Interrupts off while serving: a nested flush IPI serving a newer ticket first would let
  // this one publish an older ticket after it.
  const std::uint64_t flags = irq_save();
  const std::uint64_t ticket = info->flush_seq.load(std::memory_order_acquire);
  const std::uint64_t request = info->flush_request.exchange(0, std::memory_order_acq_rel);
  if (request != 0) flush_tlb_local(request == kFlushAll ? kFlushAll : request & ~0xFFFull);
  if (ticket > info->flush_done.load(std::memory_order_relaxed))
    info->flush_done.store(ticket, std::memory_order_release);
  irq_restore(flags);
}

void IpiRelax::relax() {
  asm volatile("pause");
  service_ipi_requests();
}

bool run_on_cpu(unsigned cpu, void (*fn)(void*), void* arg, bool wait) {
  CallSlot& slot = call_slots[cpu];
  if (slot.fn.load(std::memory_order_acquire) != nullptr) HV_PANIC("run_on_cpu: CPU %u has a call pending", cpu);
  slot.arg = arg;
  slot.done.store(false, std::memory_order_relaxed);
  slot.fn.store(fn, std::memory_order_release);  // publishes arg with it
  send_ipi(cpu, HV_VECTOR_CALL);
  return !wait || wait_for(slot.done, true);
}

bool measure_ipi_round_trip(unsigned target, unsigned samples, IpiRoundTrip& out) {
  const unsigned self = this_cpu();
  if (target == self || !cpu_online(target)) return false;
  if (samples > kMaxSamples) samples = kMaxSamples;
  ping_reply_to[self].store(0, std::memory_order_relaxed);
  ping_reply_to[target].store(self + 1, std::memory_order_release);
  const std::uint64_t flags = irq_save();
  bool answered = true;
  std::uint64_t sum = 0;
  for (unsigned i = 0; i < samples && answered; ++i) {
    const std::uint64_t before = pings_received[self].load(std::memory_order_acquire);
    const std::uint64_t start_ns = system_time_ns();
    const std::uint64_t t0 = rdtsc();
    send_ipi(target, HV_VECTOR_PING);
    asm volatile("sti" ::: "memory");  // the answer is an interrupt to this CPU
    while (pings_received[self].load(std::memory_order_acquire) == before && answered) {
      answered = system_time_ns() - start_ns < kAckTimeoutNs;
      asm volatile("pause");
    }
    asm volatile("cli" ::: "memory");
    round_trip_cycles[i] = rdtsc() - t0;
    sum += round_trip_cycles[i];
  }
  irq_restore(flags);
  ping_reply_to[target].store(0, std::memory_order_release);
  if (!answered) return false;
  out.samples = samples;
  out.mean_cycles = samples ? sum / samples : 0;
  out.median_cycles = samples ? median_of(round_trip_cycles, samples) : 0;
  out.mean_ns = cycles_to_ns(out.mean_cycles);
  out.median_ns = cycles_to_ns(out.median_cycles);
  return true;
}

}  // namespace hv::x86

// entry.S, HV_VECTOR_PING: counts, and answers when a measurement asked this CPU to.
extern "C" void hv_ipi_ping(hv::x86::TrapFrame*) {
  using namespace hv::x86;
  apic_eoi();
  const unsigned self = this_cpu();
  pings_received[self].fetch_add(1, std::memory_order_acq_rel);
  const unsigned reply = ping_reply_to[self].load(std::memory_order_acquire);
  if (reply != 0) send_ipi(reply - 1, HV_VECTOR_PING);
}

// entry.S, HV_VECTOR_CALL: runs the posted function (interrupts stay off).
extern "C" void hv_ipi_call(hv::x86::TrapFrame*) {
  using namespace hv::x86;
  apic_eoi();
  CallSlot& slot = call_slots[this_cpu()];
  void (*fn)(void*) = slot.fn.load(std::memory_order_acquire);
  if (fn == nullptr) return;
  void* arg = slot.arg;
  slot.fn.store(nullptr, std::memory_order_release);
  fn(arg);
  slot.done.store(true, std::memory_order_release);
}

// entry.S, HV_VECTOR_EVENT_CHECK: "look at your state". From the idle loop (ring 0) only the
// EOI: the loop re-checks after its hlt. From a guest: re-arm this CPU's timer (another CPU
// may have changed its queue), then as after the timer interrupt: reschedule if asked to or
// if this vCPU may no longer run, else deliver a pending NMI or event.
extern "C" void hv_ipi_event_check(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  apic_eoi();
  if (interrupted_vcpu(f) == nullptr) return;
  rearm_cpu_timer();
  resume_after_interrupt();
}

// entry.S, HV_VECTOR_FLUSH: wherever it lands (guest, idle, a hypervisor wait loop with
// interrupts briefly on), the flush and its acknowledgement are all there is to do.
extern "C" void hv_ipi_flush(hv::x86::TrapFrame*) {
  hv::x86::apic_eoi();
  hv::x86::service_ipi_requests();
}
