/* usermode.S: a guest-runtime kernel's way into guest user mode and back (usermode.hpp).
 * guest_enter_user(rip, rsp, rflags) saves the callee-saved registers and %rsp, then
 * returns to user mode through the iret hypercall (CS RPL 3 selects user mode and the
 * user page table). The way back is a bounce (syscall, exception) whose handler calls
 * guest::return_to_kernel: it aims the frame at guest_user_return with the saved %rsp. */
#define FLAT_USER_CS 0xe033
#define FLAT_USER_SS 0xe02b
#define HYPERCALL_IRET 23

        .section .text.usermode, "ax"
        .code64
        .globl guest_enter_user, guest_user_return
guest_enter_user:
        push    %rbx
        push    %rbp
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        mov     %rsp, guest_user_return_rsp(%rip)
        pushq   $FLAT_USER_SS
        push    %rsi                            /* rsp */
        push    %rdx                            /* rflags */
        pushq   $FLAT_USER_CS
        push    %rdi                            /* rip */
        pushq   $0                              /* iret_context.flags */
        xor     %eax, %eax                      /* user mode starts with rax, rcx, r11 = 0 */
        xor     %ecx, %ecx
        xor     %r11d, %r11d
        jmp     hypercall_page + HYPERCALL_IRET * 32

guest_user_return:
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbp
        pop     %rbx
        ret

        .section .bss
        .balign 8
        .globl guest_user_return_rsp
guest_user_return_rsp:
        .quad 0
