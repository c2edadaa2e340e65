// selftest_smp: the multi-CPU self-tests. ipi measures the bare IPI round trip between CPU 0
// and CPU 1; flush proves the TLB shootdown: CPU 1 caches a translation of a probe VA, CPU 0
// repoints the PTE and calls flush_tlb_cpus, and CPU 1 must then read through the new one,
// also while it spins with interrupts off (the wait-loop rule of ipi.hpp). Both end the
// machine with success or failure.
#include <atomic>
#include <cstdint>

#include "core/log.hpp"
#include "io.hpp"
#include "ipi.hpp"
#include "layout.hpp"
#include "power.hpp"
#include "selftest.hpp"
#include "smp.hpp"
#include "time.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kPresent = 1, kWritable = 2;
constexpr unsigned kProbeSlot = 270;  // an L4 slot of the hypervisor's range nothing uses
constexpr std::uint64_t kProbeVa = 0xFFFF000000000000ull | (std::uint64_t{kProbeSlot} << 39);
constexpr std::uint64_t kValueA = 0xAAAA'AAAA'0000'0001, kValueB = 0xBBBB'BBBB'0000'0002;

struct alignas(4096) ProbeTables {
  std::uint64_t l3[512], l2[512], l1[512];
  std::uint64_t page_a[512], page_b[512];
};
constinit ProbeTables probe;

struct RemoteRead {
  std::atomic<std::uint64_t> value{0};
  std::atomic<bool> release{false};  // spin_then_read waits for it with interrupts off
  std::atomic<bool> done{false};
};

std::uint64_t phys(const void* p) { return reinterpret_cast<std::uint64_t>(p) - HV_KERNEL_VIRT_BASE; }

std::uint64_t* live_l4() { return static_cast<std::uint64_t*>(phys_to_virt(read_cr3() & ~0xFFFull)); }

void read_probe(void* arg) {
  static_cast<RemoteRead*>(arg)->value.store(*reinterpret_cast<volatile std::uint64_t*>(kProbeVa));
}

// Runs on CPU 1 from its call IPI (interrupts off): spins, serving flush requests, until
// CPU 0 releases it, then reads the probe.
void spin_then_read(void* arg) {
  auto* r = static_cast<RemoteRead*>(arg);
  while (!r->release.load(std::memory_order_acquire)) IpiRelax::relax();
  read_probe(arg);
  r->done.store(true, std::memory_order_release);
}

std::uint64_t read_on_cpu1() {
  RemoteRead r;
  if (!run_on_cpu(1, read_probe, &r, true)) {
    HV_ERROR(boot, "flush: CPU 1 did not run the probe read");
    power_off(ExitStatus::failure);
  }
  return r.value.load();
}

void expect(bool ok, const char* what) {
  if (ok) return;
  HV_ERROR(boot, "flush: FAILED: %s", what);
  power_off(ExitStatus::failure);
}

[[noreturn]] void selftest_flush() {
  expect(cpu_online_count() >= 2, "needs at least 2 CPUs online");
  probe.page_a[0] = kValueA;
  probe.page_b[0] = kValueB;
  probe.l3[0] = phys(probe.l2) | kPresent | kWritable;
  probe.l2[0] = phys(probe.l1) | kPresent | kWritable;
  probe.l1[0] = phys(probe.page_a) | kPresent | kWritable;
  live_l4()[kProbeSlot] = phys(probe.l3) | kPresent | kWritable;
  expect(read_on_cpu1() == kValueA, "CPU 1 does not read page A through the new mapping");

  probe.l1[0] = phys(probe.page_b) | kPresent | kWritable;
  const std::uint64_t stale = read_on_cpu1();  // may still be A: CPU 1 cached the translation
  HV_INFO(boot, "flush: before the shootdown CPU 1 reads %s", stale == kValueA ? "page A (stale TLB)" : "page B");
  flush_tlb_cpus(cpu_online_mask(), kProbeVa);
  expect(read_on_cpu1() == kValueB, "CPU 1 still reads page A after flush_tlb_cpus(va)");

  // CPU 1 spins with interrupts off; the flush completes only through its wait loop.
  probe.l1[0] = phys(probe.page_a) | kPresent | kWritable;
  RemoteRead r;
  expect(run_on_cpu(1, spin_then_read, &r, false), "CPU 1 did not take the call");
  flush_tlb_cpus(std::uint64_t{1} << 1, kFlushAll);
  r.release.store(true, std::memory_order_release);
  const std::uint64_t start = system_time_ns();
  while (!r.done.load(std::memory_order_acquire) && system_time_ns() - start < 1'000'000'000) asm volatile("pause");
  expect(r.done.load() && r.value.load() == kValueA, "CPU 1 spinning with interrupts off missed the full flush");

  live_l4()[kProbeSlot] = 0;
  flush_tlb_cpus(cpu_online_mask(), kFlushAll);
  HV_INFO(boot, "flush: CPU 1 sees the new mapping after flush_tlb_cpus (single VA, and full while spinning)");
  power_off(ExitStatus::success);
}

[[noreturn]] void selftest_ipi() { power_off(report_ipi_round_trip() ? ExitStatus::success : ExitStatus::failure); }

}  // namespace

bool report_ipi_round_trip() {
  if (cpu_online_count() < 2) {
    HV_ERROR(boot, "ipi: needs at least 2 CPUs online");
    return false;
  }
  IpiRoundTrip r{};
  if (!measure_ipi_round_trip(1, 1000, r)) {
    HV_ERROR(boot, "ipi: CPU 1 stopped answering");
    return false;
  }
  HV_INFO(boot, "ipi: round trip median %lu ns mean %lu ns (%u samples)", r.median_ns, r.mean_ns, r.samples);
  HV_INFO(boot, "ipi: round trip median %lu cycles mean %lu cycles (TSC %lu kHz)", r.median_cycles,
          r.mean_cycles, tsc_hz() / 1000);
  return true;
}

bool run_smp_selftest(std::string_view which) {
  if (which == "ipi") selftest_ipi();
  if (which == "flush") selftest_flush();
  return false;
}

}  // namespace hv::x86
