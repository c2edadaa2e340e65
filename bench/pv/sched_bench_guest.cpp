// sched_bench_guest: the scheduling and event benchmarks, as dom0 and a boot-module d1 of the
// same image (sched_bench boots it and pins the two to one pCPU or to two). Figures are TSC
// cycles measured by dom0, printed as "BENCH name=... ops=... cycles=..." lines:
//   evtchn_rtt     one interdomain event to d1 and its answer back, both sides blocking in
//                  SCHEDOP_block until the other's event wakes them
//   yield_pair     SCHEDOP_yield while d1 yields too: on one pCPU every yield switches to the
//                  other domain (two vCPU context switches per dom0+d1 pair of yields)
//   timer_upcall   a one-shot timer's deadline to the moment dom0's event callback runs
//                  (VIRQ_TIMER), dom0 blocked meanwhile
// plus "BENCH_CLOCK mul=... shift=..." so cycles convert to the guest clock's ns.
// Rounds come from the command line ("rounds=N", default 1000). The port set-up is the
// evtchn_pingpong test guest's: dom0 allocates d1's port 1 for itself and binds its port 1.
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>
#include <pv/vcpu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "pvclock.hpp"
#include "traps.hpp"

namespace {

using guest::hypercall;
namespace hc = pv::hypercall;

constexpr std::uint32_t kPort = 1;  // the interdomain port, the same number on both sides
constexpr unsigned kTimerRounds = 200;
constexpr std::uint64_t kTimerAheadNs = 1'000'000;

std::uint32_t timer_port = 0;
volatile unsigned received = 0;       // callbacks that found kPort pending
volatile unsigned timer_events = 0;   // callbacks that found the timer port pending
volatile std::uint64_t timer_seen_tsc = 0;

std::uint64_t rdtsc_ordered() {
  std::uint32_t lo, hi;
  asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return (std::uint64_t{hi} << 32) | lo;
}

std::uint64_t now_ns() { return guest::pvclock::now(guest::mm::vcpu0().time); }

bool take_pending(std::uint32_t port) {
  const std::uint64_t bit = std::uint64_t{1} << (port % 64);
  return (__atomic_fetch_and(&guest::mm::shared_info().evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

void on_event(guest::TrapContext&) {
  const std::uint64_t tsc = rdtsc_ordered();
  pv::vcpu_info& vi = guest::mm::vcpu0();
  __atomic_store_n(&vi.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  (void)__atomic_exchange_n(&vi.evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  if (take_pending(kPort)) received = received + 1;
  if (timer_port != 0 && take_pending(timer_port)) {
    timer_seen_tsc = tsc;
    timer_events = timer_events + 1;
  }
}

long evtchn_op(unsigned cmd, void* arg) { return hypercall<hc::event_channel_op>(cmd, reinterpret_cast<std::uint64_t>(arg)); }

void expect_rc(const char* what, long got, long want) {
  if (got != want) guest::fail("%s returned %ld, expected %ld", what, got, want);
}

void send() {
  pv::evtchn_send s{kPort};
  expect_rc("send", evtchn_op(pv::EVTCHNOP_send, &s), 0);
}

unsigned parse_rounds(const char* cmdline) {
  const char key[] = "rounds=";
  for (const char* p = cmdline; *p != 0; ++p) {
    unsigned i = 0;
    while (key[i] != 0 && p[i] == key[i]) ++i;
    if (key[i] != 0) continue;
    unsigned n = 0;
    for (p += i; *p >= '0' && *p <= '9'; ++p) n = n * 10 + static_cast<unsigned>(*p - '0');
    return n != 0 ? n : 1;
  }
  return 1000;
}

void report(const char* name, std::uint64_t ops, std::uint64_t cycles) {
  guest::print("BENCH name=%s ops=%lu cycles=%lu\n", name, static_cast<unsigned long>(ops), static_cast<unsigned long>(cycles));
}

void yield_rounds(unsigned rounds) {
  for (unsigned i = 0; i < rounds; ++i) expect_rc("sched_op(yield)", hypercall<hc::sched_op>(pv::SCHEDOP_yield, 0), 0);
}

// One-shot timers kTimerAheadNs ahead, dom0 blocked until each fires: deadline to callback.
void bench_timer_upcall() {
  pv::evtchn_bind_virq bind{pv::VIRQ_TIMER, 0, 0};
  expect_rc("bind_virq(VIRQ_TIMER)", evtchn_op(pv::EVTCHNOP_bind_virq, &bind), 0);
  timer_port = bind.port;
  std::uint64_t late_ns = 0;
  for (unsigned i = 1; i <= kTimerRounds; ++i) {
    const std::uint64_t deadline = now_ns() + kTimerAheadNs;
    pv::vcpu_set_singleshot_timer t{deadline, 0, 0};
    expect_rc("set_singleshot_timer", hypercall<hc::vcpu_op>(pv::VCPUOP_set_singleshot_timer, 0, reinterpret_cast<std::uint64_t>(&t)), 0);
    guest::block_until(timer_events, i, 100000);
    const pv::vcpu_time_info r = guest::pvclock::read_record(guest::mm::vcpu0().time).record;
    const std::uint64_t seen_ns = guest::pvclock::system_time_at(r, timer_seen_tsc);
    if (seen_ns < deadline) guest::fail("timer event %lu ns early", deadline - seen_ns);
    late_ns += seen_ns - deadline;
  }
  // As cycles, like every other figure (the host converts back with BENCH_CLOCK's scale).
  const pv::vcpu_time_info r = guest::pvclock::read_record(guest::mm::vcpu0().time).record;
  report("timer_upcall", kTimerRounds, late_ns * guest::pvclock::tsc_khz(r) / 1'000'000);
}

void run_dom0(unsigned rounds) {
  pv::evtchn_alloc_unbound a{1, 0, 0};  // in d1, for us: needs privilege
  expect_rc("alloc_unbound(dom=1, remote=0)", evtchn_op(pv::EVTCHNOP_alloc_unbound, &a), 0);
  pv::evtchn_bind_interdomain b{1, 0, kPort, 0};
  expect_rc("bind_interdomain(1, 1)", evtchn_op(pv::EVTCHNOP_bind_interdomain, &b), 0);
  if (a.port != kPort || b.local_port != kPort) guest::fail("ports %u/%u, expected %u", a.port, b.local_port, kPort);
  (void)take_pending(kPort);  // Xen marks a freshly bound port pending: not an answer
  const std::uint64_t t0 = rdtsc_ordered();
  for (unsigned i = 1; i <= rounds; ++i) {
    send();
    guest::block_until(received, i, 100000);
  }
  report("evtchn_rtt", rounds, rdtsc_ordered() - t0);
  send();  // d1: start yielding
  const std::uint64_t t1 = rdtsc_ordered();
  yield_rounds(rounds);
  report("yield_pair", rounds, rdtsc_ordered() - t1);
  guest::block_until(received, rounds + 1, 100000);  // d1 has finished its yields
  bench_timer_upcall();
  const pv::vcpu_time_info& c = guest::mm::vcpu0().time;
  guest::print("BENCH_CLOCK mul=%u shift=%d tsc_khz=%lu\n", c.tsc_to_system_mul, c.tsc_shift,
               static_cast<unsigned long>(guest::pvclock::tsc_khz(c)));
}

void run_d1(unsigned rounds) {
  for (unsigned i = 1; i <= rounds; ++i) {
    guest::block_until(received, i, 100000);
    send();
  }
  guest::block_until(received, rounds + 1, 100000);
  yield_rounds(rounds);
  send();
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  expect_rc("callback_op(register event)", guest::set_event_callback(on_event), 0);
  // Xen starts every PV vCPU with a 100 Hz periodic timer: stopped, so only measured work runs.
  expect_rc("stop_periodic_timer", hypercall<hc::vcpu_op>(pv::VCPUOP_stop_periodic_timer, 0, 0), 0);
  const unsigned rounds = parse_rounds(reinterpret_cast<const char*>(info.cmd_line));
  if (info.flags & pv::SIF_INITDOMAIN) run_dom0(rounds);
  else run_d1(rounds);
}
