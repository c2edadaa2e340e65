/* boot.S: the hypervisor's first instructions. Both loaders enter here in 32-bit protected
 * mode with paging off: QEMU's PVH loader (ELF note PHYS32_ENTRY, %ebx = hvm_start_info) and
 * GRUB's multiboot2 (%eax = magic, %ebx = info). We build boot page tables (identity map and
 * direct map of the first 4 GiB, the image at HV_KERNEL_VIRT_BASE), enter long mode, and jump
 * to C++ in the upper half. Nothing here may touch memory outside our own image. */
#include "layout.hpp"

#define MB2_MAGIC 0xE85250D6
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

/* Multiboot2 header: must sit 8-byte aligned in the first 32 KiB of the file. */
        .section .boot.header, "a"
        .balign 8
mb2_header:
        .long MB2_MAGIC
        .long 0                                 /* architecture: i386 protected mode */
        .long mb2_header_end - mb2_header
        .long (0x100000000 - MB2_MAGIC - (mb2_header_end - mb2_header)) & 0xFFFFFFFF
        .balign 8
        .short 0, 0                             /* end tag */
        .long 8
mb2_header_end:

/* PVH entry note (type 18), read by QEMU's -kernel loader; its segment must be 4-aligned. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .balign 4
        .long pvh_entry

        .section .boot.text, "ax"
        .code32
        .globl mb2_entry
mb2_entry:
        cli
        cld
        mov     %eax, %esi                      /* magic: checked by the C++ parser */
        mov     $2, %edi                        /* BootProtocol::multiboot2 */
        jmp     common32

        .globl pvh_entry
pvh_entry:
        cli
        cld
        mov     $0x336ec578, %esi               /* the PVH magic, checked the same way */
        mov     $1, %edi                        /* BootProtocol::pvh */

common32:
        mov     $boot_stack_top, %esp
        mov     %edi, boot_protocol
        mov     %esi, boot_magic
        mov     %ebx, boot_info_paddr

        /* Long mode is required; without it print on COM1 and stop. */
        mov     $0x80000000, %eax
        cpuid
        cmp     $0x80000001, %eax
        jb      no_long_mode
        mov     $0x80000001, %eax
        cpuid
        test    $(1 << 29), %edx
        jz      no_long_mode
        mov     %edx, %ebp                      /* keep: bit 20 tells whether NX exists */

        /* Zero the boot page tables (they are NOLOAD). */
        mov     $boot_page_tables, %edi
        mov     $(boot_page_tables_end - boot_page_tables) / 4, %ecx
        xor     %eax, %eax
        rep stosl

        /* boot_pd: 4 pages of 2 MiB entries covering physical 0..4 GiB. */
        mov     $boot_pd, %edi
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $21, %eax
        or      $(PTE_P | PTE_W | PTE_PS), %eax
        mov     %eax, (%edi, %ecx, 8)
        mov     %ecx, %eax
        shr     $11, %eax                       /* high dword: bits 32+ of (ecx << 21) */
        mov     %eax, 4(%edi, %ecx, 8)
        inc     %ecx
        cmp     $2048, %ecx
        jb      1b

        /* boot_pdpt_low[0..3] -> the four PDs (identity map and direct map share it). */
        mov     $boot_pdpt_low, %edi
        mov     $boot_pd + (PTE_P | PTE_W), %eax
        mov     %eax, 0(%edi)
        add     $4096, %eax
        mov     %eax, 8(%edi)
        add     $4096, %eax
        mov     %eax, 16(%edi)
        add     $4096, %eax
        mov     %eax, 24(%edi)

        /* boot_pdpt_image: the 1 GiB containing HV_KERNEL_VIRT_BASE -> physical 0..1 GiB. */
        mov     $boot_pd + (PTE_P | PTE_W), %eax
        mov     %eax, boot_pdpt_image + 8 * ((HV_KERNEL_VIRT_BASE >> 30) & 511)

        mov     $boot_pml4, %edi
        mov     $boot_pdpt_low + (PTE_P | PTE_W), %eax
        mov     %eax, 0(%edi)
        mov     %eax, 8 * ((HV_DIRECTMAP_BASE >> 39) & 511)(%edi)
        mov     $boot_pdpt_image + (PTE_P | PTE_W), %eax
        mov     %eax, 8 * ((HV_KERNEL_VIRT_BASE >> 39) & 511)(%edi)

        /* PAE on, CR3, EFER.LME (+NXE when present), then paging. */
        mov     %cr4, %eax
        or      $(1 << 5), %eax
        mov     %eax, %cr4
        mov     $boot_pml4, %eax
        mov     %eax, %cr3
        mov     $MSR_EFER, %ecx
        rdmsr
        or      $EFER_LME, %eax
        test    $(1 << 20), %ebp
        jz      2f
        or      $EFER_NXE, %eax
2:      wrmsr
        mov     %cr0, %eax
        or      $0x80010001, %eax               /* PG | WP | PE */
        mov     %eax, %cr0

        lgdt    boot_gdt_ptr
        ljmp    $HV_BOOT_SEL_CODE64, $long_mode_entry

no_long_mode:
        mov     $no_lm_message, %esi
3:      lodsb
        test    %al, %al
        jz      4f
        mov     $0x3F8, %dx
        outb    %al, %dx
        jmp     3b
4:      hlt
        jmp     4b

        .code64
long_mode_entry:
        mov     $HV_BOOT_SEL_DATA, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        /* Zero .bss ourselves rather than trust each loader to (it holds the stack too). */
        movabs  $__bss_start, %rdi
        movabs  $__bss_end, %rcx
        sub     %rdi, %rcx
        rep stosb
        /* CPU 0 runs on its per-CPU stack from the start, below its CpuInfo block. */
        movabs  $hv_percpu_stacks + HV_STACK_SIZE - HV_CPU_INFO_SIZE, %rsp
        xor     %ebp, %ebp
        mov     boot_protocol, %edi             /* hv_start64(protocol, magic, info_paddr) */
        mov     boot_magic, %esi
        mov     boot_info_paddr, %edx
        movabs  $hv_start64, %rax
        call    *%rax
5:      hlt
        jmp     5b

        .section .boot.data, "aw"
        .balign 8
boot_gdt:
        .quad 0
        .quad 0x00AF9A000000FFFF                /* 0x08: 64-bit code, DPL 0 */
        .quad 0x00CF92000000FFFF                /* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_ptr:
        .short boot_gdt_end - boot_gdt - 1
        .long boot_gdt
boot_protocol:   .long 0
boot_magic:      .long 0
boot_info_paddr: .long 0
no_lm_message:   .asciz "microxen: this CPU has no long mode\r\n"

        .section .boot.bss, "aw", @nobits
        .balign 4096
boot_page_tables:
boot_pml4:       .skip 4096
boot_pdpt_low:   .skip 4096
boot_pdpt_image: .skip 4096
boot_pd:         .skip 4 * 4096
boot_page_tables_end:
        .skip 4096
boot_stack_top:
