// pvclock: Xen's time-scale arithmetic, the vcpu_time_info and wallclock publication protocol,
// and the calibration/calendar arithmetic behind them (see pvclock.hpp).
#include "pvclock.hpp"

#include <atomic>

namespace hv::pvclock {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr std::uint64_t kNormalisedMax = 2 * kNsPerSec;  // set_time_scale's target range

// Every guest-visible word is stored through atomic_ref so the compiler can neither tear nor
// reorder it across the fences that order the version protocol.
template <typename T>
void store(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}

// Xen's smp_wmb: earlier stores become visible before later ones.
void write_barrier() { std::atomic_thread_fence(std::memory_order_release); }

constexpr std::uint32_t version_update_begin(std::uint32_t v) { return (v + 1) | 1; }
constexpr std::uint32_t version_update_end(std::uint32_t v) { return v + 1; }

bool is_leap(unsigned year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(unsigned year, unsigned month) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar: count in eras
// of 400 years (146097 days) with March as the first month, so the leap day ends the year.
std::uint64_t days_since_epoch(unsigned year, unsigned month, unsigned day) {
  std::uint64_t y = month <= 2 ? year - 1 : year;
  std::uint64_t era = y / 400;
  std::uint64_t year_of_era = y - era * 400;
  std::uint64_t shifted_month = month > 2 ? month - 3 : month + 9;  // March = 0
  std::uint64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  std::uint64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  constexpr std::uint64_t kEpochDayFrom0000_03_01 = 719468;
  return era * 146097 + day_of_era - kEpochDayFrom0000_03_01;
}

}  // namespace

TimeScale time_scale_for(std::uint64_t ticks_per_sec) {
  std::uint64_t normalised = ticks_per_sec;
  int shift = 0;
  while (normalised > kNormalisedMax) {
    normalised >>= 1;
    --shift;
  }
  // Xen truncates to 32 bits here; after the loop above the value is <= 2e9 and fits.
  auto normalised32 = static_cast<std::uint32_t>(normalised);
  while (normalised32 <= kNsPerSec) {
    normalised32 <<= 1;
    ++shift;
  }
  // div_frac(1e9, normalised32): the 32-bit fraction of 1e9 / normalised32 (< 1).
  auto mul_frac = static_cast<std::uint32_t>((kNsPerSec << 32) / normalised32);
  return TimeScale{mul_frac, static_cast<std::int8_t>(shift)};
}

std::uint64_t scale_delta(std::uint64_t delta, TimeScale scale) {
  if (scale.shift < 0)
    delta >>= -scale.shift;
  else
    delta <<= scale.shift;
  return static_cast<std::uint64_t>((Uint128{delta} * scale.mul_frac) >> 32);
}

Clock Clock::from_frequency(std::uint64_t tsc_hz, std::uint64_t boot_tsc) {
  return Clock{tsc_hz, boot_tsc, time_scale_for(tsc_hz)};
}

std::uint64_t Clock::system_time(std::uint64_t tsc) const {
  return tsc <= boot_tsc ? 0 : scale_delta(tsc - boot_tsc, scale);
}

pv::vcpu_time_info time_record(const Clock& clock, std::uint64_t tsc) {
  pv::vcpu_time_info record{};
  record.tsc_timestamp = tsc;
  record.system_time = clock.system_time(tsc);
  record.tsc_to_system_mul = clock.scale.mul_frac;
  record.tsc_shift = clock.scale.shift;
  record.flags = 0;
  return record;
}

void publish_vcpu_time(pv::vcpu_time_info& shared, const pv::vcpu_time_info& record) {
  std::uint32_t version = version_update_begin(std::atomic_ref(shared.version).load());
  store(shared.version, version);
  write_barrier();  // the odd version is visible before any field changes
  store(shared.pad0, std::uint32_t{0});
  store(shared.tsc_timestamp, record.tsc_timestamp);
  store(shared.system_time, record.system_time);
  store(shared.tsc_to_system_mul, record.tsc_to_system_mul);
  store(shared.tsc_shift, record.tsc_shift);
  store(shared.flags, record.flags);
  store(shared.pad1[0], std::uint8_t{0});
  store(shared.pad1[1], std::uint8_t{0});
  write_barrier();  // every field is visible before the version turns even again
  store(shared.version, version_update_end(version));
}

void publish_wallclock(pv::shared_info& shared, std::uint64_t sec, std::uint32_t nsec) {
  std::uint32_t version = version_update_begin(std::atomic_ref(shared.wc_version).load());
  store(shared.wc_version, version);
  write_barrier();  // odd version before the fields
  store(shared.wc_sec, static_cast<std::uint32_t>(sec));
  store(shared.wc_nsec, nsec);
  store(shared.wc_sec_hi, static_cast<std::uint32_t>(sec >> 32));
  write_barrier();  // fields before the even version
  store(shared.wc_version, version_update_end(version));
}

std::uint64_t tsc_hz_from_reference(std::uint64_t tsc_ticks, std::uint64_t ref_ticks,
                                    std::uint64_t ref_hz) {
  if (ref_ticks == 0 || ref_hz == 0) return 0;
  Uint128 hz = (Uint128{tsc_ticks} * ref_hz + ref_ticks / 2) / ref_ticks;
  return hz > UINT64_MAX ? 0 : static_cast<std::uint64_t>(hz);
}

std::uint64_t tsc_hz_from_cpuid15(std::uint32_t eax, std::uint32_t ebx, std::uint32_t ecx) {
  if (eax == 0 || ebx == 0 || ecx == 0) return 0;
  return std::uint64_t{ecx} * ebx / eax;
}

bool unix_seconds(const CivilTime& t, std::uint64_t& seconds) {
  if (t.year < 1970 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1 ||
      t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59)
    return false;
  seconds = days_since_epoch(t.year, t.month, t.day) * 86400 + t.hour * 3600u +
            t.minute * 60u + t.second;
  return true;
}

unsigned bcd_to_binary(std::uint8_t bcd) {
  unsigned high = bcd >> 4, low = bcd & 0xF;
  if (high > 9 || low > 9) return 100 + bcd;  // not BCD: out of every calendar range
  return high * 10 + low;
}

}  // namespace hv::pvclock
