// pvclock: the arithmetic of Xen's PV clock, portable so it is unit-tested against 128-bit
// references and Linux's reader formula. System time is ns since hypervisor boot, linear in
// the TSC; a guest computes it from the vcpu_time_info record we publish, and it must never
// see a half-written record (version protocol) nor time that runs backwards across updates.
#pragma once
#include <cstdint>

#include <pv/shared_info.hpp>

namespace hv::pvclock {

inline constexpr std::uint64_t kNsPerSec = 1'000'000'000;

// ns = ((ticks shifted by `shift`) * mul_frac) >> 32, Xen's struct time_scale.
struct TimeScale {
  std::uint32_t mul_frac = 0;
  std::int8_t shift = 0;
};

// Xen's set_time_scale: normalises ticks_per_sec into (1e9, 2e9] by shifting, then takes the
// 32-bit fraction 1e9 / normalised. Bit-for-bit what Xen 4.17 computes (guests may compare).
// ticks_per_sec must be non-zero.
TimeScale time_scale_for(std::uint64_t ticks_per_sec);

// Xen's scale_delta: shift, then a 64x32 multiply keeping bits 32..95. Like Xen, a left shift
// that overflows 64 bits loses the high bits (deltas that large are decades of TSC).
std::uint64_t scale_delta(std::uint64_t delta, TimeScale scale);

// The machine's clock: TSC frequency, the TSC at system time 0, and the derived scale.
struct Clock {
  std::uint64_t tsc_hz = 0;
  std::uint64_t boot_tsc = 0;
  TimeScale scale{};

  static Clock from_frequency(std::uint64_t tsc_hz, std::uint64_t boot_tsc);
  // ns since boot at `tsc`, always computed from boot_tsc (never accumulated), so successive
  // records are consistent: see time_record. A TSC before boot_tsc reads as 0.
  std::uint64_t system_time(std::uint64_t tsc) const;
};

// The record for a vCPU at `tsc`: tsc_timestamp = tsc, system_time = clock.system_time(tsc).
// Because scale_delta(a) + scale_delta(b) <= scale_delta(a + b) (floors, right shifts), a guest
// reading the old record just before this one is published never computes a later time than
// this record gives at the same TSC: time is monotonic across updates.
// flags stay 0: Xen 4.17 sets XEN_PVCLOCK_TSC_STABLE_BIT only when its platform timer is the
// TSC (clocksource=tsc on its command line and a reliable TSC), which it never is by default.
pv::vcpu_time_info time_record(const Clock& clock, std::uint64_t tsc);

// Writes `record` into the guest-visible `shared` with Xen's protocol: version becomes odd
// ((v + 1) | 1), write barrier, fields, write barrier, version + 1 (even). The version field
// of `record` is ignored.
void publish_vcpu_time(pv::vcpu_time_info& shared, const pv::vcpu_time_info& record);

// Writes the wall clock (UTC at system time 0) with the same protocol on wc_version.
void publish_wallclock(pv::shared_info& shared, std::uint64_t sec, std::uint32_t nsec);

// Calibration arithmetic. Both return 0 when the inputs cannot give a frequency.
// tsc_ticks elapsed while a reference clock of ref_hz advanced ref_ticks.
std::uint64_t tsc_hz_from_reference(std::uint64_t tsc_ticks, std::uint64_t ref_ticks,
                                    std::uint64_t ref_hz);
// CPUID leaf 0x15: TSC = crystal (ecx Hz) * ebx / eax; ecx = 0 means "not enumerated".
std::uint64_t tsc_hz_from_cpuid15(std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx);

// A calendar time as the RTC reports it (already decoded to binary, 24-hour).
struct CivilTime {
  unsigned year = 0;  // full year, e.g. 2026
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
};
// Seconds since 1970-01-01 00:00:00 UTC; false when a field is out of range.
bool unix_seconds(const CivilTime& t, std::uint64_t& seconds);
// RTC BCD byte to binary; values that are not BCD give a result > 99 (range checks catch it).
unsigned bcd_to_binary(std::uint8_t bcd);

}  // namespace hv::pvclock
