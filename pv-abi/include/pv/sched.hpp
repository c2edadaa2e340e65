// sched_op (sched.h, hypercall 29): SCHEDOP_* sub-ops, shutdown reasons and argument
// structs. SCHEDOP_block must clear the event mask and block atomically, or idle hangs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned SCHEDOP_yield = 0;           // arg NULL
inline constexpr unsigned SCHEDOP_block = 1;           // arg NULL: unmask events, then block
inline constexpr unsigned SCHEDOP_shutdown = 2;        // sched_shutdown
inline constexpr unsigned SCHEDOP_poll = 3;            // sched_poll
inline constexpr unsigned SCHEDOP_remote_shutdown = 4; // sched_remote_shutdown (privileged)
inline constexpr unsigned SCHEDOP_shutdown_code = 5;   // sched_shutdown: record reason only
inline constexpr unsigned SCHEDOP_watchdog = 6;        // sched_watchdog
inline constexpr unsigned SCHEDOP_pin_override = 7;    // sched_pin_override (dom0)

// enum sched_shutdown_reason
inline constexpr std::uint32_t SHUTDOWN_poweroff = 0;   // exited normally: clean up, kill
inline constexpr std::uint32_t SHUTDOWN_reboot = 1;     // clean up, kill, restart
inline constexpr std::uint32_t SHUTDOWN_suspend = 2;    // clean up, save suspend info, kill
inline constexpr std::uint32_t SHUTDOWN_crash = 3;      // guest crashed
inline constexpr std::uint32_t SHUTDOWN_watchdog = 4;   // watchdog expired: restart
inline constexpr std::uint32_t SHUTDOWN_soft_reset = 5;
inline constexpr std::uint32_t SHUTDOWN_MAX = 5;        // largest valid reason

struct sched_shutdown {
    std::uint32_t reason; // SHUTDOWN_*
};
static_assert(sizeof(sched_shutdown) == 4);

// Block until one of `ports` (the caller's own) is pending or `timeout` (absolute system
// time in ns, 0 = none) passes.
struct sched_poll {
    guest_handle<evtchn_port_t> ports;
    std::uint32_t nr_ports;
    std::uint32_t pad; // (implicit in Xen)
    std::uint64_t timeout;
};
static_assert(sizeof(sched_poll) == 24);
static_assert(offsetof(sched_poll, nr_ports) == 8 && offsetof(sched_poll, timeout) == 16);

struct sched_remote_shutdown {
    domid_t domain_id;
    std::uint16_t pad;    // (implicit in Xen)
    std::uint32_t reason; // SHUTDOWN_*
};
static_assert(sizeof(sched_remote_shutdown) == 8 && offsetof(sched_remote_shutdown, reason) == 4);

struct sched_watchdog {
    std::uint32_t id;      // 0 = allocate a new watchdog; returns its id
    std::uint32_t timeout; // seconds; 0 = destroy watchdog `id`
};
static_assert(sizeof(sched_watchdog) == 8);

struct sched_pin_override {
    std::int32_t pcpu; // < 0 ends the override
};
static_assert(sizeof(sched_pin_override) == 4);

}  // namespace pv
