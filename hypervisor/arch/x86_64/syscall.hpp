// syscall: the `syscall` instruction's entry into the hypervisor (a guest kernel's hypercall,
// or a guest user's system call to be bounced to its kernel).
#pragma once

namespace hv::x86 {

// Writes this CPU's entry stub and points the syscall MSRs at it.
void syscall_init(unsigned cpu);

}  // namespace hv::x86
