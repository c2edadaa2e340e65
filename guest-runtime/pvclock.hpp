// pvclock: a guest's reader of the PV clock, written as Linux does it (arch/x86/kernel/
// pvclock.c): a consistent copy of vcpu_time_info under the version protocol, then
// system_time + scale(tsc - tsc_timestamp). Also converts TSC cycles to ns with the record's
// own scale, which is how benchmarks report ns on any hypervisor.
#pragma once
#include <cstdint>

#include <pv/shared_info.hpp>

namespace guest::pvclock {

inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (std::uint64_t{hi} << 32) | lo;
}

// A copy of the record taken while its version was even and unchanged (the writer makes it
// odd while updating), plus the number of retries it took.
struct Snapshot {
  pv::vcpu_time_info record;
  unsigned retries;
};

inline Snapshot read_record(const pv::vcpu_time_info& shared) {
  const volatile pv::vcpu_time_info& src = shared;
  Snapshot s{};
  for (;;) {
    std::uint32_t version = src.version;
    asm volatile("" ::: "memory");  // x86 keeps loads in order; stop the compiler reordering
    s.record.tsc_timestamp = src.tsc_timestamp;
    s.record.system_time = src.system_time;
    s.record.tsc_to_system_mul = src.tsc_to_system_mul;
    s.record.tsc_shift = src.tsc_shift;
    s.record.flags = src.flags;
    asm volatile("" ::: "memory");
    if ((version & 1) == 0 && version == src.version) {
      s.record.version = version;
      return s;
    }
    ++s.retries;
  }
}

// Linux's pvclock_scale_delta.
inline std::uint64_t scale_delta(std::uint64_t delta, std::uint32_t mul_frac, std::int8_t shift) {
  if (shift < 0)
    delta >>= -shift;
  else
    delta <<= shift;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(delta) * mul_frac) >> 32);
}

// Linux's __pvclock_read_cycles: system time in ns at `tsc`.
inline std::uint64_t system_time_at(const pv::vcpu_time_info& r, std::uint64_t tsc) {
  return r.system_time + scale_delta(tsc - r.tsc_timestamp, r.tsc_to_system_mul, r.tsc_shift);
}

// System time now from `shared` (Linux's pvclock_clocksource_read): the TSC is read after the
// record is copied (lfence: not before it), and the copy is used only if the record did not
// change meanwhile. A TSC read before the copy could precede the tsc_timestamp of a record the
// hypervisor rewrote in between (microxen does so on every timer interrupt that lands in the
// guest): tsc - tsc_timestamp would wrap and the time leap ~2^64 cycles ahead.
inline std::uint64_t now(const pv::vcpu_time_info& shared) {
  for (;;) {
    const Snapshot s = read_record(shared);
    std::uint32_t lo, hi;
    asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    if (__atomic_load_n(&shared.version, __ATOMIC_ACQUIRE) == s.record.version)
      return system_time_at(s.record, (std::uint64_t{hi} << 32) | lo);
  }
}

// Linux's pvclock_tsc_khz (what xen_tsc_khz gives the kernel at boot).
inline std::uint64_t tsc_khz(const pv::vcpu_time_info& r) {
  std::uint64_t khz = (std::uint64_t{1000000} << 32) / r.tsc_to_system_mul;
  return r.tsc_shift < 0 ? khz << -r.tsc_shift : khz >> r.tsc_shift;
}

// Cycles to ns in thousandths (for benchmark figures below one ns), with the record's scale.
inline std::uint64_t cycles_to_ns_milli(std::uint64_t cycles, const pv::vcpu_time_info& r) {
  return scale_delta(cycles * 1000, r.tsc_to_system_mul, r.tsc_shift);
}

}  // namespace guest::pvclock
