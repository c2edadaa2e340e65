// event_channel: Xen's event channels with the 2-level ABI (common/event_channel.c,
// event_2l.c of Xen 4.17): per-domain port tables, binding, closing, sending, and delivery
// into the shared_info bitmaps. Every port, vCPU id and domid is guest input: a port beyond
// the domain's valid range or in the wrong state gets Xen's errno, never a table access.
// A port's peer is named by domid and found through the DomainRegistry, so an interdomain
// port must never outlive its peer: destroying a domain closes every port first.
#pragma once
#include <cstdint>

#include <pv/event_channel.hpp>

#include "domain.hpp"
#include "domain_registry.hpp"
#include "vcpu_kick.hpp"  // unblock_vcpu, kick_vcpu

namespace hv {

enum class PortState : std::uint8_t { free, reserved, unbound, interdomain, pirq, virq, ipi };

// One port (Xen's struct evtchn, without its lock: one CPU runs the hypervisor).
struct EventPort {
  PortState state = PortState::free;
  std::uint8_t notify_vcpu = 0;   // the vCPU whose vcpu_info is told (Xen's notify_vcpu_id)
  pv::domid_t remote_domid = 0;   // unbound: who may bind; interdomain: the peer domain
  std::uint16_t remote_port = 0;  // interdomain: the peer's port
  std::uint8_t virq = 0;          // virq: which VIRQ
};

// A domain's ports. The table is fixed at the 2-level maximum (4096 ports of 8 bytes), but
// ports are valid only below valid_ports(), which grows in Xen's 64-port buckets (its struct
// evtchn is 64 bytes, a page holds 64), so out-of-range errnos match Xen's exactly.
class EventChannels {
 public:
  static constexpr unsigned kMaxPorts = pv::EVTCHN_2L_NR_CHANNELS;
  static constexpr unsigned kPortsPerBucket = 64;
  static constexpr unsigned kDom0MaxPort = kMaxPorts - 1;  // Xen's dom0: max_evtchn_port -1
  static constexpr unsigned kDomUMaxPort = 1023;           // libxl's default event_channels
  static constexpr unsigned kPollPortsMax = 128;           // SCHEDOP_poll's nr_ports limit

  // Xen's evtchn_init: the first bucket valid, port 0 reserved.
  void init(unsigned max_port);
  bool valid(std::uint32_t port) const { return port < valid_ports_; }
  unsigned valid_ports() const { return valid_ports_; }
  unsigned max_port() const { return max_port_; }
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
  // -1 = any of several ports, else the single port).
  std::uint32_t poll_mask = 0;
  std::int32_t poll_port[Domain::kMaxVcpus] = {};
  bool dying = false;  // no new ports once teardown has begun

 private:
  EventPort ports_[kMaxPorts] = {};
  std::uint16_t virq_to_port_[Domain::kMaxVcpus][pv::NR_VIRQS] = {};
  unsigned valid_ports_ = 0;
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
  void send_vcpu_virq(Vcpu& v, std::uint32_t virq);
  void send_global_virq(Domain& d, std::uint32_t virq);

  // SCHEDOP_block and SCHEDOP_poll for the calling vCPU: either it goes on (an event is
  // already there) or it is left blocked for the scheduler. `ports` has nr_ports entries
  // already copied from the guest.
  void block(Vcpu& v);
  long poll(Vcpu& v, const std::uint32_t* ports, unsigned nr_ports);

  // Xen's evtchn_destroy: the dying domain's ports all closed (peers see theirs unbound).
  void destroy(Domain& d);

  Domain* find(Vcpu& caller, pv::domid_t id) const;  // DOMID_SELF is the caller's domain

 private:
  void set_pending(Domain& d, const EventPort& chn, std::uint32_t port);
  void clear_pending(Domain& d, std::uint32_t port);
  DomainRegistry& domains_;
};

// The 2-level delivery primitives on a domain's shared_info (atomic: the guest changes the
// same words concurrently).
bool events_need_delivery(const Vcpu& v);  // upcall pending and not masked
// Sets evtchn_upcall_pending and kicks the vCPU when it newly became pending (Xen's
// vcpu_mark_events_pending + vcpu_kick).
void mark_events_pending(Vcpu& v);

}  // namespace hv
