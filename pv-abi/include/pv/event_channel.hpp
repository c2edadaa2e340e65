// Event channels (event_channel.h + the VIRQ list of xen.h): EVTCHNOP_* sub-ops of
// hypercall 32, their argument structs, and the 2-level ABI limits. Ports and vCPU numbers
// in every struct are guest input and must be range-checked against the domain's tables.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned EVTCHNOP_bind_interdomain = 0;
inline constexpr unsigned EVTCHNOP_bind_virq = 1;
inline constexpr unsigned EVTCHNOP_bind_pirq = 2;
inline constexpr unsigned EVTCHNOP_close = 3;
inline constexpr unsigned EVTCHNOP_send = 4;
inline constexpr unsigned EVTCHNOP_status = 5;
inline constexpr unsigned EVTCHNOP_alloc_unbound = 6;
inline constexpr unsigned EVTCHNOP_bind_ipi = 7;
inline constexpr unsigned EVTCHNOP_bind_vcpu = 8;
inline constexpr unsigned EVTCHNOP_unmask = 9;
inline constexpr unsigned EVTCHNOP_reset = 10;
inline constexpr unsigned EVTCHNOP_init_control = 11; // FIFO ABI
inline constexpr unsigned EVTCHNOP_expand_array = 12; // FIFO ABI
inline constexpr unsigned EVTCHNOP_set_priority = 13; // FIFO ABI

// 2-level ABI: one bit per port in shared_info, 64 words of 64 bits on x86-64.
inline constexpr unsigned EVTCHN_2L_NR_CHANNELS = sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64;
inline constexpr unsigned NR_EVENT_CHANNELS = EVTCHN_2L_NR_CHANNELS; // Xen: interface < 4.4 only

// Virtual IRQs. V = per vCPU, G = global (vCPU 0 only), D = per domain.
inline constexpr std::uint32_t VIRQ_TIMER = 0;      // V: timebase update / timeout
inline constexpr std::uint32_t VIRQ_DEBUG = 1;      // V: dump debug info
inline constexpr std::uint32_t VIRQ_CONSOLE = 2;    // G: emergency console input
inline constexpr std::uint32_t VIRQ_DOM_EXC = 3;    // G: some domain shut down / died
inline constexpr std::uint32_t VIRQ_TBUF = 4;       // G: trace buffer has records
inline constexpr std::uint32_t VIRQ_DEBUGGER = 6;   // G: a domain paused for debugging
inline constexpr std::uint32_t VIRQ_XENOPROF = 7;   // V
inline constexpr std::uint32_t VIRQ_CON_RING = 8;   // G: hypervisor console ring has data
inline constexpr std::uint32_t VIRQ_PCPU_STATE = 9; // G
inline constexpr std::uint32_t VIRQ_MEM_EVENT = 10; // G
inline constexpr std::uint32_t VIRQ_ARGO = 11;      // D
inline constexpr std::uint32_t VIRQ_ENOMEM = 12;    // G: hypervisor low on memory
inline constexpr std::uint32_t VIRQ_XENPMU = 13;    // V: PMU interrupt
inline constexpr std::uint32_t VIRQ_ARCH_0 = 16;
inline constexpr std::uint32_t VIRQ_ARCH_1 = 17;
inline constexpr std::uint32_t VIRQ_ARCH_2 = 18;
inline constexpr std::uint32_t VIRQ_ARCH_3 = 19;
inline constexpr std::uint32_t VIRQ_ARCH_4 = 20;
inline constexpr std::uint32_t VIRQ_ARCH_5 = 21;
inline constexpr std::uint32_t VIRQ_ARCH_6 = 22;
inline constexpr std::uint32_t VIRQ_ARCH_7 = 23;
inline constexpr std::uint32_t VIRQ_MCA = VIRQ_ARCH_0; // G: machine check (dom0)
inline constexpr std::uint32_t NR_VIRQS = 24;

// EVTCHNOP_alloc_unbound: new port in `dom` that only `remote_dom` may bind.
struct evtchn_alloc_unbound {
    domid_t dom, remote_dom; // in (dom must be DOMID_SELF unless privileged)
    evtchn_port_t port;      // out
};
static_assert(sizeof(evtchn_alloc_unbound) == 8);
static_assert(offsetof(evtchn_alloc_unbound, remote_dom) == 2);
static_assert(offsetof(evtchn_alloc_unbound, port) == 4);

// EVTCHNOP_bind_interdomain: connect to an unbound port of remote_dom.
struct evtchn_bind_interdomain {
    domid_t remote_dom;        // in
    std::uint16_t pad;         // (implicit in Xen)
    evtchn_port_t remote_port; // in
    evtchn_port_t local_port;  // out
};
static_assert(sizeof(evtchn_bind_interdomain) == 12);
static_assert(offsetof(evtchn_bind_interdomain, remote_port) == 4);
static_assert(offsetof(evtchn_bind_interdomain, local_port) == 8);

struct evtchn_bind_virq {
    std::uint32_t virq; // in: VIRQ_*
    std::uint32_t vcpu; // in: notify vCPU
    evtchn_port_t port; // out
};
static_assert(sizeof(evtchn_bind_virq) == 12 && offsetof(evtchn_bind_virq, port) == 8);

inline constexpr std::uint32_t BIND_PIRQ__WILL_SHARE = 1;
struct evtchn_bind_pirq {
    std::uint32_t pirq;  // in
    std::uint32_t flags; // in: BIND_PIRQ__*
    evtchn_port_t port;  // out
};
static_assert(sizeof(evtchn_bind_pirq) == 12 && offsetof(evtchn_bind_pirq, port) == 8);

struct evtchn_bind_ipi {
    std::uint32_t vcpu; // in
    evtchn_port_t port; // out
};
static_assert(sizeof(evtchn_bind_ipi) == 8 && offsetof(evtchn_bind_ipi, port) == 4);

struct evtchn_close {
    evtchn_port_t port;
};
struct evtchn_send {
    evtchn_port_t port;
};
struct evtchn_unmask {
    evtchn_port_t port;
};
static_assert(sizeof(evtchn_close) == 4 && sizeof(evtchn_send) == 4 && sizeof(evtchn_unmask) == 4);

// EVTCHNOP_status result codes
inline constexpr std::uint32_t EVTCHNSTAT_closed = 0;
inline constexpr std::uint32_t EVTCHNSTAT_unbound = 1;
inline constexpr std::uint32_t EVTCHNSTAT_interdomain = 2;
inline constexpr std::uint32_t EVTCHNSTAT_pirq = 3;
inline constexpr std::uint32_t EVTCHNSTAT_virq = 4;
inline constexpr std::uint32_t EVTCHNSTAT_ipi = 5;

struct evtchn_status {
    domid_t dom;          // in
    std::uint16_t pad;    // (implicit in Xen)
    evtchn_port_t port;   // in
    std::uint32_t status; // out: EVTCHNSTAT_*
    std::uint32_t vcpu;   // out: notify vCPU
    union {
        struct {
            domid_t dom;
        } unbound; // EVTCHNSTAT_unbound: who may bind
        struct {
            domid_t dom;
            evtchn_port_t port;
        } interdomain;      // EVTCHNSTAT_interdomain: the peer
        std::uint32_t pirq; // EVTCHNSTAT_pirq
        std::uint32_t virq; // EVTCHNSTAT_virq
    } u;
};
static_assert(sizeof(evtchn_status) == 24);
static_assert(offsetof(evtchn_status, port) == 4 && offsetof(evtchn_status, status) == 8);
static_assert(offsetof(evtchn_status, vcpu) == 12 && offsetof(evtchn_status, u) == 16);
static_assert(offsetof(evtchn_status, u.interdomain.port) == 20);

struct evtchn_bind_vcpu {
    evtchn_port_t port;
    std::uint32_t vcpu;
};
static_assert(sizeof(evtchn_bind_vcpu) == 8 && offsetof(evtchn_bind_vcpu, vcpu) == 4);

struct evtchn_reset {
    domid_t dom;
};
static_assert(sizeof(evtchn_reset) == 2);

// FIFO ABI (we answer -ENOSYS; Linux then falls back to 2-level).
struct evtchn_init_control {
    std::uint64_t control_gfn; // in
    std::uint32_t offset;      // in
    std::uint32_t vcpu;        // in
    std::uint8_t link_bits;    // out
    std::uint8_t pad[7];
};
static_assert(sizeof(evtchn_init_control) == 24);
static_assert(offsetof(evtchn_init_control, offset) == 8);
static_assert(offsetof(evtchn_init_control, vcpu) == 12);
static_assert(offsetof(evtchn_init_control, link_bits) == 16);

struct evtchn_expand_array {
    std::uint64_t array_gfn;
};
static_assert(sizeof(evtchn_expand_array) == 8);

inline constexpr std::uint32_t EVTCHN_FIFO_PRIORITY_MAX = 0;
inline constexpr std::uint32_t EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
inline constexpr std::uint32_t EVTCHN_FIFO_PRIORITY_MIN = 15;

struct evtchn_set_priority {
    evtchn_port_t port;
    std::uint32_t priority;
};
static_assert(sizeof(evtchn_set_priority) == 8 && offsetof(evtchn_set_priority, priority) == 4);

}  // namespace pv
