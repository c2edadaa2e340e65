// spin: a CPU-bound guest for scheduler fairness tests. It spins with events masked until
// `seconds=N` (default 5) of system time have passed since it started, then reports its own
// runstate accounting (VCPUOP_get_runstate_info) in one line,
//   spin: running_ns=<ns> runnable_ns=<ns> elapsed_ns=<ns>
// which a boot test compares between domains of different weights. The running time is the
// hypervisor's account of the pCPU time this vCPU got; elapsed_ns is the guest's own view.
#include <pv/hypercall.hpp>
#include <pv/start_info.hpp>
#include <pv/vcpu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "pvclock.hpp"

namespace {

constexpr std::uint64_t kMs = 1'000'000;

// The number after "key=" in the command line (a word of its own), or `fallback`.
std::uint64_t cmdline_value(const char* cmdline, const char* key, std::uint64_t fallback) {
  for (const char* word = cmdline; *word != 0; ++word) {
    if (word != cmdline && word[-1] != ' ') continue;  // words start after a space
    const char* p = word;
    const char* k = key;
    while (*k != 0 && *p == *k) ++p, ++k;
    if (*k != 0 || *p != '=') continue;
    std::uint64_t n = 0;
    bool digits = false;
    for (++p; *p >= '0' && *p <= '9'; ++p, digits = true) n = n * 10 + static_cast<std::uint64_t>(*p - '0');
    return digits ? n : fallback;
  }
  return fallback;
}

// System time now. A record the hypervisor rewrites while it is read (it does on every timer
// interrupt and context switch) is read again: the TSC must not predate the copy used.
std::uint64_t now_ns() {
  const pv::vcpu_time_info& shared = guest::mm::vcpu0().time;
  for (;;) {
    const pv::vcpu_time_info r = guest::pvclock::read_record(shared).record;
    asm volatile("lfence" ::: "memory");
    const std::uint64_t tsc = guest::pvclock::rdtsc();
    if (__atomic_load_n(&shared.version, __ATOMIC_ACQUIRE) == r.version) return guest::pvclock::system_time_at(r, tsc);
  }
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  const std::uint64_t seconds = cmdline_value(reinterpret_cast<const char*>(info.cmd_line), "seconds", 5);
  GUEST_CHECK(seconds >= 1 && seconds <= 600);
  guest::print("spin: spinning for %lu s\n", seconds);
  __atomic_store_n(&guest::mm::vcpu0().evtchn_upcall_mask, std::uint8_t{1}, __ATOMIC_SEQ_CST);
  const std::uint64_t start = now_ns();
  const std::uint64_t end = start + seconds * 1000 * kMs;
  std::uint64_t now = start;
  std::uint64_t next_hypercall = start + kMs;
  while (now < end) {
    // A cheap hypercall every millisecond gives the hypervisor an entry besides its timer.
    if (now >= next_hypercall) {
      (void)guest::hypercall<pv::hypercall::xen_version>(0, 0);
      next_hypercall = now + kMs;
    }
    asm volatile("pause");
    now = now_ns();
  }
  pv::vcpu_runstate_info rs{};
  GUEST_CHECK(guest::hypercall<pv::hypercall::vcpu_op>(pv::VCPUOP_get_runstate_info, 0,
                                                       reinterpret_cast<std::uint64_t>(&rs)) == 0);
  guest::print("spin: running_ns=%lu runnable_ns=%lu elapsed_ns=%lu\n", rs.time[pv::RUNSTATE_running],
               rs.time[pv::RUNSTATE_runnable], now - start);
}
