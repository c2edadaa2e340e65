// usermode: running code in guest user mode from a guest-runtime kernel. The kernel stack
// for user->kernel bounces is set with stack_switch; callbacks go to traps.S stubs, so the
// syscall callback reaches the TrapContext handler registered for kSyscallVector.
#pragma once
#include <cstdint>

#include "traps.hpp"

namespace guest {

// stack_switch(FLAT_KERNEL_SS, top of a dedicated kernel stack); returns its top.
std::uint64_t use_kernel_stack();
// Registers the syscall (CALLBACKF_mask_events), event and failsafe callbacks with the
// traps.S entries; returns the first non-zero callback_op result (0 on success).
long register_callbacks();

// Enters user mode at rip/rsp/rflags (CS/SS the flat user selectors); returns when a
// handler calls return_to_kernel. Requires a user root (MMUEXT_NEW_USER_BASEPTR).
void enter_user(std::uint64_t rip, std::uint64_t rsp, std::uint64_t rflags);
// Makes the handler's iret resume the kernel after enter_user instead of user mode.
void return_to_kernel(TrapContext& ctx);

}  // namespace guest
