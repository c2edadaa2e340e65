/* privop_insns.S: one privileged instruction per function, each at a global label name_insn
 * and followed by name_resume, where the privop guest's #GP handler resumes when the
 * instruction is refused (the result registers then hold what was loaded before it). */
        .text
        .code64

        .macro INSN name
        .globl \name, \name\()_insn, \name\()_resume
        .endm

/* uint64_t privop_rdmsr(uint32_t msr, uint64_t if_refused) */
        INSN privop_rdmsr
privop_rdmsr:
        mov     %edi, %ecx
        mov     %rsi, %rax
        mov     %rsi, %rdx
        shr     $32, %rdx
privop_rdmsr_insn:
        rdmsr
privop_rdmsr_resume:
        shl     $32, %rdx
        mov     %eax, %eax
        or      %rdx, %rax
        ret

/* int privop_wrmsr(uint32_t msr, uint64_t value): 0 done, 1 refused */
        INSN privop_wrmsr
privop_wrmsr:
        mov     %edi, %ecx
        mov     %rsi, %rax
        mov     %rsi, %rdx
        shr     $32, %rdx
        mov     $1, %r8d
privop_wrmsr_insn:
        wrmsr
        xor     %r8d, %r8d
privop_wrmsr_resume:
        mov     %r8d, %eax
        ret

/* uint64_t privop_read_cr0/3/4(void), uint64_t privop_read_cr2(void) */
        INSN privop_read_cr0
privop_read_cr0:
        xor     %eax, %eax
privop_read_cr0_insn:
        mov     %cr0, %rax
privop_read_cr0_resume:
        ret

        INSN privop_read_cr3
privop_read_cr3:
        xor     %eax, %eax
privop_read_cr3_insn:
        mov     %cr3, %r11      /* a REX-prefixed encoding */
privop_read_cr3_resume:
        mov     %r11, %rax
        ret

        INSN privop_read_cr4
privop_read_cr4:
        xor     %eax, %eax
privop_read_cr4_insn:
        mov     %cr4, %rax
privop_read_cr4_resume:
        ret

        INSN privop_clts
privop_clts:
privop_clts_insn:
        clts
privop_clts_resume:
        ret

/* uint32_t privop_inb(uint16_t port), privop_inw; void privop_outb(uint16_t port, uint8_t v) */
        INSN privop_inb
privop_inb:
        mov     %edi, %edx
        mov     $0xbad, %eax
privop_inb_insn:
        inb     %dx, %al
privop_inb_resume:
        ret

        INSN privop_inw
privop_inw:
        mov     %edi, %edx
        mov     $0xbad0000, %eax
privop_inw_insn:
        inw     %dx, %ax
privop_inw_resume:
        ret

        INSN privop_in80
privop_in80:
        mov     $0xbad, %eax
privop_in80_insn:
        inb     $0x80, %al
privop_in80_resume:
        ret

        INSN privop_outb
privop_outb:
        mov     %edi, %edx
        mov     %esi, %eax
privop_outb_insn:
        outb    %al, %dx
privop_outb_resume:
        ret

        INSN privop_cli
privop_cli:
privop_cli_insn:
        cli
privop_cli_resume:
        ret

        INSN privop_wbinvd
privop_wbinvd:
privop_wbinvd_insn:
        wbinvd
privop_wbinvd_resume:
        ret

        INSN privop_hlt
privop_hlt:
privop_hlt_insn:
        hlt
privop_hlt_resume:
        ret

/* uint64_t privop_read_fs0(void), privop_read_gs0(void): the quadword at %fs:0 / %gs:0 */
        .globl privop_read_fs0, privop_read_gs0
privop_read_fs0:
        mov     %fs:0, %rax
        ret
privop_read_gs0:
        mov     %gs:0, %rax
        ret
