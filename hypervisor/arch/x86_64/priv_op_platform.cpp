// priv_op_platform: rdmsr/wrmsr/xsetbv that may fault on a guest-chosen operand carry an
// exception-table entry (fault_fixup): the #GP resumes after the instruction with "failed"
// still set, so a bogus MSR number never becomes a hypervisor panic.
#include "priv_op_platform.hpp"

#include "io.hpp"
#include "msr.hpp"

namespace hv::x86 {

// One instruction with an exception-table entry: %[failed] stays 1 if it faults.
#define GUARDED(insn)                     \
  "   mov $1, %[failed]\n"                \
  "1: " insn "\n"                         \
  "   xor %[failed], %[failed]\n"         \
  "2:\n"                                  \
  "   .pushsection .ex_table, \"a\"\n"    \
  "   .balign 8\n"                        \
  "   .quad 1b, 2b\n"                     \
  "   .popsection\n"

bool PrivOpHardware::read_msr_safe(std::uint32_t msr, std::uint64_t& value) {
  std::uint32_t lo = 0, hi = 0, failed;
  asm volatile(
      GUARDED("rdmsr")
      : [failed] "=&r"(failed), "+a"(lo), "+d"(hi)
      : "c"(msr));
  value = (std::uint64_t{hi} << 32) | lo;
  return failed == 0;
}

bool PrivOpHardware::write_msr_safe(std::uint32_t msr, std::uint64_t value) {
  std::uint32_t failed;
  asm volatile(
      GUARDED("wrmsr")
      : [failed] "=&r"(failed)
      : "c"(msr), "a"(static_cast<std::uint32_t>(value)),
        "d"(static_cast<std::uint32_t>(value >> 32))
      : "memory");
  return failed == 0;
}

bool PrivOpHardware::write_xcr0(std::uint64_t value) {
  std::uint32_t failed;
  asm volatile(
      GUARDED("xsetbv")
      : [failed] "=&r"(failed)
      : "c"(0u), "a"(static_cast<std::uint32_t>(value)),
        "d"(static_cast<std::uint32_t>(value >> 32))
      : "memory");
  return failed == 0;
}

std::uint64_t PrivOpHardware::read_xcr0() {
  std::uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0u));
  return (std::uint64_t{hi} << 32) | lo;
}

std::uint64_t PrivOpHardware::read_tsc() { return rdtsc(); }

std::uint64_t PrivOpHardware::read_cr0() {
  std::uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}

std::uint64_t PrivOpHardware::read_cr4() { return x86::read_cr4(); }
std::uint64_t PrivOpHardware::read_efer() { return rdmsr(MSR_EFER); }
std::uint64_t PrivOpHardware::read_fs_base() { return rdmsr(MSR_FS_BASE); }
std::uint64_t PrivOpHardware::read_gs_base() { return rdmsr(MSR_GS_BASE); }

CpuidRegs PrivOpHardware::guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  return hv::guest_cpuid(leaf, subleaf, [](std::uint32_t l, std::uint32_t s) {
    CpuidResult r = cpuid(l, s);
    return CpuidRegs{r.eax, r.ebx, r.ecx, r.edx};
  });
}

void PrivOpHardware::wbinvd() { asm volatile("wbinvd" ::: "memory"); }

std::uint32_t PrivOpHardware::port_in(std::uint16_t port, unsigned bytes) {
  std::uint32_t v = 0;
  if (bytes == 1) {
    v = inb(port);
  } else if (bytes == 2) {
    std::uint16_t w;
    asm volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
    v = w;
  } else {
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  }
  return v;
}

void PrivOpHardware::port_out(std::uint16_t port, unsigned bytes, std::uint32_t value) {
  if (bytes == 1) outb(port, static_cast<std::uint8_t>(value));
  else if (bytes == 2) outw(port, static_cast<std::uint16_t>(value));
  else outl(port, value);
}

}  // namespace hv::x86
