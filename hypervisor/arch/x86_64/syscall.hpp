// syscall: the `syscall` instruction's entry into the hypervisor (a guest kernel's hypercall,
// or a guest user's system call to be bounced to its kernel).
#pragma once

namespace hv::x86 {

// Writes this CPU's entry stub and points the syscall MSRs at it. `bench_floor` adds the
// empty round trip of hypercall 63 (benchmarks measure their floor with it).
void syscall_init(unsigned cpu, bool bench_floor = false);

}  // namespace hv::x86
