// pvclock: Xen's time scale against exact 128-bit references for 1 MHz .. 10 GHz, what a
// Linux guest computes from our records (its pvclock reader and pvclock_tsc_khz, written out
// here), monotonicity across updates, the version protocol under a concurrent reader, and
// the calendar arithmetic behind the wall clock.
#include "core/pvclock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

namespace hv::pvclock {
namespace {

__extension__ typedef unsigned __int128 Uint128;

// Exact ns for `ticks` at `hz`, floor.
std::uint64_t exact_ns(std::uint64_t ticks, std::uint64_t hz) {
  return static_cast<std::uint64_t>(Uint128{ticks} * kNsPerSec / hz);
}

// Linux arch/x86/include/asm/pvclock.h pvclock_scale_delta + __pvclock_read_cycles.
std::uint64_t linux_read_cycles(const pv::vcpu_time_info& src, std::uint64_t tsc) {
  std::uint64_t delta = tsc - src.tsc_timestamp;
  if (src.tsc_shift < 0)
    delta >>= -src.tsc_shift;
  else
    delta <<= src.tsc_shift;
  std::uint64_t product = static_cast<std::uint64_t>((Uint128{delta} * src.tsc_to_system_mul) >> 32);
  return src.system_time + product;
}

// Linux arch/x86/kernel/pvclock.c pvclock_tsc_khz (what xen_tsc_khz returns at boot).
std::uint64_t linux_tsc_khz(const pv::vcpu_time_info& src) {
  std::uint64_t khz = (std::uint64_t{1000000} << 32) / src.tsc_to_system_mul;
  if (src.tsc_shift < 0)
    khz <<= -src.tsc_shift;
  else
    khz >>= src.tsc_shift;
  return khz;
}

std::vector<std::uint64_t> test_frequencies() {
  std::vector<std::uint64_t> hz = {1'000'000,     1'193'182,     3'579'545,     14'318'180,
                                   999'999'999,   1'000'000'000, 1'000'000'001, 1'999'999'999,
                                   2'000'000'000, 2'000'000'001, 2'400'000'000, 3'000'000'000,
                                   3'417'600'000, 4'000'000'000, 4'294'967'295, 4'294'967'296,
                                   8'000'000'000, 9'999'999'999, 10'000'000'000};
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::uint64_t> any(1'000'000, 10'000'000'000);
  for (int i = 0; i < 500; ++i) hz.push_back(any(rng));
  return hz;
}

TEST(TimeScale, MatchesXenForKnownFrequencies) {
  // set_time_scale by hand: 1 GHz normalises to 2e9 with shift 1; 2 GHz is already in range;
  // 3 GHz halves to 1.5e9 (shift -1) and 1e9/1.5e9 = 2/3.
  EXPECT_EQ(time_scale_for(1'000'000'000).mul_frac, 0x80000000u);
  EXPECT_EQ(time_scale_for(1'000'000'000).shift, 1);
  EXPECT_EQ(time_scale_for(2'000'000'000).mul_frac, 0x80000000u);
  EXPECT_EQ(time_scale_for(2'000'000'000).shift, 0);
  EXPECT_EQ(time_scale_for(3'000'000'000).mul_frac, 2863311530u);
  EXPECT_EQ(time_scale_for(3'000'000'000).shift, -1);
  EXPECT_EQ(time_scale_for(1'000'000).shift, 10);  // 1e6 << 10 = 1.024e9
  EXPECT_EQ(time_scale_for(1'000'000).mul_frac, 4194304000u);
  // The ACPI PM timer, as Xen scales it.
  EXPECT_EQ(time_scale_for(3'579'545).shift, 9);
}

TEST(TimeScale, NormalisedInvariantsForEveryFrequency) {
  for (std::uint64_t hz : test_frequencies()) {
    TimeScale s = time_scale_for(hz);
    SCOPED_TRACE(hz);
    // The normalised frequency lies in (1e9, 2e9], so the fraction lies in [0.5, 1).
    EXPECT_GE(s.mul_frac, 0x80000000u);
    EXPECT_GE(s.shift, -3);
    EXPECT_LE(s.shift, 10);
  }
}

TEST(ScaleDelta, WithinErrorBoundOfExactForManyFrequenciesAndDeltas) {
  std::mt19937_64 rng(7);
  for (std::uint64_t hz : test_frequencies()) {
    TimeScale s = time_scale_for(hz);
    // Up to one day of ticks.
    std::uniform_int_distribution<std::uint64_t> delta_dist(0, hz * 86400);
    std::vector<std::uint64_t> deltas = {0, 1, 2, 7, 8, 1000, hz, hz * 60, hz * 86400};
    for (int i = 0; i < 200; ++i) deltas.push_back(delta_dist(rng));
    for (std::uint64_t delta : deltas) {
      std::uint64_t exact = exact_ns(delta, hz);
      std::uint64_t got = scale_delta(delta, s);
      // Errors: the truncated 32-bit fraction and the frequency bits dropped by normalising
      // (each < 2^-31 relative), the ticks a right shift drops (< 2^-shift ticks), flooring.
      double ticks_dropped_ns = s.shift < 0 ? double((1u << -s.shift) - 1) * 1e9 / double(hz) : 0;
      double bound = double(exact) * 2.0 / 2147483648.0 + ticks_dropped_ns + 1.0;
      double error = double(got) - double(exact);
      ASSERT_LE(error < 0 ? -error : error, bound) << "hz " << hz << " delta " << delta;
    }
  }
}

TEST(ScaleDelta, ShiftsRightForFastCounters) {
  TimeScale s = time_scale_for(8'000'000'000);  // shift -2: four ticks make one unit
  EXPECT_EQ(s.shift, -2);
  EXPECT_EQ(scale_delta(3, s), 0u);
  EXPECT_EQ(scale_delta(8'000'000'000, s), kNsPerSec);
}

TEST(Clock, SystemTimeCountsFromBootAndClampsBeforeIt) {
  Clock clock = Clock::from_frequency(2'500'000'000, 1'000'000);
  EXPECT_EQ(clock.system_time(0), 0u);
  EXPECT_EQ(clock.system_time(1'000'000), 0u);
  EXPECT_NEAR(double(clock.system_time(1'000'000 + 2'500'000'000ull * 10)), 10e9, 30.0);
}

TEST(LinuxReader, ComputesOurSystemTimeAndFrequencyForEveryFrequency) {
  std::mt19937_64 rng(11);
  for (std::uint64_t hz : test_frequencies()) {
    SCOPED_TRACE(hz);
    Clock clock = Clock::from_frequency(hz, rng() >> 8);
    std::uint64_t stamp = clock.boot_tsc + (rng() % (hz * 3600));
    pv::vcpu_time_info record = time_record(clock, stamp);
    ASSERT_NE(record.tsc_to_system_mul, 0u);
    EXPECT_EQ(record.flags, 0);
    // A guest reading within the next 10 s sees our clock to within a few ns.
    for (std::uint64_t ahead : {std::uint64_t{0}, std::uint64_t{1}, hz / 1000, hz * 10}) {
      std::uint64_t tsc = stamp + ahead;
      double guest = double(linux_read_cycles(record, tsc));
      double exact = double(exact_ns(tsc - clock.boot_tsc, hz));
      EXPECT_NEAR(guest, exact, exact * 2.0 / 2147483648.0 + 20.0);
    }
    // xen_tsc_khz: the guest's idea of the TSC frequency, within 0.0001% + 1 kHz truncation.
    double khz = double(linux_tsc_khz(record));
    EXPECT_NEAR(khz, double(hz) / 1000.0, double(hz) / 1000.0 * 1e-6 + 1.0);
  }
}

TEST(LinuxReader, TimeNeverGoesBackwardsAcrossUpdates) {
  std::mt19937_64 rng(3);
  for (std::uint64_t hz : {std::uint64_t{1'000'000}, std::uint64_t{2'100'000'000},
                           std::uint64_t{3'333'333'333}, std::uint64_t{9'876'543'211}}) {
    Clock clock = Clock::from_frequency(hz, 123'456'789);
    std::uint64_t tsc = clock.boot_tsc + 1;
    pv::vcpu_time_info current = time_record(clock, tsc);
    std::uint64_t last = linux_read_cycles(current, tsc);
    for (int i = 0; i < 100'000; ++i) {
      tsc += rng() % (hz / 100 + 2);
      std::uint64_t read_old = linux_read_cycles(current, tsc);
      ASSERT_GE(read_old, last) << "hz " << hz << " step " << i;
      if (rng() % 4 == 0) {  // the vCPU is rescheduled: a new record at this very TSC
        current = time_record(clock, tsc);
        std::uint64_t read_new = linux_read_cycles(current, tsc);
        ASSERT_GE(read_new, read_old) << "hz " << hz << " step " << i;
        read_old = read_new;
      }
      last = read_old;
    }
  }
}

TEST(Publish, VersionGoesOddThenEvenAndFieldsLand) {
  pv::vcpu_time_info shared{};
  shared.version = 6;
  shared.pad0 = 0xdead;
  pv::vcpu_time_info record{};
  record.version = 99;  // ignored
  record.tsc_timestamp = 111;
  record.system_time = 222;
  record.tsc_to_system_mul = 333;
  record.tsc_shift = -2;
  publish_vcpu_time(shared, record);
  EXPECT_EQ(shared.version, 8u);  // (6 + 1) | 1 = 7 while writing, then 8
  EXPECT_EQ(shared.pad0, 0u);
  EXPECT_EQ(shared.tsc_timestamp, 111u);
  EXPECT_EQ(shared.system_time, 222u);
  EXPECT_EQ(shared.tsc_to_system_mul, 333u);
  EXPECT_EQ(shared.tsc_shift, -2);
  // A guest that scribbled an odd version: Xen's (v + 1) | 1 then + 1 still ends even.
  shared.version = 7;
  publish_vcpu_time(shared, record);
  EXPECT_EQ(shared.version, 10u);
}

TEST(Publish, ConcurrentReaderNeverSeesATornRecord) {
  pv::vcpu_time_info shared{};
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> consistent_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Linux's pvclock_read_begin/retry: version, rmb, fields, rmb, version again.
      std::uint32_t v1 = std::atomic_ref(shared.version).load(std::memory_order_acquire);
      std::uint64_t stamp = std::atomic_ref(shared.tsc_timestamp).load(std::memory_order_relaxed);
      std::uint64_t stime = std::atomic_ref(shared.system_time).load(std::memory_order_relaxed);
      std::uint32_t mul = std::atomic_ref(shared.tsc_to_system_mul).load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      std::uint32_t v2 = std::atomic_ref(shared.version).load(std::memory_order_relaxed);
      if ((v1 & 1) || v1 != v2) continue;
      ASSERT_EQ(stime, stamp * 3);
      ASSERT_EQ(mul, static_cast<std::uint32_t>(stamp));
      consistent_reads.fetch_add(1);
    }
  });
  // At least 200,000 publications, and on until the reader has checked 1,000 records: on a
  // loaded machine the reader thread may not be scheduled during the first ones (bounded).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::uint64_t k = 1;
  for (; k < 200'000 || (consistent_reads.load() < 1000 && std::chrono::steady_clock::now() < give_up); ++k) {
    pv::vcpu_time_info record{};
    record.tsc_timestamp = k;
    record.system_time = k * 3;
    record.tsc_to_system_mul = static_cast<std::uint32_t>(k);
    publish_vcpu_time(shared, record);
  }
  done.store(true);
  reader.join();
  EXPECT_GT(consistent_reads.load(), 0u);
  EXPECT_EQ(shared.version, static_cast<std::uint32_t>(2 * (k - 1)));
}

TEST(Publish, WallclockSplitsSecondsAndBumpsVersion) {
  pv::shared_info shared{};
  publish_wallclock(shared, 0x1'2345'6789ull, 500);
  EXPECT_EQ(shared.wc_version, 2u);
  EXPECT_EQ(shared.wc_sec, 0x23456789u);
  EXPECT_EQ(shared.wc_sec_hi, 1u);
  EXPECT_EQ(shared.wc_nsec, 500u);
}

TEST(Calibration, ReferenceArithmetic) {
  // 50 ms of the PM timer (178977 ticks) against 150 M TSC ticks: 3 GHz.
  EXPECT_NEAR(double(tsc_hz_from_reference(150'000'000, 178'977, 3'579'545)), 3e9, 3e9 * 1e-5);
  EXPECT_EQ(tsc_hz_from_reference(1000, 0, 3'579'545), 0u);
  EXPECT_EQ(tsc_hz_from_reference(1000, 10, 0), 0u);
  EXPECT_EQ(tsc_hz_from_reference(UINT64_MAX, 1, 3'579'545), 0u);  // would not fit
  // Rounded to nearest: 2386364 * 1193182 / 59659 = 47727359.6.
  EXPECT_EQ(tsc_hz_from_reference(2'386'364, 59'659, 1'193'182), 47'727'360u);
}

TEST(Calibration, Cpuid15) {
  // A 24 MHz crystal with TSC ratio 125/2: 1.5 GHz.
  EXPECT_EQ(tsc_hz_from_cpuid15(2, 125, 24'000'000), 1'500'000'000u);
  EXPECT_EQ(tsc_hz_from_cpuid15(2, 125, 0), 0u);  // crystal not enumerated
  EXPECT_EQ(tsc_hz_from_cpuid15(0, 125, 24'000'000), 0u);
  EXPECT_EQ(tsc_hz_from_cpuid15(2, 0, 24'000'000), 0u);
}

TEST(Calendar, UnixSecondsOfKnownDates) {
  std::uint64_t s = 1;
  ASSERT_TRUE(unix_seconds({1970, 1, 1, 0, 0, 0}, s));
  EXPECT_EQ(s, 0u);
  ASSERT_TRUE(unix_seconds({2000, 1, 1, 0, 0, 0}, s));
  EXPECT_EQ(s, 946684800u);
  ASSERT_TRUE(unix_seconds({2024, 2, 29, 12, 34, 56}, s));
  EXPECT_EQ(s, 1709210096u);
  ASSERT_TRUE(unix_seconds({2038, 1, 19, 3, 14, 8}, s));
  EXPECT_EQ(s, 2147483648u);
  ASSERT_TRUE(unix_seconds({2100, 3, 1, 0, 0, 0}, s));
  EXPECT_EQ(s, 4107542400u);
  ASSERT_TRUE(unix_seconds({9999, 12, 31, 23, 59, 59}, s));
  EXPECT_EQ(s, 253402300799u);
}

TEST(Calendar, RejectsImpossibleDates) {
  std::uint64_t s = 0;
  EXPECT_FALSE(unix_seconds({2023, 2, 29, 0, 0, 0}, s));  // not a leap year
  EXPECT_FALSE(unix_seconds({2100, 2, 29, 0, 0, 0}, s));  // century, not leap
  EXPECT_TRUE(unix_seconds({2000, 2, 29, 0, 0, 0}, s));   // 400-year leap
  EXPECT_FALSE(unix_seconds({1969, 12, 31, 23, 59, 59}, s));
  EXPECT_FALSE(unix_seconds({2024, 13, 1, 0, 0, 0}, s));
  EXPECT_FALSE(unix_seconds({2024, 0, 1, 0, 0, 0}, s));
  EXPECT_FALSE(unix_seconds({2024, 4, 31, 0, 0, 0}, s));
  EXPECT_FALSE(unix_seconds({2024, 1, 1, 24, 0, 0}, s));
  EXPECT_FALSE(unix_seconds({2024, 1, 1, 0, 60, 0}, s));
  EXPECT_FALSE(unix_seconds({2024, 1, 1, 0, 0, 60}, s));
}

TEST(Calendar, BcdDecoding) {
  EXPECT_EQ(bcd_to_binary(0x00), 0u);
  EXPECT_EQ(bcd_to_binary(0x59), 59u);
  EXPECT_EQ(bcd_to_binary(0x99), 99u);
  EXPECT_GT(bcd_to_binary(0x5A), 99u);
  EXPECT_GT(bcd_to_binary(0xA0), 99u);
}

}  // namespace
}  // namespace hv::pvclock
