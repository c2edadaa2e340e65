// event_channel: the port state machine and 2-level delivery, following Xen 4.17's
// common/event_channel.c and event_2l.c step for step (including its errno order: domain
// lookup, then port allocation, then the permission check). The locking contract is in
// event_channel.hpp; the wake-up ordering at EventChannelOps::block.
#include "event_channel.hpp"

#include <pv/errno.hpp>
#include <pv/shared_info.hpp>

namespace hv {
namespace {

constexpr unsigned kBitsPerWord = 64;

// Bit operations on words the guest shares with us. Xen uses locked instructions: the guest
// may be setting mask bits or clearing pending bits on another CPU at the same moment.
bool test_and_set_bit(std::uint64_t& word, unsigned bit) {
  const std::uint64_t m = std::uint64_t{1} << bit;
  return (__atomic_fetch_or(&word, m, __ATOMIC_SEQ_CST) & m) != 0;
}
bool test_and_clear_bit(std::uint64_t& word, unsigned bit) {
  const std::uint64_t m = std::uint64_t{1} << bit;
  return (__atomic_fetch_and(&word, ~m, __ATOMIC_SEQ_CST) & m) != 0;
}
bool test_bit(const std::uint64_t& word, unsigned bit) {
  return ((__atomic_load_n(&word, __ATOMIC_SEQ_CST) >> bit) & 1) != 0;
}

std::uint64_t& pending_word(pv::shared_info& si, std::uint32_t port) { return si.evtchn_pending[port / kBitsPerWord]; }
std::uint64_t& mask_word(pv::shared_info& si, std::uint32_t port) { return si.evtchn_mask[port / kBitsPerWord]; }

// Xen's dummy XSM, XSM_TARGET: the domain itself or a privileged (control) domain.
bool may_target(const Domain& caller, const Domain& target) {
  return &caller == &target || caller.privileged();
}

// notify_vcpu is the one port field a peer reads without this domain's lock (send), and
// bind_vcpu changes it under that lock only: both sides use atomic accesses.
unsigned notify_vcpu_of(const EventPort& chn) { return __atomic_load_n(&chn.notify_vcpu, __ATOMIC_RELAXED); }
void set_notify_vcpu(EventPort& chn, unsigned vcpu) {
  __atomic_store_n(&chn.notify_vcpu, static_cast<std::uint8_t>(vcpu), __ATOMIC_RELAXED);
}

// The event locks of two domains (possibly the same one), taken together in domid order.
class PairGuard {
 public:
  PairGuard(Domain& a, Domain& b)
      : first_(a.id() <= b.id() ? *a.events : *b.events), second_(a.id() <= b.id() ? *b.events : *a.events) {
    lock_pair(first_.lock, second_.lock);
  }
  ~PairGuard() { unlock_pair(first_.lock, second_.lock); }
  PairGuard(const PairGuard&) = delete;
  PairGuard& operator=(const PairGuard&) = delete;

 private:
  EventChannels& first_;
  EventChannels& second_;
};

// Sets evtchn_upcall_pending in `info` (v's vcpu_info, read once by the caller) and kicks v
// when it newly became pending (Xen's vcpu_mark_events_pending + vcpu_kick).
void raise_upcall(Vcpu& v, pv::vcpu_info& info) {
  if (__atomic_exchange_n(&info.evtchn_upcall_pending, std::uint8_t{1}, __ATOMIC_SEQ_CST) != 0) return;
  kick_vcpu(v);  // Xen's vcpu_kick: woken if blocked, told at once if running elsewhere
}

// Whether any of the polled ports is pending: 1 yes, 0 no, or -EINVAL for a port beyond the
// valid range (Xen's evtchn_port_poll, port by port in the guest's order).
long polled_port_pending(const Domain& d, const std::uint32_t* ports, unsigned nr_ports) {
  for (unsigned i = 0; i < nr_ports; ++i) {
    if (!d.events->valid(ports[i])) return -pv::XEN_EINVAL;
    if (d.shared_info != nullptr && test_bit(pending_word(*d.shared_info, ports[i]), ports[i] % kBitsPerWord))
      return 1;
  }
  return 0;
}

}  // namespace

void EventChannels::init(unsigned max_port) {
  // Field by field: the table is too large for a temporary on a hypervisor stack.
  for (EventPort& p : ports_) p = EventPort{};
  for (auto& per_vcpu : virq_to_port_)
    for (std::uint16_t& p : per_vcpu) p = 0;
  poll_mask = 0;
  for (std::atomic<std::int32_t>& p : poll_port) p = 0;
  dying = false;
  active_ = 0;
  max_port_ = max_port < kMaxPorts ? max_port : kMaxPorts - 1;
  valid_ports_ = kPortsPerBucket;
  ports_[0].state = PortState::reserved;
}

long EventChannels::allocate() {
  if (dying) return -pv::XEN_EINVAL;
  for (unsigned p = 0; p <= max_port_; ++p) {
    if (p >= valid_ports_.load(std::memory_order_relaxed))
      valid_ports_.fetch_add(kPortsPerBucket, std::memory_order_release);  // Xen allocates the next bucket
    if (ports_[p].state != PortState::free) continue;
    ++active_;
    return p;
  }
  return -pv::XEN_ENOSPC;
}

void EventChannels::release(std::uint32_t p) {
  ports_[p] = EventPort{};  // free, and notifications back to vCPU 0 as Xen resets them
  --active_;
}

bool EventChannels::stop_polling(unsigned id) {
  const std::uint32_t bit = 1u << id;
  if ((poll_mask.fetch_and(~bit) & bit) == 0) return false;
  poll_port[id] = 0;
  return true;
}

Domain* EventChannelOps::find(Vcpu& caller, pv::domid_t id) const {
  if (id == pv::DOMID_SELF) return &caller.domain();
  return domains_.find(id);
}

// Xen's evtchn_2l_set_pending: the pending bit, then (unmasked) the selector bit and the
// upcall flag of the notified vCPU; pollers are checked whatever the mask says. The caller
// holds d's event lock or, for an interdomain send, the sender's (which pins the pairing).
// The pending bit is set before any wake-up is tried (see block). The vcpu_info pointer is
// read once: register_vcpu_info may move it meanwhile, and it re-marks every selector in
// the new place, so bits set in the old one after its copy are not lost.
void EventChannelOps::set_pending(Domain& d, const EventPort& chn, std::uint32_t port) {
  Vcpu* v = d.vcpu(notify_vcpu_of(chn));
  pv::shared_info* si = d.shared_info;
  if (si == nullptr || v == nullptr) return;
  if (test_and_set_bit(pending_word(*si, port), port % kBitsPerWord)) return;
  pv::vcpu_info* info = v->info();
  if (info != nullptr && !test_bit(mask_word(*si, port), port % kBitsPerWord) &&
      !test_and_set_bit(info->evtchn_pending_sel, port / kBitsPerWord))
    raise_upcall(*v, *info);
  // Xen's evtchn_check_pollers: wake every vCPU polling this port or several ports; the one
  // that ends a poll (stop_polling) wakes its vCPU.
  EventChannels& ec = *d.events;
  const std::uint32_t polling = ec.poll_mask.load();
  for (unsigned id = 0; id < d.vcpu_count() && (polling >> id) != 0; ++id) {
    if ((polling & (1u << id)) == 0) continue;
    const std::int32_t want = ec.poll_port[id].load();
    if ((want <= 0 || static_cast<std::uint32_t>(want) == port) && ec.stop_polling(id)) unblock_vcpu(*d.vcpu(id));
  }
}

void EventChannelOps::clear_pending(Domain& d, std::uint32_t port) {
  if (d.shared_info != nullptr) test_and_clear_bit(pending_word(*d.shared_info, port), port % kBitsPerWord);
}

long EventChannelOps::alloc_unbound(Vcpu& caller, pv::evtchn_alloc_unbound& op) {
  Domain* d = find(caller, op.dom);
  if (d == nullptr || d->events == nullptr) return -pv::XEN_ESRCH;
  LockGuard guard(d->events->lock);
  const long port = d->events->allocate();
  if (port < 0) return port;
  if (!may_target(caller.domain(), *d)) {
    d->events->release(static_cast<std::uint32_t>(port));  // Xen's check_free_port
    return -pv::XEN_EPERM;
  }
  EventPort& chn = d->events->port(static_cast<std::uint32_t>(port));
  chn.state = PortState::unbound;
  // DOMID_SELF names the caller, not the domain the port is in.
  chn.remote_domid = op.remote_dom == pv::DOMID_SELF ? caller.domain().id() : op.remote_dom;
  op.port = static_cast<std::uint32_t>(port);
  return 0;
}

// Both domains' locks (one, for a loopback): the remote port's state is checked and both
// ends change in one step, so neither side ever sees half a pairing.
long EventChannelOps::bind_interdomain(Vcpu& caller, pv::evtchn_bind_interdomain& op) {
  Domain& ld = caller.domain();
  Domain* rd = find(caller, op.remote_dom);
  if (rd == nullptr || rd->events == nullptr) return -pv::XEN_ESRCH;
  PairGuard guard(ld, *rd);
  const long lport = ld.events->allocate();
  if (lport < 0) return lport;
  const bool remote_ok = rd->events->valid(op.remote_port) &&
                         rd->events->port(op.remote_port).state == PortState::unbound &&
                         rd->events->port(op.remote_port).remote_domid == ld.id();
  if (!remote_ok) {
    ld.events->release(static_cast<std::uint32_t>(lport));
    return -pv::XEN_EINVAL;
  }
  EventPort& lchn = ld.events->port(static_cast<std::uint32_t>(lport));
  EventPort& rchn = rd->events->port(op.remote_port);
  lchn.state = PortState::interdomain;
  lchn.remote_domid = rd->id();
  lchn.remote_port = static_cast<std::uint16_t>(op.remote_port);
  rchn.state = PortState::interdomain;
  rchn.remote_domid = ld.id();
  rchn.remote_port = static_cast<std::uint16_t>(lport);
  // Xen: notifications sent to the unbound remote port were dropped, so the new local port
  // starts pending to make up for any of them.
  set_pending(ld, lchn, static_cast<std::uint32_t>(lport));
  op.local_port = static_cast<std::uint32_t>(lport);
  return 0;
}

long EventChannelOps::bind_virq(Vcpu& caller, pv::evtchn_bind_virq& op) {
  Domain& d = caller.domain();
  if (op.virq >= pv::NR_VIRQS) return -pv::XEN_EINVAL;
  if (virq_is_global(op.virq) && op.vcpu != 0) return -pv::XEN_EINVAL;
  if (d.vcpu(op.vcpu) == nullptr) return -pv::XEN_ENOENT;
  LockGuard guard(d.events->lock);
  if (d.events->virq_port(op.vcpu, op.virq) != 0) return -pv::XEN_EEXIST;
  const long port = d.events->allocate();
  if (port < 0) return port;
  EventPort& chn = d.events->port(static_cast<std::uint32_t>(port));
  chn.state = PortState::virq;
  set_notify_vcpu(chn, op.vcpu);
  chn.virq = static_cast<std::uint8_t>(op.virq);
  d.events->set_virq_port(op.vcpu, op.virq, static_cast<std::uint16_t>(port));
  op.port = static_cast<std::uint32_t>(port);
  return 0;
}

long EventChannelOps::bind_ipi(Vcpu& caller, pv::evtchn_bind_ipi& op) {
  Domain& d = caller.domain();
  if (d.vcpu(op.vcpu) == nullptr) return -pv::XEN_ENOENT;
  LockGuard guard(d.events->lock);
  const long port = d.events->allocate();
  if (port < 0) return port;
  EventPort& chn = d.events->port(static_cast<std::uint32_t>(port));
  chn.state = PortState::ipi;
  set_notify_vcpu(chn, op.vcpu);
  op.port = static_cast<std::uint32_t>(port);
  return 0;
}

// No domain is given physical IRQs here: Xen's answer for a PV domain without access to the
// pirq is -EPERM, and -EINVAL beyond nr_pirqs (a domU's: 16 legacy GSIs of QEMU's 24-pin
// IOAPIC + 32 extra; we use that bound for every domain).
long EventChannelOps::bind_pirq(Vcpu&, pv::evtchn_bind_pirq& op) {
  constexpr std::uint32_t kNrPirqs = 24 + 32;
  return op.pirq >= kNrPirqs ? -pv::XEN_EINVAL : -pv::XEN_EPERM;
}

Domain* EventChannelOps::lock_partner(Domain& d, std::uint32_t port) const {
  if (!d.events->valid(port) || d.events->port(port).state != PortState::interdomain) return nullptr;
  Domain* peer = domains_.find(d.events->port(port).remote_domid);
  return peer != &d && peer != nullptr && peer->events != nullptr ? peer : nullptr;
}

// Xen's evtchn_close with its "again" loop: the peer of an interdomain port is read under
// the own lock, but both locks must be taken in domid order, so the own one is dropped and
// the pair taken; if the port changed meanwhile (the peer closed its end, or it was closed
// and rebound), look again.
long EventChannelOps::close(Domain& d, std::uint32_t port) {
  for (;;) {
    Domain* peer = nullptr;
    {
      LockGuard own(d.events->lock);
      peer = lock_partner(d, port);
      if (peer == nullptr) return close_locked(d, port);
    }
    PairGuard both(d, *peer);
    if (lock_partner(d, port) == peer) return close_locked(d, port);
  }
}

long EventChannelOps::close_locked(Domain& d, std::uint32_t port) {
  EventChannels& ec = *d.events;
  if (!ec.valid(port)) return -pv::XEN_EINVAL;
  EventPort& chn = ec.port(port);
  switch (chn.state) {
    case PortState::free:
    case PortState::reserved:
    case PortState::pirq:  // (never bound here)
      return -pv::XEN_EINVAL;
    case PortState::unbound:
    case PortState::ipi:
      break;
    case PortState::virq:
      ec.set_virq_port(virq_is_global(chn.virq) ? 0 : chn.notify_vcpu, chn.virq, 0);
      break;
    case PortState::interdomain: {
      // The peer's port goes back to waiting for us (Xen: ECS_UNBOUND, remote = d1).
      Domain* peer = domains_.find(chn.remote_domid);
      if (peer != nullptr && peer->events != nullptr) {
        EventPort& rchn = peer->events->port(chn.remote_port);
        rchn.state = PortState::unbound;
        rchn.remote_domid = d.id();
        rchn.remote_port = 0;
      }
      break;
    }
  }
  clear_pending(d, port);
  ec.release(port);
  return 0;
}

// Only the sender's lock: an interdomain pairing cannot change while it is held (close and
// bind take both), and everything touched on the receiving side is atomic.
long EventChannelOps::send(Domain& d, std::uint32_t port) {
  LockGuard guard(d.events->lock);
  if (!d.events->valid(port)) return -pv::XEN_EINVAL;
  const EventPort& chn = d.events->port(port);
  switch (chn.state) {
    case PortState::interdomain: {
      Domain* rd = domains_.find(chn.remote_domid);
      if (rd != nullptr && rd->events != nullptr) set_pending(*rd, rd->events->port(chn.remote_port), chn.remote_port);
      return 0;
    }
    case PortState::ipi:
      set_pending(d, chn, port);
      return 0;
    case PortState::unbound:
      return 0;  // silently dropped, as Xen does
    default:
      return -pv::XEN_EINVAL;
  }
}

long EventChannelOps::status(Vcpu& caller, pv::evtchn_status& op) {
  Domain* d = find(caller, op.dom);
  if (d == nullptr || d->events == nullptr) return -pv::XEN_ESRCH;
  LockGuard guard(d->events->lock);
  if (!d->events->valid(op.port)) return -pv::XEN_EINVAL;
  if (!may_target(caller.domain(), *d)) return -pv::XEN_EPERM;
  const EventPort& chn = d->events->port(op.port);
  switch (chn.state) {
    case PortState::free:
    case PortState::reserved:
      op.status = pv::EVTCHNSTAT_closed;
      break;
    case PortState::unbound:
      op.status = pv::EVTCHNSTAT_unbound;
      op.u.unbound.dom = chn.remote_domid;
      break;
    case PortState::interdomain:
      op.status = pv::EVTCHNSTAT_interdomain;
      op.u.interdomain.dom = chn.remote_domid;
      op.u.interdomain.port = chn.remote_port;
      break;
    case PortState::pirq:
      op.status = pv::EVTCHNSTAT_pirq;
      break;
    case PortState::virq:
      op.status = pv::EVTCHNSTAT_virq;
      op.u.virq = chn.virq;
      break;
    case PortState::ipi:
      op.status = pv::EVTCHNSTAT_ipi;
      break;
  }
  op.vcpu = chn.notify_vcpu;
  return 0;
}

long EventChannelOps::bind_vcpu(Domain& d, std::uint32_t port, std::uint32_t vcpu) {
  if (d.vcpu(vcpu) == nullptr) return -pv::XEN_ENOENT;
  LockGuard guard(d.events->lock);
  if (!d.events->valid(port)) return -pv::XEN_EINVAL;
  EventPort& chn = d.events->port(port);
  const bool movable = chn.state == PortState::unbound || chn.state == PortState::interdomain ||
                       (chn.state == PortState::virq && virq_is_global(chn.virq));
  if (!movable) return -pv::XEN_EINVAL;
  set_notify_vcpu(chn, vcpu);  // a peer's send may be reading it right now
  return 0;
}

// Xen's evtchn_2l_unmask: clearing a mask bit over a pending port raises it on the port's
// vCPU. The lock keeps the port's notify_vcpu and the vcpu_info's place steady.
long EventChannelOps::unmask(Domain& d, std::uint32_t port) {
  LockGuard guard(d.events->lock);
  if (!d.events->valid(port)) return -pv::XEN_EINVAL;
  pv::shared_info* si = d.shared_info;
  Vcpu* v = d.vcpu(d.events->port(port).notify_vcpu);
  pv::vcpu_info* info = v != nullptr ? v->info() : nullptr;
  if (si == nullptr || info == nullptr) return 0;
  const unsigned bit = port % kBitsPerWord;
  if (test_and_clear_bit(mask_word(*si, port), bit) && test_bit(pending_word(*si, port), bit) &&
      !test_and_set_bit(info->evtchn_pending_sel, port / kBitsPerWord))
    raise_upcall(*v, *info);
  return 0;
}

// Xen's evtchn_reset for a running domain: only the domain itself (a privileged caller
// would also need the target paused, which boot-module domains never are: -EINVAL).
long EventChannelOps::reset(Vcpu& caller, pv::domid_t dom) {
  Domain* d = find(caller, dom);
  if (d == nullptr || d->events == nullptr) return -pv::XEN_ESRCH;
  if (!may_target(caller.domain(), *d)) return -pv::XEN_EPERM;
  if (d != &caller.domain()) return -pv::XEN_EINVAL;
  close_all(*d);
  return 0;
}

// Every port closed one at a time, each with the locks it needs (close): no lock is held
// across the walk, so a peer's send or close is never kept waiting for a whole table.
void EventChannelOps::close_all(Domain& d) {
  for (unsigned p = d.events->valid_ports(); --p > 0;) (void)close(d, p);
}

// From timers and other CPUs, holding no lock: the port is looked up under the domain's
// event lock, so it cannot be closed (or rebound to another VIRQ) halfway through.
void EventChannelOps::send_vcpu_virq(Vcpu& v, std::uint32_t virq) {
  Domain& d = v.domain();
  if (virq >= pv::NR_VIRQS || virq_is_global(virq) || d.events == nullptr) return;
  LockGuard guard(d.events->lock);
  if (const std::uint16_t port = d.events->virq_port(v.id(), virq)) set_pending(d, d.events->port(port), port);
}

void EventChannelOps::send_global_virq(Domain& d, std::uint32_t virq) {
  if (virq >= pv::NR_VIRQS || !virq_is_global(virq) || d.events == nullptr) return;
  LockGuard guard(d.events->lock);
  if (const std::uint16_t port = d.events->virq_port(0, virq)) set_pending(d, d.events->port(port), port);
}

// Xen's vcpu_block_enable_events: events are enabled, then the vCPU blocks unless one is
// already waiting.
//
// Why no wake-up is lost (Xen's vcpu_block against evtchn_set_pending): a blocking vCPU
// writes its state (blocked), then reads the event flags; a sender writes the event flags
// (pending bit, selector, evtchn_upcall_pending, or for a poller the port's pending bit),
// then reads the state (wake_from_blocked's compare-exchange). Every access is sequentially
// consistent, and the fence keeps the blocker's read after its write, so at least one side
// sees the other's write: either the sender finds the vCPU blocked and wakes it, or the
// vCPU finds the event and wakes itself. Both may: wake_from_blocked lets exactly one of
// them change blocked -> runnable (and notify the scheduler).
// runnable -> blocked, unless a sibling's VCPUOP_down took the vCPU offline meanwhile (a plain
// store would bring it back at the next event: Xen keeps "down" and "blocked" apart).
namespace {
bool block_if_runnable(Vcpu& v) {
  VcpuState runnable = VcpuState::runnable;
  return v.state.compare_exchange_strong(runnable, VcpuState::blocked);
}
}  // namespace

void EventChannelOps::block(Vcpu& v) {
  if (pv::vcpu_info* info = v.info()) __atomic_store_n(&info->evtchn_upcall_mask, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  if (!block_if_runnable(v)) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (events_need_delivery(v)) (void)v.wake_from_blocked();
}

// Xen's do_poll (the caller checked nr_ports <= 128 and copied the ports): returns at once
// when an upcall is deliverable or a polled port is pending; a bad port is -EINVAL.
// Blocked and registered as polling first, checked after (the ordering at block): a sender
// that sets a polled port pending later sees the poll bit and ends the poll. If someone
// already ended it (saw the vCPU blocked before the poll bit, or the reverse), or anything
// is pending, the poll ends here and the vCPU wakes itself; whichever of it and a sender
// wins stop_polling is the one that wakes.
long EventChannelOps::poll(Vcpu& v, const std::uint32_t* ports, unsigned nr_ports) {
  EventChannels& ec = *v.domain().events;
  const unsigned id = v.id();
  if (!block_if_runnable(v)) return 0;
  ec.poll_port[id] = -1;
  ec.poll_mask.fetch_or(1u << id);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  long rc = 0;
  const bool woken = (ec.poll_mask.load() & (1u << id)) == 0 || v.state.load() != VcpuState::blocked;
  if (!woken && !events_need_delivery(v)) rc = polled_port_pending(v.domain(), ports, nr_ports);
  if (!woken && rc == 0) {
    // One port: narrow the poll to it, unless it already ended (then the -1 is gone).
    std::int32_t any = -1;
    if (nr_ports == 1) ec.poll_port[id].compare_exchange_strong(any, static_cast<std::int32_t>(ports[0]));
    return 0;
  }
  if (ec.stop_polling(id)) (void)v.wake_from_blocked();
  return rc < 0 ? rc : 0;
}

void EventChannelOps::destroy(Domain& d) {
  if (d.events == nullptr) return;
  {
    LockGuard guard(d.events->lock);
    d.events->dying = true;  // no port allocated from here on
  }
  close_all(d);
  d.events->poll_mask = 0;
}

bool events_need_delivery(const Vcpu& v) {
  const pv::vcpu_info* info = v.info();
  return info != nullptr && __atomic_load_n(&info->evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0 &&
         __atomic_load_n(&info->evtchn_upcall_mask, __ATOMIC_SEQ_CST) == 0;
}

}  // namespace hv
