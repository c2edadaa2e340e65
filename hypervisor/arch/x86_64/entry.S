/* entry.S: every way into the hypervisor. Exceptions (from the hypervisor or a guest) and a
 * guest's `syscall` all build one uniform TrapFrame (see trap_frame.hpp: the push order here
 * must match it exactly) and call hv_exception(frame). From ring 3 the frame lands at the top
 * of the per-CPU stack (CpuInfo.guest_frame); leaving through exception_return resumes
 * whatever the frame then says, so a guest is entered and resumed by the same path. */
#include "layout.hpp"
#include "gprs.S.inc"
#include "apic.hpp"

        .text
        .code64


        .altmacro
/* Vectors where the CPU pushes an error code itself: 8, 10-14, 17, 21, 29, 30. */
        .macro exception_stub vector
        .balign 16
exception_stub_\vector:
        .if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
        .else
        pushq   $0
        .endif
        pushq   $\vector
        jmp     exception_common
        .endm

        .set vec, 0
        .rept 32
        exception_stub %vec
        .set vec, vec + 1
        .endr

exception_common:
        cld
        push_gprs
        mov     %rsp, %rdi
        call    hv_exception
        cmpq    $HV_VECTOR_SYSRET, 15 * 8(%rsp)
        je      sysret_return
exception_return_regs:
        pop_gprs
        add     $16, %rsp                       /* vector and error code */
exception_iretq:
        iretq

/* The local APIC timer (timer_irq.cpp): like an exception without error code, so a guest
 * it interrupts is saved in and resumed from the same TrapFrame. */
        .globl apic_timer_stub
        .balign 16
apic_timer_stub:
        pushq   $0
        pushq   $HV_VECTOR_APIC_TIMER
        cld
        push_gprs
        mov     %rsp, %rdi
        call    hv_timer_interrupt
        jmp     exception_return_regs

/* Inter-processor interrupts (ipi.cpp): entered like the timer, so one that arrives while a
 * guest runs leaves the guest's registers in the per-CPU frame and resumes from it. */
        .macro ipi_stub name, vector, handler
        .globl \name
        .balign 16
\name:
        pushq   $0
        pushq   $\vector
        cld
        push_gprs
        mov     %rsp, %rdi
        call    \handler
        jmp     exception_return_regs
        .endm

        ipi_stub ipi_ping_stub, HV_VECTOR_PING, hv_ipi_ping
        ipi_stub ipi_call_stub, HV_VECTOR_CALL, hv_ipi_call
        ipi_stub ipi_event_check_stub, HV_VECTOR_EVENT_CHECK, hv_ipi_event_check
        ipi_stub ipi_flush_stub, HV_VECTOR_FLUSH, hv_ipi_flush

/* Spurious APIC interrupts need no EOI and change nothing. */
        .globl apic_spurious_stub
        .balign 16
apic_spurious_stub:
        iretq

/* The iretq above faulted (only possible towards a guest, with selectors from its iret
 * hypercall). The fault's own frame has been unwound by the fixup, so %rsp is back at the
 * guest frame's rip: step back to the whole frame and let C++ decide. */
exception_iretq_fault:
        sub     $(17 * 8), %rsp
        mov     %rsp, %rdi
        call    hv_bad_guest_frame
        jmp     exception_return_regs

        .section .ex_table, "a"
        .balign 8
        .quad exception_iretq, exception_iretq_fault
        .text

/* The fast way back from a hypercall: guest_entry.cpp checked that the frame is exactly what
 * sysretq produces (rip = rcx, rflags = r11, flat 64-bit selectors, canonical rip), so the
 * guest cannot tell it from iretq. sysretq does not load %rsp: it comes from the frame. */
sysret_return:
        pop_gprs
        mov     (16 + 24)(%rsp), %rsp           /* frame rsp: past vector, error, rip, cs, rflags */
        sysretq

/* [[noreturn]] void hv_enter_frame(TrapFrame* frame): resume the state in `frame` (which
 * must be a CpuInfo.guest_frame: the stack below it is reused from scratch). */
        .globl hv_enter_frame
hv_enter_frame:
        mov     %rdi, %rsp
        jmp     exception_return_regs

/* The syscall entry template. gdt/syscall.cpp copies it once per CPU and patches the three
 * 64-bit immediates (at label + 2) with that CPU's scratch slot and frame top: `syscall`
 * leaves %rsp pointing at the guest's stack and no free register, so the only safe first
 * step is a store to an absolute address (Xen's stubs do the same). */
        .globl syscall_stub_template, syscall_stub_template_end, syscall_stub_floor_prefix
        .globl syscall_stub_patch_scratch1, syscall_stub_patch_top, syscall_stub_patch_scratch2
/* Benchmark builds only (boot option bench_floor): hypercall 63 returns at once with sysret,
 * the floor an empty ring 3 -> ring 0 -> ring 3 round trip costs on this machine. %rcx holds
 * the return address `syscall` itself stored, so it is canonical. Copied in front of the
 * template, so the jne lands on the template's first instruction. */
syscall_stub_floor_prefix:
        cmp     $63, %eax
        jne     syscall_stub_template
        sysretq
syscall_stub_template:
syscall_stub_patch_scratch1:
        movabs  %rax, 0x1111111111111111        /* park %rax */
        mov     %rsp, %rax
syscall_stub_patch_top:
        movabs  $0x2222222222222222, %rsp       /* top of CpuInfo.guest_frame */
        pushq   $HV_SEL_RING3_DS32              /* ss */
        push    %rax                            /* rsp */
        push    %r11                            /* rflags */
        pushq   $HV_SEL_RING3_CS64              /* cs */
        push    %rcx                            /* rip */
syscall_stub_patch_scratch2:
        movabs  0x1111111111111111, %rax        /* restore %rax (the hypercall number) */
        pushq   $0                              /* error code */
        pushq   $HV_VECTOR_SYSCALL
        movabs  $exception_common, %rcx         /* rcx/r11 already hold guest rip/rflags */
        jmp     *%rcx
syscall_stub_template_end:

/* Table of stub addresses for idt.cpp. */
        .section .rodata
        .balign 8
        .globl exception_stub_table
exception_stub_table:
        .macro stub_address vector
        .quad exception_stub_\vector
        .endm
        .set vec, 0
        .rept 32
        stub_address %vec
        .set vec, vec + 1
        .endr
