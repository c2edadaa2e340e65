// apic: local APIC set-up, EOI, IPIs and the one-shot timer. The timer's input clock is
// unknown (bus clock / divider; QEMU and real boards differ), so it is measured against the
// TSC once at boot, on the boot CPU; the other CPUs reuse the figure. Rounding may make an
// interrupt come a little early: the timer code only fires deadlines that have really passed
// and re-arms for the rest, so early is never visible.
#include "apic.hpp"

#include "core/log.hpp"
#include "core/panic.hpp"
#include "layout.hpp"
#include "msr.hpp"
#include "time.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint32_t kMsrApicBase = 0x1B;
constexpr std::uint64_t kApicBaseEnable = 1u << 11;
constexpr std::uint32_t kRegId = 0x20, kRegEoi = 0xB0, kRegSvr = 0xF0, kRegEsr = 0x280;
constexpr std::uint32_t kRegIcrLow = 0x300, kRegIcrHigh = 0x310, kRegLvtTimer = 0x320;
constexpr std::uint32_t kIcrBusy = 1u << 12;  // delivery status: send pending
constexpr std::uint32_t kRegInitialCount = 0x380, kRegCurrentCount = 0x390, kRegDivide = 0x3E0;
constexpr std::uint32_t kSvrEnable = 1u << 8, kLvtMasked = 1u << 16;
constexpr std::uint32_t kDivideBy16 = 0x3;
constexpr std::uint64_t kCalibrationNs = 10'000'000;  // 10 ms

volatile std::uint32_t* apic_regs = nullptr;
std::uint64_t apic_timer_hz = 0;  // counter ticks per second at divide-by-16

std::uint32_t read_reg(std::uint32_t reg) { return apic_regs[reg / 4]; }
void write_reg(std::uint32_t reg, std::uint32_t value) { apic_regs[reg / 4] = value; }

// The per-CPU half of apic_init: software enable, spurious vector, timer one-shot and masked.
void enable_local_apic() {
  const std::uint64_t base = rdmsr(kMsrApicBase);
  if (!(base & kApicBaseEnable)) wrmsr(kMsrApicBase, base | kApicBaseEnable);
  const std::uint64_t paddr = base & 0x000FFFFFFFFFF000ull;
  if (paddr >= HV_BOOT_DIRECTMAP_SIZE) HV_PANIC("local APIC at %#lx is outside the direct map", paddr);
  auto* regs = static_cast<volatile std::uint32_t*>(phys_to_virt(paddr));
  if (apic_regs != nullptr && regs != apic_regs) HV_PANIC("local APIC at %#lx, the boot CPU's elsewhere", paddr);
  apic_regs = regs;
  write_reg(kRegSvr, kSvrEnable | HV_VECTOR_SPURIOUS);
  write_reg(kRegDivide, kDivideBy16);
  write_reg(kRegLvtTimer, kLvtMasked | HV_VECTOR_APIC_TIMER);  // one-shot mode (bits 17-18 = 0)
}

}  // namespace

void apic_init() {
  enable_local_apic();
  // Count down from the top for 10 ms of system time.
  write_reg(kRegInitialCount, 0xFFFFFFFFu);
  const std::uint64_t start = system_time_ns();
  std::uint64_t now = start;
  while ((now = system_time_ns()) - start < kCalibrationNs) asm volatile("pause");
  const std::uint32_t left = read_reg(kRegCurrentCount);
  write_reg(kRegInitialCount, 0);
  const std::uint64_t ticks = 0xFFFFFFFFu - left;
  apic_timer_hz = static_cast<std::uint64_t>((static_cast<unsigned __int128>(ticks) * 1'000'000'000u) / (now - start));
  if (apic_timer_hz == 0) HV_PANIC("local APIC timer does not count");
  write_reg(kRegLvtTimer, HV_VECTOR_APIC_TIMER);  // unmasked; armed only by apic_timer_arm
  HV_INFO(cpu, "local APIC at %#lx, timer %lu kHz (divide 16, one-shot)",
          reinterpret_cast<std::uint64_t>(apic_regs) - HV_DIRECTMAP_BASE, apic_timer_hz / 1000);
}

void apic_init_ap() {
  if (apic_timer_hz == 0) HV_PANIC("apic_init_ap before the boot CPU calibrated the timer");
  enable_local_apic();
  write_reg(kRegInitialCount, 0);
  write_reg(kRegLvtTimer, HV_VECTOR_APIC_TIMER);
}

std::uint32_t apic_id() { return read_reg(kRegId) >> 24; }

bool apic_icr_idle(std::uint64_t timeout_ns) {
  const std::uint64_t start = system_time_ns();
  while (read_reg(kRegIcrLow) & kIcrBusy)
    if (system_time_ns() - start > timeout_ns) return false;
  return true;
}

bool apic_send_icr(std::uint32_t dest_apic_id, std::uint32_t low, std::uint64_t timeout_ns) {
  if (!apic_icr_idle(timeout_ns)) return false;
  write_reg(kRegIcrHigh, dest_apic_id << 24);
  write_reg(kRegIcrLow, low);
  return true;
}

std::uint32_t apic_read_clear_esr() {
  write_reg(kRegEsr, 0);  // the ESR latches on a write (SDM 11.5.3)
  return read_reg(kRegEsr);
}

void apic_timer_arm(std::uint64_t delta_ns) {
  if (delta_ns == ~std::uint64_t{0}) {
    write_reg(kRegInitialCount, 0);
    return;
  }
  const unsigned __int128 ticks = static_cast<unsigned __int128>(delta_ns) * apic_timer_hz / 1'000'000'000u;
  std::uint32_t count = ticks > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(ticks);
  if (count == 0) count = 1;
  write_reg(kRegInitialCount, count);
}

void apic_eoi() { write_reg(kRegEoi, 0); }

}  // namespace hv::x86
