/* usercopy.S: the only instructions that touch guest memory. A fault inside them is not a
 * hypervisor bug: the exception table sends it to the fixup, which reports failure, and the
 * hypercall returns -EFAULT. */
        .text
        .code64

/* uint64_t hv_copy_guest(void* dst, const void* src, size_t n): 0, or the bytes not copied. */
        .globl hv_copy_guest
hv_copy_guest:
        mov     %rdx, %rcx
1:      rep movsb
        mov     %rcx, %rax                      /* 0 on success */
        ret
2:      mov     %rcx, %rax                      /* rep movsb left the remaining count */
        ret

        .section .ex_table, "a"
        .balign 8
        .quad 1b, 2b

/* void hv_load_gs_selector(uint16_t sel): mov %di, %gs; a guest selector that faults
 * (#GP/#NP) loads the null selector instead, as Xen's set_segment_base does. */
        .text
        .globl hv_load_gs_selector
hv_load_gs_selector:
3:      mov     %edi, %gs
        ret
4:      xor     %eax, %eax
        mov     %eax, %gs
        ret

        .section .ex_table, "a"
        .balign 8
        .quad 3b, 4b
