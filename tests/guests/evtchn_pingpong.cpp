// evtchn_pingpong: two domains (dom0 and boot-module d1, the same image) ping-pong over one
// interdomain event channel, each blocking in SCHEDOP_block until the other's event wakes it.
// There is no xenstore: dom0 (privileged) allocates d1's port 1 for itself with
// alloc_unbound(dom=1, remote=0), the lowest free port, and binds its own port 1 to it. After
// the round trips d1 sends once more and closes its port while that event is in flight;
// dom0 then finds its port unbound (for d1) and sends into nothing. Microxen only (Xen 4.17
// cannot start a second domain at boot on x86).
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "traps.hpp"

namespace {

using guest::hypercall;
namespace hc = pv::hypercall;

constexpr unsigned kRoundTrips = 100;
constexpr std::uint32_t kPort = 1;  // the same number on both sides (lowest free port)

volatile unsigned received = 0;  // callbacks that found kPort pending

void on_event(guest::TrapContext&) {
  pv::vcpu_info& vi = guest::mm::vcpu0();
  pv::shared_info& si = guest::mm::shared_info();
  __atomic_store_n(&vi.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  (void)__atomic_exchange_n(&vi.evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  const std::uint64_t bit = std::uint64_t{1} << kPort;
  if (__atomic_fetch_and(&si.evtchn_pending[0], ~bit, __ATOMIC_SEQ_CST) & bit) received = received + 1;
}

long evtchn_op(unsigned cmd, void* arg) {
  return hypercall<hc::event_channel_op>(cmd, reinterpret_cast<std::uint64_t>(arg));
}

void expect_rc(const char* what, long got, long want) {
  if (got != want) guest::fail("%s returned %ld, expected %ld", what, got, want);
}

void send() {
  pv::evtchn_send s{kPort};
  expect_rc("send", evtchn_op(pv::EVTCHNOP_send, &s), 0);
}

pv::evtchn_status status() {
  pv::evtchn_status s{};
  s.dom = pv::DOMID_SELF;
  s.port = kPort;
  expect_rc("status", evtchn_op(pv::EVTCHNOP_status, &s), 0);
  return s;
}

void run_dom0() {
  pv::evtchn_alloc_unbound a{1, 0, 0};  // in d1, for us: needs privilege
  expect_rc("alloc_unbound(dom=1, remote=0)", evtchn_op(pv::EVTCHNOP_alloc_unbound, &a), 0);
  GUEST_CHECK(a.port == kPort);
  pv::evtchn_bind_interdomain b{1, 0, kPort, 0};
  expect_rc("bind_interdomain(1, 1)", evtchn_op(pv::EVTCHNOP_bind_interdomain, &b), 0);
  GUEST_CHECK(b.local_port == kPort);
  // Xen marks a freshly bound port pending; that is not a pong.
  __atomic_fetch_and(&guest::mm::shared_info().evtchn_pending[0], ~(std::uint64_t{1} << kPort), __ATOMIC_SEQ_CST);
  guest::print("dom0: bound port %u to d1 port %u\n", b.local_port, a.port);
  for (unsigned i = 1; i <= kRoundTrips; ++i) {
    send();
    guest::block_until(received, i, 1000);
  }
  guest::print("dom0: %u round trips\n", kRoundTrips);
  // d1 sends once more and closes its end (on one pCPU before we run again; on several we
  // may look first: wait for it): our port then waits for d1 anew.
  pv::evtchn_status s = status();
  for (unsigned tries = 0; s.status == pv::EVTCHNSTAT_interdomain && tries < 100000; ++tries) {
    expect_rc("sched_op(yield)", hypercall<hc::sched_op>(pv::SCHEDOP_yield, 0), 0);
    s = status();
  }
  if (s.status != pv::EVTCHNSTAT_unbound || s.u.unbound.dom != 1)
    guest::fail("after d1's close: status %u dom %u", s.status, s.u.unbound.dom);
  send();  // dropped
  pv::evtchn_close c{kPort};
  expect_rc("close", evtchn_op(pv::EVTCHNOP_close, &c), 0);
}

void run_d1() {
  // dom0 allocates and binds our port; on several pCPUs we may get here first: wait for it.
  pv::evtchn_status s = status();
  for (unsigned tries = 0; s.status != pv::EVTCHNSTAT_interdomain && tries < 100000; ++tries) {
    expect_rc("sched_op(yield)", hypercall<hc::sched_op>(pv::SCHEDOP_yield, 0), 0);
    s = status();
  }
  if (s.status != pv::EVTCHNSTAT_interdomain || s.u.interdomain.dom != 0 || s.u.interdomain.port != kPort)
    guest::fail("port %u: status %u dom %u port %u", kPort, s.status, s.u.interdomain.dom, s.u.interdomain.port);
  for (unsigned i = 1; i <= kRoundTrips; ++i) {
    guest::block_until(received, i, 1000);
    send();
  }
  send();  // in flight when we close
  pv::evtchn_close c{kPort};
  expect_rc("close", evtchn_op(pv::EVTCHNOP_close, &c), 0);
  GUEST_CHECK(status().status == pv::EVTCHNSTAT_closed);
  pv::evtchn_send again{kPort};
  expect_rc("send after close", evtchn_op(pv::EVTCHNOP_send, &again), -pv::XEN_EINVAL);
  guest::print("d1: %u round trips, port closed\n", kRoundTrips);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);  // maps shared_info
  expect_rc("callback_op(register event)", guest::set_event_callback(on_event), 0);
  if (info.flags & pv::SIF_INITDOMAIN) run_dom0();
  else run_d1();
}
