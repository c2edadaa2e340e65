// vcpu_op (vcpu.h, hypercall 24): VCPUOP_* sub-ops and their argument structs (the context
// for VCPUOP_initialise is in vcpu_context.hpp). Guest VAs registered here are written by
// the hypervisor later, from whatever page tables are current: faults must be tolerated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned VCPUOP_initialise = 0;     // vcpu_guest_context
inline constexpr unsigned VCPUOP_up = 1;
inline constexpr unsigned VCPUOP_down = 2;
inline constexpr unsigned VCPUOP_is_up = 3;          // returns 1/0, -ENOENT: no such vCPU
inline constexpr unsigned VCPUOP_get_runstate_info = 4;
inline constexpr unsigned VCPUOP_register_runstate_memory_area = 5;
inline constexpr unsigned VCPUOP_set_periodic_timer = 6;
inline constexpr unsigned VCPUOP_stop_periodic_timer = 7;
inline constexpr unsigned VCPUOP_set_singleshot_timer = 8;
inline constexpr unsigned VCPUOP_stop_singleshot_timer = 9;
inline constexpr unsigned VCPUOP_register_vcpu_info = 10;
inline constexpr unsigned VCPUOP_send_nmi = 11;
inline constexpr unsigned VCPUOP_get_physid = 12;
inline constexpr unsigned VCPUOP_register_vcpu_time_memory_area = 13;
inline constexpr unsigned VCPUOP_register_runstate_phys_area = 14;
inline constexpr unsigned VCPUOP_register_vcpu_time_phys_area = 15;

inline constexpr int RUNSTATE_running = 0;  // on a physical CPU
inline constexpr int RUNSTATE_runnable = 1; // runnable, not scheduled
inline constexpr int RUNSTATE_blocked = 2;  // blocked (idle)
inline constexpr int RUNSTATE_offline = 3;  // down or paused

// Set in state_entry_time while the hypervisor rewrites the guest's copy (only after
// vm_assist(VMASST_TYPE_runstate_update_flag)).
inline constexpr std::uint64_t XEN_RUNSTATE_UPDATE = std::uint64_t{1} << 63;

struct vcpu_runstate_info {
    std::int32_t state;             // RUNSTATE_*
    std::uint32_t pad;              // (implicit in Xen)
    std::uint64_t state_entry_time; // system time (ns) the state was entered
    std::uint64_t time[4];          // cumulative ns per RUNSTATE_*
};
static_assert(sizeof(vcpu_runstate_info) == 48);
static_assert(offsetof(vcpu_runstate_info, state_entry_time) == 8);
static_assert(offsetof(vcpu_runstate_info, time) == 16);

struct vcpu_register_runstate_memory_area {
    std::uint64_t addr; // guest VA of a vcpu_runstate_info (union of handle/pointer in Xen)
};
static_assert(sizeof(vcpu_register_runstate_memory_area) == 8);

struct vcpu_set_periodic_timer {
    std::uint64_t period_ns;
};
static_assert(sizeof(vcpu_set_periodic_timer) == 8);

// VCPUOP_set_singleshot_timer: fire VIRQ_TIMER at absolute system time timeout_abs_ns.
inline constexpr std::uint32_t VCPU_SSHOTTMR_future = 1u << 0; // -ETIME if already past
struct vcpu_set_singleshot_timer {
    std::uint64_t timeout_abs_ns;
    std::uint32_t flags; // VCPU_SSHOTTMR_*
    std::uint32_t pad;   // (implicit in Xen)
};
static_assert(sizeof(vcpu_set_singleshot_timer) == 16);
static_assert(offsetof(vcpu_set_singleshot_timer, flags) == 8);

// Move the vCPU's vcpu_info to mfn:offset (64 bytes, must not cross the page).
struct vcpu_register_vcpu_info {
    std::uint64_t mfn;
    std::uint32_t offset;
    std::uint32_t rsvd;
};
static_assert(sizeof(vcpu_register_vcpu_info) == 16);
static_assert(offsetof(vcpu_register_vcpu_info, offset) == 8);
static_assert(offsetof(vcpu_register_vcpu_info, rsvd) == 12);

struct vcpu_get_physid {
    std::uint64_t phys_id; // low 32 bits APIC id, high 32 bits ACPI id
};
static_assert(sizeof(vcpu_get_physid) == 8);

struct vcpu_register_time_memory_area {
    std::uint64_t addr; // guest VA of a vcpu_time_info kept up to date for the vDSO
};
static_assert(sizeof(vcpu_register_time_memory_area) == 8);

}  // namespace pv
