/* head.S: entry point and Xen ELF notes of a guest-runtime PV kernel (test guests, later our
 * dom0). The domain builder enters _start in 64-bit mode, ring 3 (PV kernel mode), with %rsi
 * pointing at start_info and a stack set by the builder; we switch to our own stack at once.
 * The notes are what Xen's libelf requires: loader "generic", xen-3.0, and where to put the
 * hypercall page. Linked Linux-style in the top 2 GiB (VIRT_BASE, physical offset 0). */
#define XEN_ELFNOTE_ENTRY 1
#define XEN_ELFNOTE_HYPERCALL_PAGE 2
#define XEN_ELFNOTE_VIRT_BASE 3
#define XEN_ELFNOTE_PADDR_OFFSET 4
#define XEN_ELFNOTE_XEN_VERSION 5
#define XEN_ELFNOTE_GUEST_OS 6
#define XEN_ELFNOTE_GUEST_VERSION 7
#define XEN_ELFNOTE_LOADER 8
#define GUEST_VIRT_BASE 0xffffffff80000000

        .macro elfnote type, kind, value
        .pushsection .note.Xen, "a", @note
        .balign 4
        .long 4f - 3f, 6f - 5f, \type
3:      .asciz "Xen"
4:      .balign 4
5:      \kind \value
6:      .balign 4
        .popsection
        .endm

        .macro elfnote_string type, text
        .pushsection .note.Xen, "a", @note
        .balign 4
        .long 4f - 3f, 6f - 5f, \type
3:      .asciz "Xen"
4:      .balign 4
5:      .asciz "\text"
6:      .balign 4
        .popsection
        .endm

        elfnote_string XEN_ELFNOTE_GUEST_OS, "microxen-guest"
        elfnote_string XEN_ELFNOTE_GUEST_VERSION, "0.1"
        elfnote_string XEN_ELFNOTE_XEN_VERSION, "xen-3.0"
        elfnote_string XEN_ELFNOTE_LOADER, "generic"
        elfnote XEN_ELFNOTE_VIRT_BASE, .quad, GUEST_VIRT_BASE
        elfnote XEN_ELFNOTE_PADDR_OFFSET, .quad, 0
        elfnote XEN_ELFNOTE_ENTRY, .quad, _start
        elfnote XEN_ELFNOTE_HYPERCALL_PAGE, .quad, hypercall_page

        .section .text.head, "ax"
        .code64
        .globl _start
_start:
        cld
        lea     guest_stack_top(%rip), %rsp
        mov     %rsi, %rdi                      /* guest_start(start_info*) */
        call    guest_start
1:      ud2                                     /* guest_start never returns */
        jmp     1b

        /* Filled by the hypervisor: 128 entries of 32 bytes, entry N makes hypercall N. */
        .section .text.hypercall_page, "ax"
        .balign 4096
        .globl hypercall_page
hypercall_page:
        .fill 4096, 1, 0xcc

        .section .bss
        .balign 16
        .skip 65536
guest_stack_top:
