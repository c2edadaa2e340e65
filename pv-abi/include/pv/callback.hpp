// callback_op (callback.h, hypercall 30): registration of the guest's event, failsafe and
// syscall entry points. Addresses are guest input: canonical and outside the hypervisor hole.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr std::uint16_t CALLBACKTYPE_event = 0;    // event-channel upcall
inline constexpr std::uint16_t CALLBACKTYPE_failsafe = 1; // segment reload failed
inline constexpr std::uint16_t CALLBACKTYPE_syscall = 2;  // 64-bit `syscall` from user mode
inline constexpr std::uint16_t CALLBACKTYPE_sysenter_deprecated = 3;
inline constexpr std::uint16_t CALLBACKTYPE_nmi = 4;
inline constexpr std::uint16_t CALLBACKTYPE_sysenter = 5;  // 32-bit `sysenter` from user mode
inline constexpr std::uint16_t CALLBACKTYPE_syscall32 = 7; // 32-bit `syscall` from user mode

// callback_register.flags: deliver with events masked (like an interrupt gate).
inline constexpr std::uint16_t CALLBACKF_mask_events = 1u << 0;

inline constexpr unsigned CALLBACKOP_register = 0;   // callback_register
inline constexpr unsigned CALLBACKOP_unregister = 1; // callback_unregister

struct callback_register {
    std::uint16_t type;  // CALLBACKTYPE_*
    std::uint16_t flags; // CALLBACKF_*
    std::uint32_t pad;   // (implicit in Xen)
    xen_callback_t address;
};
static_assert(sizeof(callback_register) == 16);
static_assert(offsetof(callback_register, flags) == 2);
static_assert(offsetof(callback_register, address) == 8);

struct callback_unregister {
    std::uint16_t type;
    std::uint16_t unused;
};
static_assert(sizeof(callback_unregister) == 4);

}  // namespace pv
