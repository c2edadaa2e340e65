// cpu: executes CPUID for the leaves cpu_features decodes.
#include "cpu.hpp"

#include "io.hpp"

namespace hv::x86 {
namespace {

void store_regs(char* out, std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  __builtin_memcpy(out, &a, 4);
  __builtin_memcpy(out + 4, &b, 4);
  __builtin_memcpy(out + 8, &c, 4);
  __builtin_memcpy(out + 12, &d, 4);
}

}  // namespace

CpuidSnapshot read_cpuid() {
  CpuidSnapshot s;
  CpuidResult r = cpuid(0);
  s.max_basic = r.eax;
  __builtin_memcpy(s.vendor, &r.ebx, 4);
  __builtin_memcpy(s.vendor + 4, &r.edx, 4);
  __builtin_memcpy(s.vendor + 8, &r.ecx, 4);
  if (s.max_basic >= 1) {
    r = cpuid(1);
    s.signature = r.eax;
    s.leaf1_ecx = r.ecx;
    s.leaf1_edx = r.edx;
  }
  if (s.max_basic >= 7) {
    r = cpuid(7, 0);
    s.leaf7_ebx = r.ebx;
    s.leaf7_ecx = r.ecx;
    s.leaf7_edx = r.edx;
  }
  s.max_extended = cpuid(0x80000000).eax;
  if (s.max_extended >= 0x80000001) {
    r = cpuid(0x80000001);
    s.ext1_ecx = r.ecx;
    s.ext1_edx = r.edx;
  }
  if (s.max_extended >= 0x80000004) {
    for (std::uint32_t i = 0; i < 3; ++i) {
      r = cpuid(0x80000002 + i);
      store_regs(s.brand + 16 * i, r.eax, r.ebx, r.ecx, r.edx);
    }
  }
  if (s.max_extended >= 0x80000007) s.ext7_edx = cpuid(0x80000007).edx;
  if (s.max_extended >= 0x80000008) s.ext8_eax = cpuid(0x80000008).eax;
  return s;
}

}  // namespace hv::x86
