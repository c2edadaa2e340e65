// pv_cpu: the PV CPU model of 64-bit Xen guests: delivering exceptions, events and user
// syscalls to the guest kernel as bounce frames on its stack (Xen's create_bounce_frame),
// and the hypercalls that set up where those go (set_trap_table, callback_op, stack_switch)
// or return from them (iret). A guest that makes delivery impossible (no handler, a bad
// or unmapped stack) has its own domain crashed; nothing it does reaches the hypervisor.
#pragma once
#include <cstdint>

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

// Vectors whose exceptions push an error code.
constexpr bool vector_has_error_code(unsigned v) {
  return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

}  // namespace hv
