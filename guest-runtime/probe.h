/* probe.h: one-instruction probes for test guests, shared by assembly and C++. In a .S file,
 * `PROBE name, insn` defines `extern "C" void name()`: it loads probe_pattern(n) into every
 * GPR n (x86 register numbers; rsp excepted), stores %rsp in probe_rsp, executes `insn` at
 * the global label name_insn, and from name_resume stores every GPR into probe_after[n]
 * before returning. A trap handler resumes a faulting probe at name_resume; the test then
 * checks the bounce frame against name_insn/probe_rsp and the registers against the
 * patterns (what survived the trip through the hypervisor and the iret hypercall). */
#pragma once

#define PROBE_PATTERN_BASE 0x5a5a5a5a00000000

#ifdef __ASSEMBLER__
        .macro PROBE name, insn:vararg
        .pushsection .text.probes, "ax"
        .globl \name, \name\()_insn, \name\()_resume
\name:
        push    %rbx
        push    %rbp
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        movabs  $(PROBE_PATTERN_BASE + 0x000), %rax
        movabs  $(PROBE_PATTERN_BASE + 0x100), %rcx
        movabs  $(PROBE_PATTERN_BASE + 0x200), %rdx
        movabs  $(PROBE_PATTERN_BASE + 0x300), %rbx
        movabs  $(PROBE_PATTERN_BASE + 0x500), %rbp
        movabs  $(PROBE_PATTERN_BASE + 0x600), %rsi
        movabs  $(PROBE_PATTERN_BASE + 0x700), %rdi
        movabs  $(PROBE_PATTERN_BASE + 0x800), %r8
        movabs  $(PROBE_PATTERN_BASE + 0x900), %r9
        movabs  $(PROBE_PATTERN_BASE + 0xa00), %r10
        movabs  $(PROBE_PATTERN_BASE + 0xb00), %r11
        movabs  $(PROBE_PATTERN_BASE + 0xc00), %r12
        movabs  $(PROBE_PATTERN_BASE + 0xd00), %r13
        movabs  $(PROBE_PATTERN_BASE + 0xe00), %r14
        movabs  $(PROBE_PATTERN_BASE + 0xf00), %r15
        mov     %rsp, probe_rsp(%rip)
\name\()_insn:
        \insn
\name\()_resume:
        mov     %rax, probe_after + 0x00(%rip)
        mov     %rcx, probe_after + 0x08(%rip)
        mov     %rdx, probe_after + 0x10(%rip)
        mov     %rbx, probe_after + 0x18(%rip)
        mov     %rsp, probe_after + 0x20(%rip)
        mov     %rbp, probe_after + 0x28(%rip)
        mov     %rsi, probe_after + 0x30(%rip)
        mov     %rdi, probe_after + 0x38(%rip)
        mov     %r8, probe_after + 0x40(%rip)
        mov     %r9, probe_after + 0x48(%rip)
        mov     %r10, probe_after + 0x50(%rip)
        mov     %r11, probe_after + 0x58(%rip)
        mov     %r12, probe_after + 0x60(%rip)
        mov     %r13, probe_after + 0x68(%rip)
        mov     %r14, probe_after + 0x70(%rip)
        mov     %r15, probe_after + 0x78(%rip)
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbp
        pop     %rbx
        ret
        .popsection
        .endm
#else
#include <cstdint>

extern "C" std::uint64_t probe_rsp;       // %rsp at the probed instruction
extern "C" std::uint64_t probe_after[16]; // GPRs at name_resume, by register number

namespace guest {
// The value a probe loads into GPR n (0 rax, 1 rcx, 2 rdx, 3 rbx, 5 rbp, ... 15 r15).
constexpr std::uint64_t probe_pattern(unsigned n) { return PROBE_PATTERN_BASE + (n << 8); }
// "" when probe_after holds every pattern (rsp excepted), else the first mismatch.
const char* probe_registers_intact();
}  // namespace guest

// Declares the symbols of a probe defined with PROBE in a .S file.
#define DECLARE_PROBE(name) \
  extern "C" void name();   \
  extern "C" char name##_insn[], name##_resume[]
#endif
