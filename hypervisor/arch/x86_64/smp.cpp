// smp: AP bring-up (the facts from Xen 4.17's smpboot.c and boot/trampoline.S: INIT, 10 ms,
// then two STARTUP IPIs each followed by 300 us + 200 us, ESR cleared around each; the AP
// writes 0xA5 into the trampoline first thing; the boot CPU waits up to 5 s for it to call
// in). The trampoline page is never returned to anything: memory_init keeps the first MiB
// out of the frame allocator, and nothing else writes there after the loader data is parsed.
#include "smp.hpp"

#include <atomic>
#include <bit>

#include "apic.hpp"
#include "context.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "gdt.hpp"
#include "io.hpp"
#include "ipi.hpp"
#include "layout.hpp"
#include "msr.hpp"
#include "percpu.hpp"
#include "pv_cpu_platform.hpp"
#include "syscall.hpp"
#include "time.hpp"
#include "trap_frame.hpp"

extern "C" const unsigned char trampoline_start[], trampoline_end[], trampoline_data[];
extern "C" [[noreturn]] void hv_ap_start64(unsigned cpu);

namespace hv::x86 {
namespace {

static_assert(HV_MAX_CPUS == acpi::kMaxProcessors, "the MADT list and the per-CPU arrays agree");
static_assert(HV_MAX_CPUS <= 64, "online and flush masks are 64-bit words");

// trampoline.S's data block (same order).
struct TrampolineData {
  std::uint32_t cr3, efer, cr0, cpu;
  std::uint64_t stack, entry;
  volatile std::uint8_t started;
};

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kInitAssertNs = 10'000'000;       // INIT held for 10 ms (Xen mdelay(10))
constexpr std::uint64_t kSipiSettleNs = 300'000;          // after each STARTUP IPI (Xen udelay(300))
constexpr std::uint64_t kSipiAcceptNs = 200'000;          // then once it left the APIC (udelay(200))
constexpr std::uint64_t kIcrTimeoutNs = 100'000'000;      // Xen polls 1000 x 100 us
constexpr std::uint64_t kCallinTimeoutNs = 5'000'000'000; // Xen waits 5 s for the AP
constexpr std::uint64_t kEferBits = (1u << 0) | (1u << 8) | (1u << 11);  // SCE, LME, NXE
constexpr std::uint64_t kCr0Clear = (1u << 3) | (1u << 29) | (1u << 30);  // TS, NW, CD

constinit std::atomic<std::uint64_t> online_mask{1};  // the boot CPU is online from the start
constinit std::uint64_t trampoline_paddr = 0;
constinit bool ap_bench_floor = false;  // APs install the same syscall stub as the boot CPU
constinit std::uint64_t boot_cpu_cr4 = 0;
constinit std::atomic<std::uint64_t> ap_cr4{0};  // what the last AP ended up with, for the log

void delay_ns(std::uint64_t ns) {
  const std::uint64_t start = system_time_ns();
  while (system_time_ns() - start < ns) asm volatile("pause");
}

bool overlaps(std::uint64_t a, std::uint64_t a_size, std::uint64_t b, std::uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

// The highest page below the EBDA/VGA hole that the memory map calls usable, that no
// non-usable range touches and that holds no boot module. Page 0 (the real-mode IVT and BIOS
// data) is never used; a STARTUP vector must be below 0xA0.
std::uint64_t find_trampoline_page(const BootInfo& boot) {
  for (std::uint64_t page = 0x9F000; page >= 0x1000; page -= kPage) {
    bool usable = false, clash = false;
    for (const MemoryRange& r : boot.memory.ranges()) {
      if (r.type == MemoryType::usable && r.base <= page && page + kPage <= r.end()) usable = true;
      else if (r.type != MemoryType::usable && overlaps(page, kPage, r.base, r.size)) clash = true;
    }
    for (const BootModule& m : boot.modules) clash = clash || overlaps(page, kPage, m.base, m.size);
    if (usable && !clash) return page;
  }
  return 0;
}

TrampolineData& trampoline() {
  return *static_cast<TrampolineData*>(phys_to_virt(trampoline_paddr + (trampoline_data - trampoline_start)));
}

bool install_trampoline(const BootInfo& boot) {
  const auto size = static_cast<std::uint64_t>(trampoline_end - trampoline_start);
  if (size > kPage) HV_PANIC("the AP trampoline (%lu bytes) does not fit a page", size);
  trampoline_paddr = find_trampoline_page(boot);
  if (trampoline_paddr == 0) return false;
  __builtin_memcpy(phys_to_virt(trampoline_paddr), trampoline_start, size);
  TrampolineData& data = trampoline();
  data.cr3 = static_cast<std::uint32_t>(read_cr3());  // the boot tables: below 4 GiB
  data.efer = static_cast<std::uint32_t>(rdmsr(MSR_EFER) & kEferBits);
  std::uint64_t cr0;
  asm volatile("mov %%cr0, %0" : "=r"(cr0));
  data.cr0 = static_cast<std::uint32_t>(cr0 & ~kCr0Clear);
  data.entry = reinterpret_cast<std::uint64_t>(hv_ap_start64);
  HV_INFO(cpu, "SMP: AP trampoline at %#lx (%lu bytes)", trampoline_paddr, size);
  return true;
}

// INIT, then up to two STARTUP IPIs (the second only if the first did not start the CPU).
void send_init_sipi_sipi(std::uint32_t apic_id) {
  (void)apic_read_clear_esr();
  if (!apic_send_icr(apic_id, APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, kIcrTimeoutNs) ||
      !apic_icr_idle(kIcrTimeoutNs))
    HV_WARN(cpu, "SMP: INIT to APIC id %u was not sent", apic_id);
  delay_ns(kInitAssertNs);
  // De-assert (level-triggered INIT): only older xAPICs need it, all accept it.
  (void)apic_send_icr(apic_id, APIC_INT_LEVELTRIG | APIC_DM_INIT, kIcrTimeoutNs);
  (void)apic_icr_idle(kIcrTimeoutNs);
  for (int i = 0; i < 2 && trampoline().started != HV_TRAMPOLINE_STARTED; ++i) {
    (void)apic_read_clear_esr();
    (void)apic_send_icr(apic_id, APIC_DM_STARTUP | static_cast<std::uint32_t>(trampoline_paddr >> 12), kIcrTimeoutNs);
    delay_ns(kSipiSettleNs);
    const bool sent = apic_icr_idle(kIcrTimeoutNs);
    delay_ns(kSipiAcceptNs);
    const std::uint32_t esr = apic_read_clear_esr() & 0xEF;
    if (!sent || esr != 0) {
      HV_WARN(cpu, "SMP: STARTUP IPI to APIC id %u: %s, APIC error %#x", apic_id,
              sent ? "sent" : "stuck in the APIC", esr);
      break;
    }
  }
}

// Starts `cpu` on the processor with `apic_id`; true once it reported online.
bool start_cpu(unsigned cpu, std::uint32_t apic_id) {
  CpuInfo* info = cpu_info_of(cpu);
  info->cpu_id = cpu;
  info->apic_id = apic_id;
  info->current = nullptr;
  TrampolineData& data = trampoline();
  data.cpu = cpu;
  data.stack = reinterpret_cast<std::uint64_t>(info);  // the stack grows down from CpuInfo
  data.started = 0;
  send_init_sipi_sipi(apic_id);
  const std::uint64_t start = system_time_ns();
  while (!cpu_online(cpu)) {
    if (system_time_ns() - start > kCallinTimeoutNs) {
      const bool ran = data.started == HV_TRAMPOLINE_STARTED;
      HV_ERROR(cpu, "SMP: CPU %u (APIC id %u) %s within 5 s: skipped", cpu, apic_id,
               ran ? "started but did not come online" : "did not answer the STARTUP IPI");
      // Park it in wait-for-SIPI again, so it cannot run on later with another CPU's data.
      (void)apic_send_icr(apic_id, APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT, kIcrTimeoutNs);
      (void)apic_icr_idle(kIcrTimeoutNs);
      return false;
    }
    asm volatile("pause");
  }
  HV_INFO(cpu, "CPU %u (APIC id %u) online", cpu, apic_id);
  if (ap_cr4.load(std::memory_order_acquire) != boot_cpu_cr4)
    HV_WARN(cpu, "CPU %u: CR4 %#lx differs from the boot CPU's %#lx", cpu, ap_cr4.load(), boot_cpu_cr4);
  return true;
}

// The APs to start: the MADT's processors other than this one, up to `max_cpus` in all.
void start_aps(const acpi::Madt& madt, unsigned max_cpus) {
  const std::uint32_t boot_apic = cpu_info_of(0)->apic_id;
  unsigned next = 1;
  for (const acpi::Processor& p : madt.processors) {
    if (p.apic_id == boot_apic) continue;
    if (next >= max_cpus) {
      HV_INFO(cpu, "SMP: CPU with APIC id %u left offline (maxcpus=%u)", p.apic_id, max_cpus);
      continue;
    }
    if (p.apic_id > 0xFF) {
      HV_WARN(cpu, "SMP: CPU with x2APIC id %u left offline: needs x2APIC mode", p.apic_id);
      continue;
    }
    if (start_cpu(next, p.apic_id)) ++next;
  }
}

}  // namespace

void smp_init(const PhysicalMemory& mem, const acpi::Tables& tables, const BootInfo& boot,
              const Cmdline& cmdline) {
  cpu_info_of(0)->apic_id = apic_id();
  boot_cpu_cr4 = read_cr4();
  ap_bench_floor = cmdline.flag("bench_floor");
  std::uint64_t max_cpus = cmdline.number("maxcpus").value_or(HV_MAX_CPUS);
  if (max_cpus == 0 || max_cpus > HV_MAX_CPUS) max_cpus = HV_MAX_CPUS;
  acpi::Madt madt;
  if (!acpi::read_madt(mem, tables, madt)) {
    HV_WARN(cpu, "SMP: no usable MADT, only the boot CPU runs");
  } else {
    HV_INFO(cpu, "MADT: %zu usable CPUs (%u disabled, %u beyond %u), local APIC at %#lx",
            madt.processors.size(), madt.disabled, madt.dropped, HV_MAX_CPUS, madt.lapic_address);
    if (max_cpus > 1 && madt.processors.size() > 1) {
      if (install_trampoline(boot)) start_aps(madt, static_cast<unsigned>(max_cpus));
      else HV_WARN(cpu, "SMP: no free page below 1 MiB for the AP trampoline");
    }
  }
  HV_INFO(cpu, "SMP: %u CPUs online", cpu_online_count());
}

unsigned this_cpu() { return get_cpu_info()->cpu_id; }

bool cpu_online(unsigned cpu) {
  return cpu < HV_MAX_CPUS && (online_mask.load(std::memory_order_acquire) >> cpu & 1) != 0;
}

unsigned cpu_online_count() { return static_cast<unsigned>(std::popcount(online_mask.load(std::memory_order_acquire))); }

std::uint64_t cpu_online_mask() { return online_mask.load(std::memory_order_acquire); }


}  // namespace hv::x86

// trampoline.S lands here, on the AP's own stack (below its CpuInfo), interrupts off, on
// the boot page tables, with the trampoline's GDT. The boot CPU filled CpuInfo.cpu_id/apic_id.
extern "C" [[noreturn]] void hv_ap_start64(unsigned cpu) {
  using namespace hv::x86;
  gdt_init(cpu);
  idt_load();
  syscall_init(cpu, ap_bench_floor);
  fpu_init();
  apic_init_ap();
  if (apic_id() != get_cpu_info()->apic_id) HV_PANIC("CPU %u woke with APIC id %u, not the MADT's", cpu, apic_id());
  ap_cr4.store(read_cr4(), std::memory_order_release);
  online_mask.fetch_or(std::uint64_t{1} << cpu, std::memory_order_release);
  ap_schedule_loop();  // (services IPIs, e.g. self-test pings, until scheduling starts)
}
