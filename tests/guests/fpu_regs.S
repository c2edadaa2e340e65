/* fpu_regs: the register work of the fpu guest, in assembly because guest C++ is built with
 * -mgeneral-regs-only (the compiler must never touch these registers behind the test's back).
 *
 *   fpu_fill(const FpuPattern* p, int avx)   loads FCW, 8 x87 values, MXCSR, xmm0-15 (and with
 *                                            avx the ymm upper halves) from the pattern
 *   fpu_snapshot(FpuSnapshot* s, int avx)    fxsave64 (changes no register) plus, with avx,
 *                                            the 16 ymm upper halves
 *
 * FpuPattern: +0 fcw (u16), +4 mxcsr (u32), +8 x87[8] (s64), +72 pad, +80 ymm[16][32 bytes].
 * FpuSnapshot: +0 fxsave area (512 bytes, 64-byte aligned), +512 upper[16][16 bytes].
 */
        .text
        .globl  fpu_fill
        .type   fpu_fill, @function
fpu_fill:
        fninit
        fldcw   0(%rdi)
        .irp    i, 0, 1, 2, 3, 4, 5, 6, 7
        fildq   8+8*\i(%rdi)
        .endr
        ldmxcsr 4(%rdi)
        test    %esi, %esi
        jz      1f
        .irp    i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vmovdqu 80+32*\i(%rdi), %ymm\i
        .endr
        ret
1:
        .irp    i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movdqu  80+32*\i(%rdi), %xmm\i
        .endr
        ret
        .size   fpu_fill, . - fpu_fill

        .globl  fpu_snapshot
        .type   fpu_snapshot, @function
fpu_snapshot:
        fxsave64 (%rdi)
        test    %esi, %esi
        jz      1f
        .irp    i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        vextractf128 $1, %ymm\i, 512+16*\i(%rdi)
        .endr
1:
        ret
        .size   fpu_snapshot, . - fpu_snapshot

        .section .note.GNU-stack, "", @progbits
