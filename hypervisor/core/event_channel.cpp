// event_channel: the port state machine and 2-level delivery, following Xen 4.17's
// common/event_channel.c and event_2l.c step for step (including its errno order: domain
// lookup, then port allocation, then the permission check).
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

}  // namespace

void EventChannels::init(unsigned max_port) {
  // Field by field: the table is too large for a temporary on a hypervisor stack.
  for (EventPort& p : ports_) p = EventPort{};
  for (auto& per_vcpu : virq_to_port_)
    for (std::uint16_t& p : per_vcpu) p = 0;
  poll_mask = 0;
  for (std::int32_t& p : poll_port) p = 0;
  dying = false;
  active_ = 0;
  max_port_ = max_port < kMaxPorts ? max_port : kMaxPorts - 1;
  valid_ports_ = kPortsPerBucket;
  ports_[0].state = PortState::reserved;
}

long EventChannels::allocate() {
  if (dying) return -pv::XEN_EINVAL;
  for (unsigned p = 0; p <= max_port_; ++p) {
    if (p >= valid_ports_) valid_ports_ += kPortsPerBucket;  // Xen allocates the next bucket
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

Domain* EventChannelOps::find(Vcpu& caller, pv::domid_t id) const {
  if (id == pv::DOMID_SELF) return &caller.domain();
  return domains_.find(id);
}

// Xen's evtchn_2l_set_pending: the pending bit, then (unmasked) the selector bit and the
// upcall flag of the notified vCPU; pollers are checked whatever the mask says.
void EventChannelOps::set_pending(Domain& d, const EventPort& chn, std::uint32_t port) {
  Vcpu* v = d.vcpu(chn.notify_vcpu);
  pv::shared_info* si = d.shared_info;
  if (si == nullptr || v == nullptr) return;
  if (test_and_set_bit(pending_word(*si, port), port % kBitsPerWord)) return;
  pv::vcpu_info* info = v->info();
  if (info != nullptr && !test_bit(mask_word(*si, port), port % kBitsPerWord) &&
      !test_and_set_bit(info->evtchn_pending_sel, port / kBitsPerWord))
    mark_events_pending(*v);
  // Xen's evtchn_check_pollers: wake every vCPU polling this port or several ports.
  EventChannels& ec = *d.events;
  for (unsigned id = 0; id < d.vcpu_count() && ec.poll_mask != 0; ++id) {
    const std::uint32_t bit = 1u << id;
    if ((ec.poll_mask & bit) == 0) continue;
    if (ec.poll_port[id] <= 0 || static_cast<std::uint32_t>(ec.poll_port[id]) == port) unblock_vcpu(*d.vcpu(id));
  }
}

void EventChannelOps::clear_pending(Domain& d, std::uint32_t port) {
  if (d.shared_info != nullptr) test_and_clear_bit(pending_word(*d.shared_info, port), port % kBitsPerWord);
}

long EventChannelOps::alloc_unbound(Vcpu& caller, pv::evtchn_alloc_unbound& op) {
  Domain* d = find(caller, op.dom);
  if (d == nullptr || d->events == nullptr) return -pv::XEN_ESRCH;
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

long EventChannelOps::bind_interdomain(Vcpu& caller, pv::evtchn_bind_interdomain& op) {
  Domain& ld = caller.domain();
  Domain* rd = find(caller, op.remote_dom);
  if (rd == nullptr || rd->events == nullptr) return -pv::XEN_ESRCH;
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
  if (d.events->virq_port(op.vcpu, op.virq) != 0) return -pv::XEN_EEXIST;
  const long port = d.events->allocate();
  if (port < 0) return port;
  EventPort& chn = d.events->port(static_cast<std::uint32_t>(port));
  chn.state = PortState::virq;
  chn.notify_vcpu = static_cast<std::uint8_t>(op.vcpu);
  chn.virq = static_cast<std::uint8_t>(op.virq);
  d.events->set_virq_port(op.vcpu, op.virq, static_cast<std::uint16_t>(port));
  op.port = static_cast<std::uint32_t>(port);
  return 0;
}

long EventChannelOps::bind_ipi(Vcpu& caller, pv::evtchn_bind_ipi& op) {
  Domain& d = caller.domain();
  if (d.vcpu(op.vcpu) == nullptr) return -pv::XEN_ENOENT;
  const long port = d.events->allocate();
  if (port < 0) return port;
  EventPort& chn = d.events->port(static_cast<std::uint32_t>(port));
  chn.state = PortState::ipi;
  chn.notify_vcpu = static_cast<std::uint8_t>(op.vcpu);
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

long EventChannelOps::close(Domain& d, std::uint32_t port) {
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

long EventChannelOps::send(Domain& d, std::uint32_t port) {
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
  if (!d.events->valid(port)) return -pv::XEN_EINVAL;
  EventPort& chn = d.events->port(port);
  const bool movable = chn.state == PortState::unbound || chn.state == PortState::interdomain ||
                       (chn.state == PortState::virq && virq_is_global(chn.virq));
  if (!movable) return -pv::XEN_EINVAL;
  chn.notify_vcpu = static_cast<std::uint8_t>(vcpu);
  return 0;
}

// Xen's evtchn_2l_unmask: clearing a mask bit over a pending port raises it on the port's vCPU.
long EventChannelOps::unmask(Domain& d, std::uint32_t port) {
  if (!d.events->valid(port)) return -pv::XEN_EINVAL;
  pv::shared_info* si = d.shared_info;
  Vcpu* v = d.vcpu(d.events->port(port).notify_vcpu);
  if (si == nullptr || v == nullptr || v->info() == nullptr) return 0;
  const unsigned bit = port % kBitsPerWord;
  if (test_and_clear_bit(mask_word(*si, port), bit) && test_bit(pending_word(*si, port), bit) &&
      !test_and_set_bit(v->info()->evtchn_pending_sel, port / kBitsPerWord))
    mark_events_pending(*v);
  return 0;
}

// Xen's evtchn_reset for a running domain: only the domain itself (a privileged caller
// would also need the target paused, which boot-module domains never are: -EINVAL).
long EventChannelOps::reset(Vcpu& caller, pv::domid_t dom) {
  Domain* d = find(caller, dom);
  if (d == nullptr || d->events == nullptr) return -pv::XEN_ESRCH;
  if (!may_target(caller.domain(), *d)) return -pv::XEN_EPERM;
  if (d != &caller.domain()) return -pv::XEN_EINVAL;
  for (unsigned p = 1; p < d->events->valid_ports() && d->events->active() > 0; ++p)
    (void)close(*d, p);
  return 0;
}

void EventChannelOps::send_vcpu_virq(Vcpu& v, std::uint32_t virq) {
  Domain& d = v.domain();
  if (virq >= pv::NR_VIRQS || virq_is_global(virq) || d.events == nullptr) return;
  if (const std::uint16_t port = d.events->virq_port(v.id(), virq)) set_pending(d, d.events->port(port), port);
}

void EventChannelOps::send_global_virq(Domain& d, std::uint32_t virq) {
  if (virq >= pv::NR_VIRQS || !virq_is_global(virq) || d.events == nullptr) return;
  if (const std::uint16_t port = d.events->virq_port(0, virq)) set_pending(d, d.events->port(port), port);
}

// Xen's vcpu_block_enable_events: events are enabled, then the vCPU blocks unless one is
// already waiting (checked after blocking, so a wakeup cannot be lost).
void EventChannelOps::block(Vcpu& v) {
  if (pv::vcpu_info* info = v.info()) info->evtchn_upcall_mask = 0;
  v.state = VcpuState::blocked;
  if (events_need_delivery(v)) v.state = VcpuState::runnable;
}

// Xen's do_poll (the caller checked nr_ports <= 128 and copied the ports): returns at once
// when an upcall is deliverable or a polled port is pending; a bad port is -EINVAL.
long EventChannelOps::poll(Vcpu& v, const std::uint32_t* ports, unsigned nr_ports) {
  Domain& d = v.domain();
  EventChannels& ec = *d.events;
  if (events_need_delivery(v)) return 0;
  for (unsigned i = 0; i < nr_ports; ++i) {
    if (!ec.valid(ports[i])) return -pv::XEN_EINVAL;
    if (d.shared_info != nullptr && test_bit(pending_word(*d.shared_info, ports[i]), ports[i] % kBitsPerWord)) return 0;
  }
  v.state = VcpuState::blocked;
  ec.poll_mask |= 1u << v.id();
  ec.poll_port[v.id()] = nr_ports == 1 ? static_cast<std::int32_t>(ports[0]) : -1;
  return 0;
}

void EventChannelOps::destroy(Domain& d) {
  if (d.events == nullptr) return;
  d.events->dying = true;
  for (unsigned p = d.events->valid_ports(); --p > 0;)
    if (d.events->port(p).state != PortState::free) (void)close(d, p);
  d.events->poll_mask = 0;
}

bool events_need_delivery(const Vcpu& v) {
  const pv::vcpu_info* info = v.info();
  return info != nullptr && __atomic_load_n(&info->evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0 &&
         __atomic_load_n(&info->evtchn_upcall_mask, __ATOMIC_SEQ_CST) == 0;
}

void mark_events_pending(Vcpu& v) {
  pv::vcpu_info* info = v.info();
  if (info == nullptr) return;
  if (__atomic_exchange_n(&info->evtchn_upcall_pending, std::uint8_t{1}, __ATOMIC_SEQ_CST) != 0) return;
  kick_vcpu(v);  // Xen's vcpu_kick: woken if blocked, told at once if running elsewhere
}

}  // namespace hv
