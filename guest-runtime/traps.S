/* traps.S: exception entry stubs of a guest-runtime kernel, one per vector, for
 * set_trap_table (traps.hpp). The hypervisor enters a stub with the 64-bit PV bounce frame
 * at %rsp (lowest address first): RCX, R11, [error code], RIP, CS, RFLAGS, RSP, SS; the
 * registers rcx and r11 themselves are clobbered by the delivery (sysret), every other GPR
 * holds the interrupted value. The stub saves all GPRs below the frame, calls
 * guest_trap_dispatch(TrapContext*) and returns with the iret hypercall, restoring rcx,
 * r11 and the frame the C++ handler may have edited. Stubs never touch FPU/SSE state. */
#define ENTRY_STRIDE 16
#define HYPERCALL_IRET 23
#include "gprs.S.inc"

        .section .text.traps, "ax"
        .code64
        .balign ENTRY_STRIDE
        .globl guest_trap_entries
guest_trap_entries:
        .set vec, 0
        .rept 256
        .balign ENTRY_STRIDE
        /* The word pushed here is TrapContext::vector_word: vector | has_error << 8. */
        .if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
        pushq   $(vec | 0x100)
        .else
        pushq   $vec
        .endif
        jmp     guest_trap_common
        .set vec, vec + 1
        .endr

        /* Callback entries (callback_op) share the exception path; their frames have no
         * error code. Pseudo-vectors from 0x200 (traps.hpp kSyscallVector, ...). */
        .balign ENTRY_STRIDE
        .globl guest_syscall_entry
guest_syscall_entry:
        pushq   $0x200
        jmp     guest_trap_common
        .balign ENTRY_STRIDE
        .globl guest_event_entry
guest_event_entry:
        pushq   $0x201
        jmp     guest_trap_common
        /* The failsafe frame (RCX, R11, DS, ES, FS, GS, RIP, ...) is not an exception
         * frame: report it and stop. */
        .balign ENTRY_STRIDE
        .globl guest_failsafe_entry
guest_failsafe_entry:
        mov     %rsp, %rdi
        and     $-16, %rsp
        call    guest_failsafe
        ud2

guest_trap_common:
        /* Pushed in reverse TrapContext order: rax highest, r15 lowest. */
        push_gprs
        mov     %rsp, %rdi                      /* guest_trap_dispatch(TrapContext*) */
        mov     %rsp, %rbx                      /* callee-saved: the unaligned frame */
        and     $-16, %rsp                      /* the frame is 8- or 16-byte aligned */
        cld
        call    guest_trap_dispatch
        mov     %rbx, %rsp
        pop_gprs                                /* rcx, r11: clobbered values, reloaded below */
        /* Now at vector_word, RCX, R11, [error], RIP...: rebuild an iret_context. The
         * hypercall page's iret entry pushes rcx, r11, rax below our flags word. */
        testl   $0x100, (%rsp)
        mov     8(%rsp), %rcx
        mov     16(%rsp), %r11
        lea     24(%rsp), %rsp                  /* lea keeps the flags of testl */
        jz      1f
        lea     8(%rsp), %rsp                   /* drop the error code */
1:      pushq   $0                              /* iret_context.flags: full iret */
        jmp     hypercall_page + HYPERCALL_IRET * 32
