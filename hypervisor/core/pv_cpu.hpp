// pv_cpu: the PV CPU model of 64-bit Xen guests: delivering exceptions, events and user
// syscalls to the guest kernel as bounce frames on its stack (Xen's create_bounce_frame),
// and the hypercalls that set up where those go (set_trap_table, callback_op, stack_switch)
// or return from them (iret). A guest that makes delivery impossible (no handler, a bad
// or unmapped stack) has its own domain crashed; nothing it does reaches the hypervisor.
#pragma once
#include <cstdint>

#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>

#include "hypercall.hpp"

namespace hv {

struct Bounce {
  std::uint64_t handler = 0;
  bool mask_events = false;
  bool has_error_code = false;
  std::uint64_t error_code = 0;
};

// Builds the bounce frame for `bounce` and points the registers at its handler. Returns false
// (after crashing the domain) when the frame cannot be built.
bool create_bounce_frame(HypercallContext& ctx, const Bounce& bounce);

// An exception the guest caused (vector < 32, or a permitted `int n`): delivered through its
// trap table. For #PF, `cr2` goes to vcpu_info.arch.cr2 and the error code's U/S bit is made
// to say whether the guest was in user mode.
bool deliver_exception(HypercallContext& ctx, unsigned vector, bool has_error_code,
                       std::uint64_t error_code, std::uint64_t cr2 = 0);

// Xen's test_guest_events, on every way back into the guest: an upcall pending and not
// masked is bounced to the event callback, which masks further upcalls (the frame keeps the
// old mask for HYPERVISOR_iret to restore). False when nothing was delivered.
bool deliver_pending_event(HypercallContext& ctx);

// A `syscall` executed in guest user mode: to the registered syscall callback, or #UD.
bool deliver_user_syscall(HypercallContext& ctx);

// Whether guest code may raise `vector` with `int n` (the virtual IDT entry's DPL against the
// guest's current mode: kernel mode counts as ring 1, user mode as ring 3).
bool soft_interrupt_permitted(const Vcpu& vcpu, unsigned vector);

// Xen's is_canonical_address: bits 63..47 all equal.
constexpr bool is_canonical(std::uint64_t a) { return a < 0x0000800000000000ull || a >= 0xFFFF800000000000ull; }

// Xen's fixup_guest_stack_selector / fixup_guest_code_selector for a 64-bit PV guest: its
// kernel runs in ring 3, so an RPL below 3 is raised to 3 (a selector is fixed, not refused).
constexpr std::uint16_t fixup_guest_selector(std::uint16_t sel) {
  return (sel & 3) == 3 ? sel : static_cast<std::uint16_t>((sel & ~3) | 3);
}

// One virtual-IDT entry as set_trap_table and VCPUOP_initialise install it (address already
// checked canonical; 0 means no handler).
GuestEntry trap_entry(const pv::trap_info& t);

// Installs callback `reg.type` (CALLBACKTYPE_*) into `pv`: -EINVAL for a non-canonical
// address, -ENOSYS for an unknown type. The event and NMI callbacks always mask events.
long register_callback(PvCpuState& pv, const pv::callback_register& reg);

// Vectors whose exceptions push an error code.
constexpr bool vector_has_error_code(unsigned v) {
  return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

}  // namespace hv
