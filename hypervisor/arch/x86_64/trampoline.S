/* trampoline.S: where an application processor starts. A STARTUP IPI starts it in real mode
 * at CS:IP = (vector << 8):0000, i.e. at the start of a page below 1 MiB; smp.cpp copies this
 * blob there and fills its data block (trampoline_data) before each start. The code goes
 * real -> protected -> long mode on the page tables the boot CPU runs on (they identity-map
 * the first 4 GiB, so the page stays reachable across enabling paging), then calls
 * hv_ap_start64(cpu) on that CPU's own stack. Only label differences are used: the blob runs
 * at an address known only at boot, and %ebx holds that address from the first lines on.
 * APs are started one at a time, so the one data block is never shared by two. */
#include "layout.hpp"

#define T(label) ((label) - trampoline_start)
#define MSR_EFER 0xC0000080
#define CR4_PAE (1 << 5)
#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

        .section .rodata.trampoline, "a"
        .balign 16
        .globl trampoline_start, trampoline_end, trampoline_data
        .code16
trampoline_start:
        cli
        cld
        mov     %cs, %ax
        mov     %ax, %ds
        movb    $HV_TRAMPOLINE_STARTED, T(tramp_started)   /* tells the boot CPU we ran */
        movzwl  %ax, %ebx
        shl     $4, %ebx                        /* %ebx = physical base of this page */
        /* Absolute addresses depend on the page: write them into this copy. */
        lea     T(tramp_gdt)(%ebx), %eax
        mov     %eax, T(tramp_gdt_ptr) + 2
        lea     T(tramp_prot)(%ebx), %eax
        mov     %eax, T(tramp_jump32)
        lea     T(tramp_long)(%ebx), %eax
        mov     %eax, T(tramp_jump64)
        lgdtl   T(tramp_gdt_ptr)
        mov     %cr0, %eax
        or      $1, %eax                        /* PE */
        mov     %eax, %cr0
        ljmpl   *T(tramp_jump32)

        .code32
tramp_prot:
        mov     $SEL_DATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs
        mov     $CR4_PAE, %eax                  /* exactly PAE, as Xen's trampoline */
        mov     %eax, %cr4
        mov     T(tramp_cr3)(%ebx), %eax
        mov     %eax, %cr3
        mov     $MSR_EFER, %ecx
        rdmsr
        or      T(tramp_efer)(%ebx), %eax       /* LME, and NXE/SCE as the boot CPU has them */
        wrmsr
        mov     T(tramp_cr0)(%ebx), %eax        /* the boot CPU's CR0: PG, clears INIT's CD/NW */
        mov     %eax, %cr0
        ljmpl   *T(tramp_jump64)(%ebx)

        .code64
tramp_long:
        mov     %ebx, %ebx                      /* upper halves are undefined after the switch */
        mov     T(tramp_stack)(%rbx), %rsp
        xor     %ebp, %ebp
        mov     T(tramp_cpu)(%rbx), %edi
        call    *T(tramp_entry)(%rbx)           /* call, so %rsp is as the ABI expects */
1:      cli
        hlt
        jmp     1b

        .balign 8
tramp_gdt:
        .quad 0
        .quad 0x00CF9A000000FFFF                /* 0x08: 32-bit code, flat */
        .quad 0x00CF92000000FFFF                /* 0x10: data, flat */
        .quad 0x00AF9A000000FFFF                /* 0x18: 64-bit code */
tramp_gdt_ptr:
        .short 4 * 8 - 1
        .long 0                                 /* patched: physical address of tramp_gdt */
        .balign 4
tramp_jump32:
        .long 0                                 /* patched: tramp_prot */
        .short SEL_CODE32
        .balign 4
tramp_jump64:
        .long 0                                 /* patched: tramp_long */
        .short SEL_CODE64

/* Filled by smp.cpp (struct TrampolineData, same order) before each STARTUP IPI. */
        .balign 8
trampoline_data:
tramp_cr3:      .long 0
tramp_efer:     .long 0
tramp_cr0:      .long 0
tramp_cpu:      .long 0
tramp_stack:    .quad 0
tramp_entry:    .quad 0
tramp_started:  .byte 0
        .balign 8
trampoline_end:
