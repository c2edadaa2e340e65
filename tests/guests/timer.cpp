// timer: one-shot and periodic timers as a PV kernel uses them. VIRQ_TIMER is bound to a
// port and an event callback records which ports were pending; set_timer_op and
// VCPUOP_set_singleshot_timer wake a blocked vCPU never before their deadline (checked with
// the guest's own pvclock), a deadline already past sends the event at once, stopping a
// one-shot timer prevents its event, and a periodic timer ticks until stopped. SCHEDOP_poll's
// timeout (absolute system time) ends a poll no earlier than itself; an event on a polled port
// ends it first, one already pending or a timeout already past at once.
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "pvclock.hpp"
#include "traps.hpp"

namespace {

using guest::hypercall;
namespace hc = pv::hypercall;

constexpr std::uint64_t kMs = 1'000'000;

std::uint32_t timer_port = 0;
volatile unsigned timer_events = 0;       // callbacks that found the timer port pending
volatile std::uint64_t last_event_ns = 0;  // pvclock time seen in the latest such callback

std::uint64_t now_ns() { return guest::pvclock::now(guest::mm::vcpu0().time); }

bool port_pending(std::uint32_t port) {
  return (__atomic_load_n(&guest::mm::shared_info().evtchn_pending[port / 64], __ATOMIC_ACQUIRE) >>
          (port % 64)) & 1;
}

void clear_port(std::uint32_t port) {
  __atomic_fetch_and(&guest::mm::shared_info().evtchn_pending[port / 64], ~(std::uint64_t{1} << (port % 64)),
                     __ATOMIC_ACQ_REL);
}

// The event callback (2-level ABI, as Linux's xen_evtchn_do_upcall): acknowledge the upcall,
// then the selector, then each pending port of ours.
void on_event(guest::TrapContext&) {
  pv::vcpu_info& vi = guest::mm::vcpu0();
  __atomic_store_n(&vi.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_RELEASE);
  (void)__atomic_exchange_n(&vi.evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_ACQ_REL);
  if (port_pending(timer_port)) {
    clear_port(timer_port);
    last_event_ns = now_ns();
    timer_events = timer_events + 1;
  }
}

void set_mask(bool masked) {
  __atomic_store_n(&guest::mm::vcpu0().evtchn_upcall_mask, std::uint8_t{masked}, __ATOMIC_SEQ_CST);
}

// Blocks until the callback has seen one more timer event; returns the time it saw.
std::uint64_t block_for_timer_event() {
  const unsigned before = timer_events;
  for (unsigned spins = 0; timer_events == before; ++spins) {
    if (spins > 1000) guest::fail("no timer event after %u wakeups", spins);
    set_mask(true);  // SCHEDOP_block unmasks atomically with blocking
    if (timer_events != before) break;
    GUEST_CHECK(hypercall<hc::sched_op>(pv::SCHEDOP_block, 0) == 0);
  }
  set_mask(true);
  return last_event_ns;
}

long vcpu_op(unsigned cmd, unsigned vcpu, const void* arg) {
  return hypercall<hc::vcpu_op>(cmd, vcpu, reinterpret_cast<std::uint64_t>(arg));
}

long set_singleshot(std::uint64_t abs_ns) {
  pv::vcpu_set_singleshot_timer s{abs_ns, 0, 0};
  return vcpu_op(pv::VCPUOP_set_singleshot_timer, 0, &s);
}

long poll(std::uint32_t port, std::uint64_t timeout) {
  pv::sched_poll p{};
  p.ports.p = reinterpret_cast<std::uint64_t>(&port);
  p.nr_ports = 1;
  p.timeout = timeout;
  return hypercall<hc::sched_op>(pv::SCHEDOP_poll, reinterpret_cast<std::uint64_t>(&p));
}

// Nothing pending and no upcall flagged (upcalls masked), so that the next event is the only
// thing that can end a poll: a new upcall_pending wakes any blocked vCPU (Xen's vcpu_kick).
void quiesce(std::uint32_t port) {
  clear_port(port);
  clear_port(timer_port);
  __atomic_store_n(&guest::mm::vcpu0().evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  __atomic_store_n(&guest::mm::vcpu0().evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
}

void check_set_timer_op() {
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t deadline = now_ns() + 2 * kMs;
    GUEST_CHECK(hypercall<hc::set_timer_op>(deadline) == 0);
    const std::uint64_t seen = block_for_timer_event();
    guest::print("set_timer_op: deadline %lu, woken at %lu (+%lu ns)\n", deadline, seen, seen - deadline);
    if (seen < deadline) guest::fail("set_timer_op event %lu ns early", deadline - seen);
  }
}

void check_singleshot() {
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t deadline = now_ns() + 2 * kMs;
    GUEST_CHECK(set_singleshot(deadline) == 0);
    const std::uint64_t seen = block_for_timer_event();
    guest::print("singleshot: deadline %lu, woken at %lu (+%lu ns)\n", deadline, seen, seen - deadline);
    if (seen < deadline) guest::fail("singleshot event %lu ns early", deadline - seen);
  }
  // A deadline already past: the event is sent during the hypercall.
  set_mask(true);
  GUEST_CHECK(!port_pending(timer_port));
  GUEST_CHECK(set_singleshot(now_ns() - 1000) == 0);
  GUEST_CHECK(port_pending(timer_port));
  clear_port(timer_port);
  // Stopped before its deadline: no event, also after the deadline has long passed.
  // (50 ms ahead, so a loaded TCG host cannot let it expire between the two hypercalls.)
  GUEST_CHECK(set_singleshot(now_ns() + 50 * kMs) == 0);
  GUEST_CHECK(vcpu_op(pv::VCPUOP_stop_singleshot_timer, 0, nullptr) == 0);
  const std::uint64_t until = now_ns() + 60 * kMs;
  while (now_ns() < until) asm volatile("pause");
  GUEST_CHECK(!port_pending(timer_port));
  // set_timer_op(0) stops the same one-shot timer.
  GUEST_CHECK(hypercall<hc::set_timer_op>(now_ns() + 50 * kMs) == 0);
  GUEST_CHECK(hypercall<hc::set_timer_op>(0) == 0);
  const std::uint64_t until2 = now_ns() + 60 * kMs;
  while (now_ns() < until2) asm volatile("pause");
  GUEST_CHECK(!port_pending(timer_port));
}

// Spins with events enabled until the callback has counted `n` more timer events (or 1 s
// passed); returns the time of the last one.
std::uint64_t spin_for_timer_events(unsigned n) {
  const unsigned target = timer_events + n;
  const std::uint64_t give_up = now_ns() + 1000 * kMs;
  set_mask(false);
  (void)hypercall<hc::xen_version>(0, 0);  // Linux's xen_force_evtchn_callback: anything pending now
  while (timer_events < target && now_ns() < give_up) asm volatile("pause");
  set_mask(true);
  if (timer_events < target) guest::fail("%u of %u timer events in 1 s", timer_events + n - target, n);
  return last_event_ns;
}

// The periodic timer ticks only while the vCPU runs: Xen stops it when the vCPU is switched
// out (a blocked vCPU is never woken by it), so the ticks are taken while spinning.
void check_periodic() {
  pv::vcpu_set_periodic_timer too_fast{kMs - 1};
  GUEST_CHECK(vcpu_op(pv::VCPUOP_set_periodic_timer, 0, &too_fast) == -pv::XEN_EINVAL);
  pv::vcpu_set_periodic_timer p{2 * kMs};
  GUEST_CHECK(vcpu_op(pv::VCPUOP_set_periodic_timer, 0, &p) == 0);
  const std::uint64_t first = spin_for_timer_events(1);  // may be at once (a period since the last)
  const std::uint64_t last = spin_for_timer_events(4);
  guest::print("periodic: 4 ticks of %lu ns in %lu ns\n", p.period_ns, last - first);
  // Each tick is armed one period after the previous one fired, never sooner.
  GUEST_CHECK(last - first >= 4 * p.period_ns - p.period_ns / 2);
  GUEST_CHECK(vcpu_op(pv::VCPUOP_stop_periodic_timer, 0, nullptr) == 0);
  clear_port(timer_port);
  const unsigned before = timer_events;
  const std::uint64_t until = now_ns() + 6 * kMs;
  set_mask(false);
  while (now_ns() < until) asm volatile("pause");
  set_mask(true);
  GUEST_CHECK(timer_events == before);
  GUEST_CHECK(!port_pending(timer_port));
}

// SCHEDOP_poll with upcalls masked, as Linux's PV spinlocks poll, on an IPI port only this
// guest could send to.
void check_poll_timeout() {
  set_mask(true);
  pv::evtchn_bind_ipi ipi{0, 0};
  GUEST_CHECK(hypercall<hc::event_channel_op>(pv::EVTCHNOP_bind_ipi, reinterpret_cast<std::uint64_t>(&ipi)) == 0);
  const std::uint32_t port = ipi.port;
  // Nothing ever arrives: the timeout ends the poll, never before it.
  for (int i = 0; i < 3; ++i) {
    quiesce(port);
    const std::uint64_t deadline = now_ns() + 5 * kMs;
    GUEST_CHECK(poll(port, deadline) == 0);
    const std::uint64_t back = now_ns();
    guest::print("poll timeout: deadline %lu, back at %lu (+%ld ns)\n", deadline, back,
                 static_cast<long>(back - deadline));
    if (back < deadline) guest::fail("poll returned %lu ns before its timeout", deadline - back);
    GUEST_CHECK(!port_pending(port));
  }
  // An event already pending on the polled port: at once, long before the timeout.
  quiesce(port);
  pv::evtchn_send send{port};
  GUEST_CHECK(hypercall<hc::event_channel_op>(pv::EVTCHNOP_send, reinterpret_cast<std::uint64_t>(&send)) == 0);
  const std::uint64_t far = now_ns() + 10'000 * kMs;
  GUEST_CHECK(poll(port, far) == 0);
  GUEST_CHECK(now_ns() < far);
  GUEST_CHECK(port_pending(port));
  // An event arriving on the polled port (VIRQ_TIMER from a one-shot timer) ends the poll
  // before its timeout, and not before the event's own deadline.
  quiesce(port);
  const std::uint64_t fire_at = now_ns() + 2 * kMs;
  GUEST_CHECK(set_singleshot(fire_at) == 0);
  const std::uint64_t timeout = now_ns() + 10'000 * kMs;
  GUEST_CHECK(poll(timer_port, timeout) == 0);
  const std::uint64_t woken = now_ns();
  guest::print("poll woken by its port at %lu (timer at %lu)\n", woken, fire_at);
  GUEST_CHECK(woken >= fire_at && woken < timeout);
  GUEST_CHECK(port_pending(timer_port));
  // A timeout already past: at once (the safety one-shot timer, a second away, must not be
  // what ends it).
  quiesce(port);
  const std::uint64_t safety = now_ns() + 1000 * kMs;
  GUEST_CHECK(hypercall<hc::set_timer_op>(safety) == 0);
  GUEST_CHECK(poll(port, now_ns() - 1000) == 0);
  GUEST_CHECK(now_ns() < safety);
  GUEST_CHECK(!port_pending(port) && !port_pending(timer_port));
  GUEST_CHECK(hypercall<hc::set_timer_op>(0) == 0);
  quiesce(port);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  GUEST_CHECK(guest::set_event_callback(on_event) == 0);
  // Xen starts every PV vCPU with a 100 Hz periodic timer; stop it as Linux does, so every
  // event below comes from the timer under test.
  set_mask(true);
  GUEST_CHECK(vcpu_op(pv::VCPUOP_stop_periodic_timer, 0, nullptr) == 0);
  pv::evtchn_bind_virq bind{pv::VIRQ_TIMER, 0, 0};
  GUEST_CHECK(hypercall<hc::event_channel_op>(pv::EVTCHNOP_bind_virq, reinterpret_cast<std::uint64_t>(&bind)) == 0);
  timer_port = bind.port;
  guest::print("VIRQ_TIMER on port %u\n", timer_port);
  clear_port(timer_port);
  check_set_timer_op();
  check_singleshot();
  check_periodic();
  check_poll_timeout();
  // The singleshot sub-ops are for the calling vCPU only; this domain has just vCPU 0.
  GUEST_CHECK(set_singleshot(0) == 0);  // (past: sent at once)
  pv::vcpu_set_singleshot_timer s{now_ns(), 0, 0};
  GUEST_CHECK(vcpu_op(pv::VCPUOP_set_singleshot_timer, 1, &s) == -pv::XEN_ENOENT);
}
