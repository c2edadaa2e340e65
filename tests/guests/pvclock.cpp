// pvclock: the PV clock as a guest reads it. vcpu_time_info (under its version protocol)
// must give a usable scale (Linux divides by tsc_to_system_mul at boot), a system time that
// is plausible and never runs backwards, and shared_info's wall clock a date in 2020..2100.
#include <pv/shared_info.hpp>

#include "console.hpp"
#include "mm.hpp"
#include "pvclock.hpp"

namespace {

using guest::pvclock::rdtsc;
using guest::pvclock::read_record;
using guest::pvclock::system_time_at;

constexpr std::uint64_t kNsPerSec = 1'000'000'000;

void check_record(const pv::vcpu_time_info& r) {
  guest::print("vcpu_time_info: version %u tsc_timestamp %lu system_time %lu mul %#x shift %d "
               "flags %#x\n",
               r.version, r.tsc_timestamp, r.system_time, r.tsc_to_system_mul, r.tsc_shift,
               r.flags);
  GUEST_CHECK(r.tsc_to_system_mul != 0);
  // Xen's set_time_scale puts the fraction in [0.5, 1); TSCs of 1 MHz .. 16 GHz need shifts
  // from 10 down to -3.
  GUEST_CHECK(r.tsc_to_system_mul >= 0x80000000u);
  GUEST_CHECK(r.tsc_shift >= -3 && r.tsc_shift <= 10);
  std::uint64_t khz = guest::pvclock::tsc_khz(r);
  guest::print("TSC %lu.%03lu MHz as pvclock_tsc_khz computes it\n", khz / 1000, khz % 1000);
  GUEST_CHECK(khz >= 1'000 && khz <= 16'000'000);
  // The record was taken in the past, less than ten minutes after the hypervisor booted.
  GUEST_CHECK(r.tsc_timestamp <= rdtsc());
  GUEST_CHECK(r.system_time < 600 * kNsPerSec);
  GUEST_CHECK(system_time_at(r, rdtsc()) < 600 * kNsPerSec);
}

// Reads the clock for `span_ns` of its own time: never backwards, and in step with the TSC.
void check_monotonic(const pv::vcpu_time_info& shared, std::uint64_t span_ns) {
  std::uint64_t start_tsc = rdtsc();
  std::uint64_t start = guest::pvclock::now(shared);
  std::uint64_t last = start, reads = 0, updates = 0;
  std::uint32_t last_version = read_record(shared).record.version;
  while (last - start < span_ns) {
    guest::pvclock::Snapshot s = read_record(shared);
    std::uint64_t t = system_time_at(s.record, rdtsc());
    if (t < last) guest::fail("system time went back %lu ns after %lu reads", last - t, reads);
    if (s.record.version != last_version) ++updates;
    last_version = s.record.version;
    last = t;
    ++reads;
  }
  std::uint64_t tsc_elapsed = rdtsc() - start_tsc;
  std::uint64_t khz = guest::pvclock::tsc_khz(read_record(shared).record);
  std::uint64_t expected_ns = tsc_elapsed * 1'000'000 / khz;
  std::uint64_t elapsed_ns = guest::pvclock::now(shared) - start;
  guest::print("%lu reads over %lu ns (%lu record updates seen); TSC says %lu ns\n", reads,
               elapsed_ns, updates, expected_ns);
  // Same TSC, same scale: they agree to well within 1% (the khz rounding is far smaller).
  GUEST_CHECK(elapsed_ns >= expected_ns - expected_ns / 100);
  GUEST_CHECK(elapsed_ns <= expected_ns + expected_ns / 100);
}

void check_wallclock(const pv::shared_info& si, const pv::vcpu_time_info& time) {
  const volatile pv::shared_info& v = si;
  std::uint32_t version, nsec;
  std::uint64_t sec;
  do {
    version = v.wc_version;
    asm volatile("" ::: "memory");
    sec = (std::uint64_t{v.wc_sec_hi} << 32) | v.wc_sec;
    nsec = v.wc_nsec;
    asm volatile("" ::: "memory");
  } while ((version & 1) || version != v.wc_version);
  std::uint64_t now = sec + (nsec + guest::pvclock::now(time)) / kNsPerSec;
  std::uint64_t days = now / 86400;
  guest::print("wallclock: version %u boot %lu.%09u s, now %lu s since 1970 (day %lu, %02lu:%02lu "
               "UTC)\n",
               version, sec, nsec, now, days, now % 86400 / 3600, now % 3600 / 60);
  GUEST_CHECK(version != 0 && (version & 1) == 0);
  GUEST_CHECK(nsec < kNsPerSec);
  constexpr std::uint64_t k2020 = 1577836800, k2100 = 4102444800;  // 1 January, 00:00 UTC
  GUEST_CHECK(now > k2020 && now < k2100);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  const pv::vcpu_time_info& time = guest::mm::vcpu0().time;
  guest::pvclock::Snapshot first = read_record(time);
  check_record(first.record);
  // 1.5 s: long enough to cross one of Xen's once-a-second record updates.
  check_monotonic(time, 1'500'000'000);
  check_wallclock(guest::mm::shared_info(), time);
}
