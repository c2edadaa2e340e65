// time: TSC calibration, the CMOS RTC, and publishing PV time to guests (see time.hpp). The
// arithmetic is core/pvclock's; this file only talks to the hardware.
//
// Under QEMU TCG, rdtsc returns the host's TSC and the PM timer, PIT and RTC follow the host's
// monotonic clock, so all three run in real time however slowly the guest code is emulated:
// calibrating against the PM timer yields the host's TSC frequency, repeatably. What spoils a
// measurement is the host descheduling QEMU between the two reads of a pair (this machine is
// shared), so each sample is bracketed by two rdtscs and the tightest of several is used, and
// the frequency is the median of three windows.
#include "time.hpp"

#include "core/acpi.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "core/pvclock.hpp"
#include "io.hpp"

namespace hv::x86 {
namespace {

struct TimeState {
  pvclock::Clock clock;
  std::uint64_t wallclock_sec = 0;  // UTC at system time 0
  std::uint32_t wallclock_nsec = 0;
};
constinit TimeState time_state;  // set once by time_init, read-only afterwards

constexpr unsigned kCalibrationWindows = 3;
constexpr unsigned kWindowsPerSecond = 50;   // 20 ms each
constexpr unsigned kSampleTries = 5;          // tightest-bracketed read of the reference
// A reference that has not completed a window after this many TSC cycles (1 s at 10 GHz) is
// not there: give up on it rather than hang the boot.
constexpr std::uint64_t kGiveUpTscCycles = 10'000'000'000;

// One reading of a reference counter paired with the TSC at that moment.
struct Sample {
  std::uint64_t tsc;
  std::uint32_t ref;
};

// Reads `read_ref` between two rdtscs, kSampleTries times, keeping the tightest bracket.
template <typename ReadRef>
Sample bracketed_sample(ReadRef read_ref) {
  Sample best{0, 0};
  std::uint64_t best_width = UINT64_MAX;
  for (unsigned i = 0; i < kSampleTries; ++i) {
    std::uint64_t before = rdtsc();
    std::uint32_t ref = read_ref();
    std::uint64_t after = rdtsc();
    if (after - before < best_width) {
      best_width = after - before;
      best = Sample{before + (after - before) / 2, ref};
    }
  }
  return best;
}

// One window: a bracketed sample of the reference counter (wrapping at `mask`, counting up),
// wait until it has advanced `window` ticks, another bracketed sample. The window must be
// shorter than the counter's wrap period.
template <typename ReadRef>
std::uint64_t measure_window(ReadRef read_ref, std::uint32_t mask, std::uint32_t window,
                             std::uint64_t ref_hz) {
  Sample start = bracketed_sample(read_ref);
  // A counter that does not move is no timer (the port is absent or not decoded).
  while (((read_ref() - start.ref) & mask) < window)
    if (rdtsc() - start.tsc > kGiveUpTscCycles) return 0;
  Sample end = bracketed_sample(read_ref);
  return pvclock::tsc_hz_from_reference(end.tsc - start.tsc, (end.ref - start.ref) & mask, ref_hz);
}

// ---- ACPI PM timer: a free-running 3.579545 MHz counter, 24 or 32 bits wide.

std::uint64_t measure_against_pm_timer(const acpi::TimeSources& sources) {
  std::uint32_t mask = sources.pm_timer_32bit ? 0xFFFFFFFFu : 0xFFFFFFu;
  return measure_window([&] { return inl(sources.pm_timer_port) & mask; }, mask,
                        acpi::kPmTimerHz / kWindowsPerSecond, acpi::kPmTimerHz);
}

// ---- PIT channel 2 at 1.193182 MHz, free-running as a rate generator over all 65536 counts
// (gate: port 0x61 bit 0; bit 1, the speaker, stays off). Its counter is read (latched) like
// the PM timer rather than waiting for OUT to rise: a single-shot wait cannot tell when the
// host descheduled QEMU between OUT rising and the poll seeing it, and under TCG on this shared
// machine that inflated one window in three by up to 40%.

constexpr std::uint32_t kPitHz = 1193182;
constexpr std::uint16_t kPitChannel2 = 0x42, kPitMode = 0x43, kSystemControlB = 0x61;

std::uint32_t read_pit_channel2_up() {
  outb(kPitMode, 0x80);  // latch channel 2's count
  std::uint32_t count = inb(kPitChannel2);
  count |= std::uint32_t{inb(kPitChannel2)} << 8;
  return (0x10000 - count) & 0xFFFF;  // it counts down; make it count up
}

std::uint64_t measure_against_pit() {
  std::uint8_t saved = inb(kSystemControlB);
  outb(kSystemControlB, static_cast<std::uint8_t>((saved & ~0x02) | 0x01));
  outb(kPitMode, 0xB4);  // channel 2, low then high byte, mode 2 (rate generator), binary
  outb(kPitChannel2, 0);  // reload 0 = 65536 counts (55 ms) per period
  outb(kPitChannel2, 0);
  std::uint64_t hz = measure_window(read_pit_channel2_up, 0xFFFF, kPitHz / kWindowsPerSecond, kPitHz);
  outb(kSystemControlB, saved);
  return hz;
}

// ---- CPUID: 0x15 gives the exact TSC/crystal ratio; 0x16 only the nominal base MHz.

std::uint64_t tsc_hz_from_cpuid() {
  std::uint32_t max_leaf = cpuid(0).eax;
  if (max_leaf >= 0x15) {
    CpuidResult r = cpuid(0x15);
    if (std::uint64_t hz = pvclock::tsc_hz_from_cpuid15(r.eax, r.ebx, r.ecx)) return hz;
  }
  if (max_leaf >= 0x16) return std::uint64_t{cpuid(0x16).eax & 0xFFFF} * 1'000'000;
  return 0;
}

template <typename Measure>
std::uint64_t median_of_windows(Measure measure) {
  std::uint64_t hz[kCalibrationWindows];
  for (auto& h : hz)
    if ((h = measure()) == 0) return 0;
  for (unsigned i = 1; i < kCalibrationWindows; ++i)  // insertion sort of three
    for (unsigned j = i; j > 0 && hz[j] < hz[j - 1]; --j) {
      std::uint64_t t = hz[j];
      hz[j] = hz[j - 1];
      hz[j - 1] = t;
    }
  return hz[kCalibrationWindows / 2];
}

std::uint64_t calibrate_tsc(const acpi::TimeSources& sources, const char*& reference) {
  if (sources.pm_timer_port != 0) {
    reference = "the ACPI PM timer";
    if (std::uint64_t hz = median_of_windows([&] { return measure_against_pm_timer(sources); }))
      return hz;
  }
  reference = "PIT channel 2";
  if (std::uint64_t hz = median_of_windows(measure_against_pit)) return hz;
  reference = "CPUID leaf 0x15/0x16";
  return tsc_hz_from_cpuid();
}

// ---- CMOS RTC (MC146818): index port 0x70, data port 0x71.

constexpr std::uint8_t kRtcStatusA = 0x0A, kRtcStatusB = 0x0B;
constexpr std::uint8_t kRtcUpdateInProgress = 0x80;  // status A
constexpr std::uint8_t kRtcBinary = 0x04, kRtc24Hour = 0x02;  // status B
constexpr std::uint8_t kRtcHourPm = 0x80;

std::uint8_t cmos_read(std::uint8_t index) {
  outb(0x70, index);
  return inb(0x71);
}

struct RtcRegisters {
  std::uint8_t second, minute, hour, day, month, year, century;
  bool operator==(const RtcRegisters&) const = default;
};

RtcRegisters read_rtc_registers(std::uint8_t century_index) {
  // The registers are inconsistent for ~2 ms while an update runs; wait it out (bounded).
  for (unsigned i = 0; i < 1'000'000 && (cmos_read(kRtcStatusA) & kRtcUpdateInProgress); ++i) {
  }
  return RtcRegisters{cmos_read(0x00), cmos_read(0x02), cmos_read(0x04), cmos_read(0x07),
                      cmos_read(0x08), cmos_read(0x09),
                      century_index != 0 ? cmos_read(century_index) : std::uint8_t{0}};
}

// Reads the RTC as UTC seconds since 1970 (the RTC keeps UTC, as Xen assumes by default).
bool read_rtc(std::uint8_t century_index, std::uint64_t& seconds) {
  RtcRegisters regs = read_rtc_registers(century_index);
  for (unsigned i = 0; i < 10; ++i) {  // two equal reads in a row: no update in between
    RtcRegisters again = read_rtc_registers(century_index);
    if (again == regs) break;
    regs = again;
  }
  std::uint8_t status_b = cmos_read(kRtcStatusB);
  bool binary = status_b & kRtcBinary;
  auto decode = [&](std::uint8_t v) { return binary ? unsigned{v} : pvclock::bcd_to_binary(v); };
  pvclock::CivilTime t;
  t.second = decode(regs.second);
  t.minute = decode(regs.minute);
  t.hour = decode(static_cast<std::uint8_t>(regs.hour & ~kRtcHourPm));
  if (!(status_b & kRtc24Hour)) {  // 12-hour clock: 12 AM is 0, PM adds 12
    if (t.hour == 12) t.hour = 0;
    if (regs.hour & kRtcHourPm) t.hour += 12;
  }
  t.day = decode(regs.day);
  t.month = decode(regs.month);
  unsigned year = decode(regs.year);
  unsigned century = century_index != 0 ? decode(regs.century) : 0;
  if (century < 19 || century > 99) century = year < 70 ? 20 : 19;  // no usable century byte
  t.year = century * 100 + year;
  return pvclock::unix_seconds(t, seconds);
}

}  // namespace

void time_init(const PhysicalMemory& mem, const BootInfo& boot) {
  acpi::Tables tables;
  acpi::TimeSources sources;
  if (acpi::discover(mem, boot, tables)) sources = acpi::find_time_sources(mem, tables);

  std::uint64_t boot_tsc = rdtsc();
  const char* reference = "";
  std::uint64_t hz = calibrate_tsc(sources, reference);
  if (hz == 0) HV_PANIC("TSC: no reference clock to calibrate it against");
  time_state.clock = pvclock::Clock::from_frequency(hz, boot_tsc);
  std::uint64_t khz = (hz + 500) / 1000;
  HV_INFO(boot, "TSC: %lu.%03lu MHz (calibrated against %s), scale mul %#x shift %d", khz / 1000,
          khz % 1000, reference, time_state.clock.scale.mul_frac, time_state.clock.scale.shift);

  std::uint64_t rtc_seconds = 0;
  std::uint64_t now = system_time_ns();
  if (!read_rtc(sources.rtc_century_index, rtc_seconds)) {
    HV_WARN(boot, "RTC: unreadable or invalid date; the wall clock starts at 1970");
    return;
  }
  // Wall clock = UTC at system time 0 (Xen's do_settime(secs, 0, NOW())).
  std::uint64_t boot_wallclock_ns = rtc_seconds * pvclock::kNsPerSec - now;
  time_state.wallclock_sec = boot_wallclock_ns / pvclock::kNsPerSec;
  time_state.wallclock_nsec = static_cast<std::uint32_t>(boot_wallclock_ns % pvclock::kNsPerSec);
  HV_INFO(boot, "RTC: %lu s since 1970 (UTC) at system time %lu ns", rtc_seconds, now);
}

std::uint64_t system_time_ns() { return time_state.clock.system_time(rdtsc()); }

std::uint64_t tsc_hz() { return time_state.clock.tsc_hz; }

void update_vcpu_time(Vcpu& vcpu) {
  pv::vcpu_info* info = vcpu.info();
  if (info == nullptr) return;
  pvclock::publish_vcpu_time(info->time, pvclock::time_record(time_state.clock, rdtsc()));
}

void publish_domain_wallclock(Domain& domain) {
  if (domain.shared_info == nullptr) return;
  pvclock::publish_wallclock(*domain.shared_info, time_state.wallclock_sec,
                             time_state.wallclock_nsec);
}

}  // namespace hv::x86
