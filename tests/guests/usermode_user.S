/* usermode_user.S: the user-mode program of the usermode guest. It is copied into a user
 * page at USER_CODE_VA, so it is position independent; the kernel side finds each step by
 * its offset from user_blob. rax says which step a syscall is. */
        .section .rodata.user_blob, "a"
        .globl user_blob, user_blob_end, user_syscall1_ret, user_fault, user_after_fault
        .globl user_int80_ret, user_exit_ret
user_blob:
        movabs  $0x5a5a5a5a00000300, %rbx       /* a pattern the kernel must see in rbx */
        mov     $1, %eax
        syscall                                 /* step 1: kernel checks the frame, returns */
user_syscall1_ret:
        mov     %rax, %rbp                      /* the value the kernel's iret put in rax */
user_fault:
        movq    0x800000, %rax                  /* step 2: #PF in user mode (unmapped) */
user_after_fault:
        int     $0x80                           /* step 3: DPL 3 vector from user mode */
user_int80_ret:
        mov     $2, %eax
        syscall                                 /* step 4: back to the kernel for good */
user_exit_ret:
        ud2
user_blob_end:
