// event_channel: Xen's event channels with the 2-level ABI (common/event_channel.c,
// event_2l.c of Xen 4.17): per-domain port tables, binding, closing, sending, and delivery
// into the shared_info bitmaps. Every port, vCPU id and domid is guest input: a port beyond
// the domain's valid range or in the wrong state gets Xen's errno, never a table access.
// A port's peer is named by domid and found through the DomainRegistry, so an interdomain
// port must never outlive its peer: destroying a domain closes every port first.
//
// Locking (Xen's d->event_lock model; levels in spinlock.hpp): each domain's EventChannels
// has one event lock (level 3). Every EventChannelOps operation takes the locks it needs
// itself; its caller holds at most its own domain lock (level 1), never an event lock.
//  - One domain's ports change only under that domain's event lock.
//  - An interdomain pairing changes only with both domains' locks, taken together in domid
//    order (bind_interdomain; close and destroy of an interdomain port). So a sender holding
//    just its own lock may follow its port to the peer's port: the pair cannot change or be
//    torn down meanwhile.
//  - What a CPU may touch in another domain without that domain's lock: the pending, mask
//    and selector bits (guest memory, atomic bit operations), a port's notify_vcpu (read
//    atomically; bind_vcpu writes it atomically under its own lock), the vCPUs' state and
//    the poll state below (atomics).
//  - A vCPU's vcpu_info moves (VCPUOP_register_vcpu_info) under its domain's event lock;
//    a delivery reads the pointer once and writes all its bits to that one place.
// Kicks (vcpu_kick: scheduler locks, level 4) may be made with an event lock held.
// Assumed, not enforced here (Xen has RCU for it): a Domain found through the registry stays
// in memory while a CPU may still use the pointer; close re-checks the pairing under both
// locks, so a peer that went away meanwhile is noticed, but its memory is touched.
#pragma once
#include <atomic>
#include <cstdint>

#include <pv/event_channel.hpp>

#include "domain.hpp"
#include "domain_registry.hpp"
#include "spinlock.hpp"
#include "vcpu_kick.hpp"  // unblock_vcpu, kick_vcpu

namespace hv {

enum class PortState : std::uint8_t { free, reserved, unbound, interdomain, pirq, virq, ipi };

// One port (Xen's struct evtchn, without a per-port lock: the domain's event lock guards it,
// and an interdomain port also its peer's; see the file comment).
struct EventPort {
  PortState state = PortState::free;
  // The vCPU whose vcpu_info is told (Xen's notify_vcpu_id). The only field read without
  // this domain's lock (by the peer's send): accessed with __atomic loads and stores.
  std::uint8_t notify_vcpu = 0;
  pv::domid_t remote_domid = 0;   // unbound: who may bind; interdomain: the peer domain
  std::uint16_t remote_port = 0;  // interdomain: the peer's port
  std::uint8_t virq = 0;          // virq: which VIRQ
};

// A domain's ports. The table is fixed at the 2-level maximum (4096 ports of 8 bytes), but
// ports are valid only below valid_ports(), which grows in Xen's 64-port buckets (its struct
// evtchn is 64 bytes, a page holds 64), so out-of-range errnos match Xen's exactly.
// Everything but the poll state is guarded by `lock`; init runs before the domain is seen by
// any other CPU.
class EventChannels {
 public:
  static constexpr unsigned kMaxPorts = pv::EVTCHN_2L_NR_CHANNELS;
  static constexpr unsigned kPortsPerBucket = 64;
  static constexpr unsigned kDom0MaxPort = kMaxPorts - 1;  // Xen's dom0: max_evtchn_port -1
  static constexpr unsigned kDomUMaxPort = 1023;           // libxl's default event_channels
  static constexpr unsigned kPollPortsMax = 128;           // SCHEDOP_poll's nr_ports limit

  // The event lock (level 3 of the lock order in spinlock.hpp; Xen's d->event_lock): the
  // port table, virq_to_port, the valid range, the active count and `dying`. Two domains'
  // event locks only through lock_pair, lower domid first.
  SpinLock lock;

  // Xen's evtchn_init: the first bucket valid, port 0 reserved.
  void init(unsigned max_port);
  // The valid range only grows while the domain lives, so validity may be tested without
  // the lock (SCHEDOP_poll does, as Xen's evtchn_port_poll): a port once valid stays so.
  bool valid(std::uint32_t port) const { return port < valid_ports_.load(std::memory_order_acquire); }
  unsigned valid_ports() const { return valid_ports_.load(std::memory_order_acquire); }
  unsigned max_port() const { return max_port_; }
  // The accessors below: with `lock` held (or before the domain is shared).
  EventPort& port(std::uint32_t p) { return ports_[p]; }
  const EventPort& port(std::uint32_t p) const { return ports_[p]; }
  unsigned active() const { return active_; }

  // The lowest free port (growing the valid range a bucket at a time), or Xen's errno:
  // -ENOSPC when none is left below max_port, -EINVAL once the domain is dying.
  long allocate();
  // Returns a port to free (Xen's evtchn_free: pending bit cleared by the caller).
  void release(std::uint32_t p);

  std::uint16_t virq_port(unsigned vcpu, unsigned virq) const { return virq_to_port_[vcpu][virq]; }
  void set_virq_port(unsigned vcpu, unsigned virq, std::uint16_t p) { virq_to_port_[vcpu][virq] = p; }

  // SCHEDOP_poll: which vCPUs poll and for what (Xen's d->poll_mask and v->poll_evtchn:
  // -1 = any of several ports, else the single port; 0 = not polling). Atomic, not under
  // `lock`: the poll timer ends a poll holding no lock, and a waker may hold another
  // domain's lock. A poll begins only by its own vCPU (EventChannelOps::poll) and ends
  // through stop_polling; the ordering that keeps wake-ups from being lost is at
  // EventChannelOps::block in event_channel.cpp.
  std::atomic<std::uint32_t> poll_mask{0};
  std::atomic<std::int32_t> poll_port[Domain::kMaxVcpus] = {};
  // Ends vCPU `id`'s poll (Xen's test_and_clear_bit on poll_mask, then poll_evtchn = 0):
  // true for the one caller that ended it, who must then see that the vCPU is woken.
  bool stop_polling(unsigned id);

  bool dying = false;  // no new ports once teardown has begun (under `lock`)

 private:
  EventPort ports_[kMaxPorts] = {};
  std::uint16_t virq_to_port_[Domain::kMaxVcpus][pv::NR_VIRQS] = {};
  std::atomic<unsigned> valid_ports_{0};  // written under `lock`, read without (valid())
  unsigned max_port_ = 0;
  unsigned active_ = 0;  // ports not free (port 0's reservation excluded, as in Xen)
};
static_assert(sizeof(EventPort) <= 8, "the table must stay 32 KiB per domain");

// Whether a VIRQ is bound per domain (vCPU 0 only) rather than per vCPU (Xen virq_is_global).
constexpr bool virq_is_global(std::uint32_t virq) {
  return !(virq == pv::VIRQ_TIMER || virq == pv::VIRQ_DEBUG || virq == pv::VIRQ_XENOPROF ||
           virq == pv::VIRQ_XENPMU);
}

// The event-channel operations, for one caller. Every result is 0 or a negative Xen errno.
// Each takes the event locks it needs (see the file comment); call with no event lock held.
class EventChannelOps {
 public:
  explicit EventChannelOps(DomainRegistry& domains) : domains_(domains) {}

  long alloc_unbound(Vcpu& caller, pv::evtchn_alloc_unbound& op);
  long bind_interdomain(Vcpu& caller, pv::evtchn_bind_interdomain& op);
  long bind_virq(Vcpu& caller, pv::evtchn_bind_virq& op);
  long bind_ipi(Vcpu& caller, pv::evtchn_bind_ipi& op);
  long bind_pirq(Vcpu& caller, pv::evtchn_bind_pirq& op);
  long close(Domain& d, std::uint32_t port);
  long send(Domain& d, std::uint32_t port);
  long status(Vcpu& caller, pv::evtchn_status& op);
  long bind_vcpu(Domain& d, std::uint32_t port, std::uint32_t vcpu);
  long unmask(Domain& d, std::uint32_t port);
  long reset(Vcpu& caller, pv::domid_t dom);

  // Hypervisor-raised VIRQs (timers, the console): nothing happens unless the guest bound it.
  // Callable from any CPU holding no lock (the target domain's event lock is taken).
  void send_vcpu_virq(Vcpu& v, std::uint32_t virq);
  void send_global_virq(Domain& d, std::uint32_t virq);

  // SCHEDOP_block and SCHEDOP_poll for the calling vCPU: either it goes on (an event is
  // already there) or it is left blocked for the scheduler. `ports` has nr_ports entries
  // already copied from the guest. Lock-free: a sender on another CPU either sees the vCPU
  // blocked (and wakes it) or the vCPU sees the sender's pending bit (and wakes itself).
  void block(Vcpu& v);
  long poll(Vcpu& v, const std::uint32_t* ports, unsigned nr_ports);

  // Xen's evtchn_destroy: the dying domain's ports all closed (peers see theirs unbound),
  // each interdomain one with both domains' locks, so no peer can still reach this domain.
  void destroy(Domain& d);

  Domain* find(Vcpu& caller, pv::domid_t id) const;  // DOMID_SELF is the caller's domain

 private:
  void set_pending(Domain& d, const EventPort& chn, std::uint32_t port);
  void clear_pending(Domain& d, std::uint32_t port);
  // The other domain whose event lock closing `port` also needs (an interdomain port's
  // peer, unless that is `d` itself), else nullptr. With d's event lock held.
  Domain* lock_partner(Domain& d, std::uint32_t port) const;
  // close with every lock it needs already held.
  long close_locked(Domain& d, std::uint32_t port);
  void close_all(Domain& d);
  DomainRegistry& domains_;
};

// Whether v has an upcall pending and not masked (Xen's local_events_need_delivery; atomic
// loads: the guest and senders change the same bytes concurrently).
bool events_need_delivery(const Vcpu& v);

}  // namespace hv
