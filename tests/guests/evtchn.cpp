// evtchn: event channels of one domain with the 2-level ABI, as a PV kernel uses them. A
// loopback interdomain pair (alloc_unbound for ourselves, then bind_interdomain to it), an
// IPI and a VIRQ each reach the event callback with exactly their port pending; a masked
// port raises nothing until EVTCHNOP_unmask; status reports every state; close returns the
// peer to unbound; Xen's errnos for bad ports, double binds and bad arguments; SCHEDOP_block
// and SCHEDOP_poll return at once when an event is already there. Runs as dom0.
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "traps.hpp"

namespace {

using guest::hypercall;
namespace hc = pv::hypercall;

volatile unsigned upcalls = 0;          // event callbacks taken
volatile std::uint64_t ports_seen = 0;  // bit p: port p (< 64) was pending in a callback
volatile unsigned bad_callbacks = 0;    // callbacks entered without the upcall mask set, etc.

// The 2-level upcall as Linux's xen_evtchn_do_upcall does it: acknowledge, take the
// selector, then every pending unmasked port of each selected word (clearing it).
void on_event(guest::TrapContext& ctx) {
  pv::vcpu_info& vi = guest::mm::vcpu0();
  pv::shared_info& si = guest::mm::shared_info();
  upcalls = upcalls + 1;
  // Xen masked upcalls for the callback and saved the old mask (0) in CS bits 32-39.
  if (vi.evtchn_upcall_mask != 1 || ((ctx.cs() >> 32) & 0xFF) != 0) bad_callbacks = bad_callbacks + 1;
  __atomic_store_n(&vi.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  std::uint64_t sel = __atomic_exchange_n(&vi.evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  while (sel != 0) {
    const unsigned w = static_cast<unsigned>(__builtin_ctzll(sel));
    sel &= sel - 1;
    std::uint64_t bits = __atomic_load_n(&si.evtchn_pending[w], __ATOMIC_SEQ_CST) & ~si.evtchn_mask[w];
    __atomic_fetch_and(&si.evtchn_pending[w], ~bits, __ATOMIC_SEQ_CST);
    if (w == 0) ports_seen = ports_seen | bits;
  }
}

long evtchn_op(unsigned cmd, void* arg) {
  return hypercall<hc::event_channel_op>(cmd, reinterpret_cast<std::uint64_t>(arg));
}

void expect_rc(const char* what, long got, long want) {
  guest::print("%s: %ld\n", what, got);
  if (got != want) guest::fail("%s returned %ld, expected %ld", what, got, want);
}

bool pending(std::uint32_t port) {
  return (__atomic_load_n(&guest::mm::shared_info().evtchn_pending[port / 64], __ATOMIC_SEQ_CST) >> (port % 64)) & 1;
}
void set_port_mask(std::uint32_t port, bool masked) {
  std::uint64_t& w = guest::mm::shared_info().evtchn_mask[port / 64];
  const std::uint64_t bit = std::uint64_t{1} << (port % 64);
  if (masked) __atomic_fetch_or(&w, bit, __ATOMIC_SEQ_CST);
  else __atomic_fetch_and(&w, ~bit, __ATOMIC_SEQ_CST);
}
void set_upcall_mask(bool masked) {
  __atomic_store_n(&guest::mm::vcpu0().evtchn_upcall_mask, std::uint8_t{masked}, __ATOMIC_SEQ_CST);
}

pv::evtchn_status status_of(std::uint32_t port) {
  pv::evtchn_status s{};
  s.dom = pv::DOMID_SELF;
  s.port = port;
  expect_rc("status", evtchn_op(pv::EVTCHNOP_status, &s), 0);
  return s;
}

// Sends on `port` and checks the callback ran once, on the way out of the send, with
// exactly `target` pending.
void send_expect_upcall(const char* what, std::uint32_t port, std::uint32_t target) {
  const unsigned before = upcalls;
  ports_seen = 0;
  pv::evtchn_send s{port};
  expect_rc(what, evtchn_op(pv::EVTCHNOP_send, &s), 0);
  if (upcalls != before + 1) guest::fail("%s: %u upcalls, expected 1", what, upcalls - before);
  if (ports_seen != (std::uint64_t{1} << target)) guest::fail("%s: ports seen %#lx", what, ports_seen + 0);
}

void close_port(std::uint32_t port) {
  pv::evtchn_close c{port};
  expect_rc("close", evtchn_op(pv::EVTCHNOP_close, &c), 0);
  GUEST_CHECK(status_of(port).status == pv::EVTCHNSTAT_closed);
}

// alloc_unbound for ourselves, bind_interdomain to it, sends both ways; returns the pair.
void loopback(std::uint32_t& unbound, std::uint32_t& local) {
  pv::evtchn_alloc_unbound a{pv::DOMID_SELF, pv::DOMID_SELF, 0};
  expect_rc("alloc_unbound(self, self)", evtchn_op(pv::EVTCHNOP_alloc_unbound, &a), 0);
  GUEST_CHECK(a.port == 1);  // the lowest free port (0 is reserved)
  pv::evtchn_status s = status_of(a.port);
  GUEST_CHECK(s.status == pv::EVTCHNSTAT_unbound && s.u.unbound.dom == 0 && s.vcpu == 0);
  pv::evtchn_bind_interdomain b{pv::DOMID_SELF, 0, a.port, 0};
  expect_rc("bind_interdomain(self)", evtchn_op(pv::EVTCHNOP_bind_interdomain, &b), 0);
  GUEST_CHECK(b.local_port == 2);
  // Upcalls are still masked: Xen made the new local port pending, and nothing was delivered.
  GUEST_CHECK(pending(b.local_port) && !pending(a.port) && upcalls == 0);
  GUEST_CHECK(guest::mm::vcpu0().evtchn_upcall_pending == 1);
  s = status_of(a.port);
  GUEST_CHECK(s.status == pv::EVTCHNSTAT_interdomain && s.u.interdomain.dom == 0 &&
              s.u.interdomain.port == b.local_port);
  // Unmasking and entering the hypervisor (Linux's xen_force_evtchn_callback) delivers it.
  set_upcall_mask(false);
  (void)hypercall<hc::xen_version>(0, 0);
  GUEST_CHECK(upcalls == 1 && ports_seen == (std::uint64_t{1} << b.local_port));
  GUEST_CHECK(guest::mm::vcpu0().evtchn_upcall_mask == 0);  // iret restored the saved mask
  send_expect_upcall("send(local)", b.local_port, a.port);
  send_expect_upcall("send(unbound end)", a.port, b.local_port);
  unbound = a.port;
  local = b.local_port;
}

void masked_port(std::uint32_t sender, std::uint32_t target) {
  set_port_mask(target, true);
  const unsigned before = upcalls;
  pv::evtchn_send s{sender};
  expect_rc("send(to masked)", evtchn_op(pv::EVTCHNOP_send, &s), 0);
  GUEST_CHECK(upcalls == before && pending(target) && guest::mm::vcpu0().evtchn_upcall_pending == 0);
  ports_seen = 0;
  pv::evtchn_unmask u{target};
  expect_rc("unmask", evtchn_op(pv::EVTCHNOP_unmask, &u), 0);
  GUEST_CHECK(upcalls == before + 1 && ports_seen == (std::uint64_t{1} << target));
}

void ipi_and_virq() {
  pv::evtchn_bind_ipi ipi{0, 0};
  expect_rc("bind_ipi", evtchn_op(pv::EVTCHNOP_bind_ipi, &ipi), 0);
  pv::evtchn_status s = status_of(ipi.port);
  GUEST_CHECK(s.status == pv::EVTCHNSTAT_ipi && s.vcpu == 0);
  send_expect_upcall("send(ipi)", ipi.port, ipi.port);
  pv::evtchn_bind_ipi bad_ipi{100, 0};
  expect_rc("bind_ipi(vcpu 100)", evtchn_op(pv::EVTCHNOP_bind_ipi, &bad_ipi), -pv::XEN_ENOENT);

  pv::evtchn_bind_virq v{pv::VIRQ_DEBUG, 0, 0};
  expect_rc("bind_virq(DEBUG)", evtchn_op(pv::EVTCHNOP_bind_virq, &v), 0);
  s = status_of(v.port);
  GUEST_CHECK(s.status == pv::EVTCHNSTAT_virq && s.u.virq == pv::VIRQ_DEBUG && s.vcpu == 0);
  pv::evtchn_bind_virq again{pv::VIRQ_DEBUG, 0, 0};
  expect_rc("bind_virq(DEBUG) again", evtchn_op(pv::EVTCHNOP_bind_virq, &again), -pv::XEN_EEXIST);
  pv::evtchn_bind_virq global_on_1{pv::VIRQ_CONSOLE, 1, 0};
  expect_rc("bind_virq(CONSOLE, vcpu 1)", evtchn_op(pv::EVTCHNOP_bind_virq, &global_on_1), -pv::XEN_EINVAL);
  pv::evtchn_bind_virq bad_virq{pv::NR_VIRQS, 0, 0};
  expect_rc("bind_virq(NR_VIRQS)", evtchn_op(pv::EVTCHNOP_bind_virq, &bad_virq), -pv::XEN_EINVAL);
  pv::evtchn_bind_virq bad_vcpu{pv::VIRQ_TIMER, 100, 0};
  expect_rc("bind_virq(TIMER, vcpu 100)", evtchn_op(pv::EVTCHNOP_bind_virq, &bad_vcpu), -pv::XEN_ENOENT);
  pv::evtchn_send to_virq{v.port};
  expect_rc("send(virq)", evtchn_op(pv::EVTCHNOP_send, &to_virq), -pv::XEN_EINVAL);
  pv::evtchn_bind_vcpu move{v.port, 0};
  expect_rc("bind_vcpu(per-vCPU virq)", evtchn_op(pv::EVTCHNOP_bind_vcpu, &move), -pv::XEN_EINVAL);
  close_port(v.port);
  close_port(ipi.port);
}

void errnos(std::uint32_t unbound, std::uint32_t local) {
  pv::evtchn_send s{4095};
  expect_rc("send(4095)", evtchn_op(pv::EVTCHNOP_send, &s), -pv::XEN_EINVAL);
  s.port = 0;
  expect_rc("send(0, reserved)", evtchn_op(pv::EVTCHNOP_send, &s), -pv::XEN_EINVAL);
  s.port = 40;
  expect_rc("send(free port)", evtchn_op(pv::EVTCHNOP_send, &s), -pv::XEN_EINVAL);
  pv::evtchn_close c{40};
  expect_rc("close(free port)", evtchn_op(pv::EVTCHNOP_close, &c), -pv::XEN_EINVAL);
  pv::evtchn_status st{};
  st.dom = pv::DOMID_SELF;
  st.port = 4095;
  expect_rc("status(4095)", evtchn_op(pv::EVTCHNOP_status, &st), -pv::XEN_EINVAL);
  st.dom = 0x7FEF;
  st.port = 1;
  expect_rc("status(no such domain)", evtchn_op(pv::EVTCHNOP_status, &st), -pv::XEN_ESRCH);
  pv::evtchn_alloc_unbound a{0x7FEF, 0, 0};
  expect_rc("alloc_unbound(no such domain)", evtchn_op(pv::EVTCHNOP_alloc_unbound, &a), -pv::XEN_ESRCH);
  pv::evtchn_bind_interdomain b{pv::DOMID_SELF, 0, local, 0};
  expect_rc("bind_interdomain(bound port)", evtchn_op(pv::EVTCHNOP_bind_interdomain, &b), -pv::XEN_EINVAL);
  expect_rc("send(bad pointer)", hypercall<hc::event_channel_op>(pv::EVTCHNOP_send, 1), -pv::XEN_EFAULT);
  expect_rc("event_channel_op(99)", evtchn_op(99, &s), -pv::XEN_ENOSYS);
  pv::evtchn_bind_pirq pirq{0xFFFFFFFFu, 0, 0};
  expect_rc("bind_pirq(~0)", evtchn_op(pv::EVTCHNOP_bind_pirq, &pirq), -pv::XEN_EINVAL);

  // Closing one end of the loopback: the other goes back to unbound (for us), and sends on
  // it are dropped without an error.
  pv::evtchn_close cl{local};
  expect_rc("close(local)", evtchn_op(pv::EVTCHNOP_close, &cl), 0);
  pv::evtchn_status peer = status_of(unbound);
  GUEST_CHECK(peer.status == pv::EVTCHNSTAT_unbound && peer.u.unbound.dom == 0);
  const unsigned before = upcalls;
  s.port = unbound;
  expect_rc("send(unbound)", evtchn_op(pv::EVTCHNOP_send, &s), 0);
  GUEST_CHECK(upcalls == before && !pending(local) && !pending(unbound));
  expect_rc("close(local) again", evtchn_op(pv::EVTCHNOP_close, &cl), -pv::XEN_EINVAL);
  close_port(unbound);
}

void block_and_poll() {
  pv::evtchn_bind_ipi ipi{0, 0};
  expect_rc("bind_ipi", evtchn_op(pv::EVTCHNOP_bind_ipi, &ipi), 0);
  // With upcalls masked the send leaves the event waiting; block unmasks and returns at once,
  // and the event is delivered on the way out.
  set_upcall_mask(true);
  const unsigned before = upcalls;
  pv::evtchn_send s{ipi.port};
  expect_rc("send(ipi, upcalls masked)", evtchn_op(pv::EVTCHNOP_send, &s), 0);
  GUEST_CHECK(upcalls == before);
  ports_seen = 0;
  expect_rc("sched_op(block) with an event pending", hypercall<hc::sched_op>(pv::SCHEDOP_block, 0), 0);
  GUEST_CHECK(upcalls == before + 1 && ports_seen == (std::uint64_t{1} << ipi.port));
  GUEST_CHECK(guest::mm::vcpu0().evtchn_upcall_mask == 0);

  // Poll: a masked port already pending returns at once; bad ports and lists are refused.
  set_port_mask(ipi.port, true);
  expect_rc("send(masked ipi)", evtchn_op(pv::EVTCHNOP_send, &s), 0);
  std::uint32_t ports[2] = {ipi.port, 0};
  pv::sched_poll poll{{reinterpret_cast<std::uint64_t>(ports)}, 1, 0, 0};
  expect_rc("sched_op(poll) on a pending port", hypercall<hc::sched_op>(pv::SCHEDOP_poll, reinterpret_cast<std::uint64_t>(&poll)), 0);
  ports[1] = 4095;
  guest::mm::shared_info().evtchn_pending[0] = 0;
  poll.nr_ports = 2;
  expect_rc("sched_op(poll) port 4095", hypercall<hc::sched_op>(pv::SCHEDOP_poll, reinterpret_cast<std::uint64_t>(&poll)), -pv::XEN_EINVAL);
  poll.nr_ports = 129;
  expect_rc("sched_op(poll) 129 ports", hypercall<hc::sched_op>(pv::SCHEDOP_poll, reinterpret_cast<std::uint64_t>(&poll)), -pv::XEN_EINVAL);
  set_port_mask(ipi.port, false);
  close_port(ipi.port);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);  // maps shared_info
  expect_rc("callback_op(register event)", guest::set_event_callback(on_event), 0);
  set_upcall_mask(true);  // (guest-runtime may have enabled them; we start masked)
  std::uint32_t unbound = 0, local = 0;
  loopback(unbound, local);
  masked_port(local, unbound);
  ipi_and_virq();
  errnos(unbound, local);
  block_and_poll();
  if (bad_callbacks != 0) guest::fail("%u callbacks without the upcall mask set or with a bad saved mask", bad_callbacks + 0);
  guest::print("%u upcalls\n", upcalls + 0);
}
