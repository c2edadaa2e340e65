/* traps_probes.S: the faulting instructions of the traps guest (see probe.h for PROBE). */
#include "probe.h"

        .section .rodata
zero:   .quad 0

PROBE probe_de, divq zero(%rip)                      /* #DE: divide by zero (fault) */
PROBE probe_ud, ud2                                  /* #UD (fault) */
PROBE probe_bp, int3                                 /* #BP (trap: rip after int3) */
PROBE probe_gp, movabs 0x8000000000000000, %rax      /* #GP(0): non-canonical address */
PROBE probe_pf_read, movq 0x1000, %rax               /* #PF: read, L4[0] not present */
PROBE probe_pf_write, movq %rax, 0x2008              /* #PF: write, not present */
PROBE probe_pf_ro, movabs %rax, 0xffff800000000008    /* #PF: write to the read-only M2P */
PROBE probe_int80, int $0x80                         /* software interrupt, DPL 3 slot */
PROBE probe_int41, int $0x41                         /* software interrupt, DPL 1 slot */
PROBE probe_int81, int $0x81                         /* DPL 0 slot: refused -> #GP */
PROBE probe_int90, int $0x90                         /* empty slot: refused -> #GP */
