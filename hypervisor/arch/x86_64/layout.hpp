// layout: where the hypervisor lives in virtual memory. Xen's choices, so that guests built
// for Xen find the same reserved range: our image at XEN_VIRT_START's address in L4 slot 261,
// a direct map of machine memory from L4 slot 262. Guests may never map these slots.
// Shared by boot.S (as plain #defines) and C++.
#pragma once

#define HV_KERNEL_PHYS 0x200000                /* where the loader puts the image */
#define HV_KERNEL_VIRT_BASE 0xFFFF82D040000000 /* virtual = HV_KERNEL_VIRT_BASE + physical */
#define HV_DIRECTMAP_BASE 0xFFFF830000000000   /* virtual = HV_DIRECTMAP_BASE + physical */
#define HV_BOOT_DIRECTMAP_SIZE 0x100000000     /* mapped by boot.S: the first 4 GiB */

/* Selectors of boot.S's temporary GDT (used until gdt.cpp installs the per-CPU one). */
#define HV_BOOT_SEL_CODE64 0x08
#define HV_BOOT_SEL_DATA 0x10

/* Xen's reserved GDT selectors (page 14 of every GDT onward): ring 0 is ours, ring 3 the
 * guest's flat selectors (FLAT_RING3_* in pv-abi). */
#define HV_SEL_CODE64 0xe008
#define HV_SEL_DATA 0xe010
#define HV_SEL_RING3_CS32 0xe023
#define HV_SEL_RING3_DS32 0xe02b
#define HV_SEL_RING3_CS64 0xe033
#define HV_SEL_TSS 0xe040
#define HV_SEL_LDT 0xe050  /* the guest LDT copy: a 16-byte system descriptor, as Xen's LDT_ENTRY */

/* Per-CPU stacks: STACK_SIZE-aligned, with the CpuInfo block (the interrupted guest's
 * registers, then per-CPU data) at the top, found from any %rsp by masking (as Xen does). */
#define HV_STACK_SIZE 0x8000
#define HV_MAX_CPUS 8
#define HV_CPU_INFO_SIZE 256
/* Pseudo vector recorded in the frame for a guest `syscall` (not an IDT vector). */
#define HV_VECTOR_SYSCALL 0x100
/* Set in the frame by guest_entry.cpp when the return may use sysretq (see entry.S). */
#define HV_VECTOR_SYSRET 0x101

/* Inter-processor interrupts (ipi.hpp), at Xen's vector numbers; apic.hpp has the timer (0xf0)
 * and spurious (0xff) ones. A higher vector is a higher priority class. */
#define HV_VECTOR_PING 0xfa        /* self-test round trips only */
#define HV_VECTOR_CALL 0xfb        /* run a function on a CPU: Xen's CALL_FUNCTION_VECTOR */
#define HV_VECTOR_EVENT_CHECK 0xfc /* "look at your state": Xen's EVENT_CHECK_VECTOR */
#define HV_VECTOR_FLUSH 0xfd       /* TLB shootdown: Xen's INVALIDATE_TLB_VECTOR */

/* The application processors' real-mode trampoline: one page below 1 MiB (smp.cpp). */
#define HV_TRAMPOLINE_STARTED 0xA5 /* written by the trampoline's first instructions, as Xen */

#ifndef __ASSEMBLER__
#include <cstdint>

namespace hv::x86 {

inline void* phys_to_virt(std::uint64_t paddr) {
  return reinterpret_cast<void*>(HV_DIRECTMAP_BASE + paddr);
}

}  // namespace hv::x86
#endif
