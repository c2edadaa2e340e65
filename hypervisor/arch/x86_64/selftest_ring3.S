/* selftest_ring3.S: a position-independent ring-3 program for the boot self-test
 * (selftest=ring3). It makes hypercalls the 64-bit PV way (syscall from guest kernel mode),
 * checks their results, and shuts its domain down; any failed check executes ud2, which
 * crashes the domain and makes the machine exit with a failure status. */
        .section .rodata
        .code64
        .globl selftest_ring3_code, selftest_ring3_code_end
selftest_ring3_code:
        mov     $17, %eax                       /* xen_version(XENVER_version) */
        xor     %edi, %edi
        syscall
        cmp     $0x40011, %rax                  /* 4.17 */
        jne     fail
        mov     $18, %eax                       /* console_io(write, len, msg) */
        xor     %edi, %edi
        mov     $(msg_end - msg), %esi
        lea     msg(%rip), %rdx
        syscall
        test    %rax, %rax
        jnz     fail
        mov     $18, %eax                       /* console_io into the hypervisor: -EFAULT */
        xor     %edi, %edi
        mov     $16, %esi
        movabs  $0xffff82d040200000, %rdx
        syscall
        cmp     $-14, %rax
        jne     fail
        mov     $99, %eax                       /* unknown hypercall: -ENOSYS */
        syscall
        cmp     $-38, %rax
        jne     fail
        mov     $29, %eax                       /* sched_op(shutdown, {poweroff}) */
        mov     $2, %edi
        lea     reason(%rip), %rsi
        syscall
fail:   ud2
        .balign 4
reason: .long 0
msg:    .ascii "ring3 self-test: hypercalls from ring 3 work\n"
msg_end:
selftest_ring3_code_end:
