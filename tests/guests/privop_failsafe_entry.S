/* privop_failsafe_entry.S: the privop_failsafe guest's failsafe callback. The hypervisor
 * enters it with Xen's 64-bit failsafe frame at %rsp (lowest address first): RCX, R11, DS,
 * ES, FS, GS, RIP, CS, RFLAGS, RSP, SS. It copies the 11 words to failsafe_frame, counts the
 * delivery, keeps the null selectors the hypervisor loaded, and resumes the interrupted
 * code through the iret hypercall (RCX and R11 from the frame, every other GPR untouched). */
#define HYPERCALL_IRET 23
        .text
        .code64
        .globl privop_failsafe_entry
privop_failsafe_entry:
        mov     %rax, failsafe_saved_rax(%rip)
        .set word, 0
        .rept 11
        mov     (word * 8)(%rsp), %rax
        mov     %rax, failsafe_frame + (word * 8)(%rip)
        .set word, word + 1
        .endr
        incl    failsafe_count(%rip)
        mov     failsafe_saved_rax(%rip), %rax
        mov     0(%rsp), %rcx
        mov     8(%rsp), %r11
        lea     48(%rsp), %rsp          /* drop RCX R11 DS ES FS GS: RIP CS RFLAGS RSP SS left */
        pushq   $0                      /* iret_context.flags: full iret */
        jmp     hypercall_page + HYPERCALL_IRET * 32

        .bss
        .balign 8
        .globl failsafe_frame, failsafe_count
failsafe_frame:
        .skip   11 * 8
failsafe_saved_rax:
        .skip   8
failsafe_count:
        .skip   4
