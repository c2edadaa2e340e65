// cpu_features: CPUID decoding, kept portable so the rules are unit-tested.
#include "cpu_features.hpp"

#include "format.hpp"  // freestanding/

namespace hv {

bool has_feature(const CpuidSnapshot& s, const CpuFeature& f) {
  std::uint32_t reg = 0;
  switch (f.reg) {
    case CpuidReg::l1_ecx: reg = s.leaf1_ecx; break;
    case CpuidReg::l1_edx: reg = s.leaf1_edx; break;
    case CpuidReg::l7_ebx: reg = s.leaf7_ebx; break;
    case CpuidReg::l7_ecx: reg = s.leaf7_ecx; break;
    case CpuidReg::l7_edx: reg = s.leaf7_edx; break;
    case CpuidReg::e1_ecx: reg = s.ext1_ecx; break;
    case CpuidReg::e1_edx: reg = s.ext1_edx; break;
    case CpuidReg::e7_edx: reg = s.ext7_edx; break;
  }
  return (reg >> f.bit) & 1u;
}

std::size_t format_features(const CpuidSnapshot& s, char* buf, std::size_t size) {
  static constexpr const CpuFeature* kReported[] = {
      &cpu::fpu, &cpu::pse, &cpu::tsc, &cpu::msr, &cpu::pae, &cpu::apic, &cpu::pge,
      &cpu::fxsr, &cpu::sse2, &cpu::syscall, &cpu::nx, &cpu::page1gb, &cpu::rdtscp,
      &cpu::long_mode, &cpu::x2apic, &cpu::tsc_deadline, &cpu::xsave, &cpu::avx,
      &cpu::hypervisor, &cpu::vmx, &cpu::svm, &cpu::fsgsbase, &cpu::smep, &cpu::smap,
      &cpu::invpcid, &cpu::umip, &cpu::invariant_tsc};
  if (size == 0) return 0;
  std::size_t pos = 0;
  buf[0] = 0;
  for (const CpuFeature* f : kReported) {
    if (!has_feature(s, *f)) continue;
    int n = mx::format(buf + pos, size - pos, "%s%s", pos == 0 ? "" : " ", f->name);
    if (n < 0 || pos + static_cast<std::size_t>(n) >= size) { buf[pos] = 0; break; }
    pos += static_cast<std::size_t>(n);
  }
  return pos;
}

CpuSignature decode_signature(std::uint32_t eax) {
  std::uint32_t family = (eax >> 8) & 0xF;
  std::uint32_t model = (eax >> 4) & 0xF;
  if (family == 0xF) family += (eax >> 20) & 0xFF;
  if (family == 0x6 || family >= 0xF) model |= ((eax >> 16) & 0xF) << 4;
  return {family, model, eax & 0xF};
}

std::uint32_t physical_address_bits(const CpuidSnapshot& s) {
  if (s.max_extended < 0x80000008u) return 36;
  return s.ext8_eax & 0xFF;
}

}  // namespace hv
