/* mmu_ok_probes.S: memory accesses of the mmu_ok guest at fixed addresses (see probe.h). */
#include "probe.h"

/* The new mapping mmu_ok builds at VIRT_BASE + 16 MiB (L2 slot 8 of the bootstrap L2). */
PROBE probe_write_new, movq %rax, 0xffffffff81000000
PROBE probe_read_new, movq 0xffffffff81000000, %rax
/* VA 0x3000, mapped only by the L4 copy's slot 0. */
PROBE probe_read_low, movq 0x3000, %rax
