// cpuid_policy: what CPUID returns to a PV guest that asks the hypervisor (the forced
// emulation prefix `ud2; .ascii "xen"; cpuid`, which Linux's xen_cpuid always uses): the
// host's values filtered of what a PV guest cannot use, and Xen's leaves at 0x40000000.
#pragma once
#include <cstdint>

namespace hv {

struct CpuidRegs {
  std::uint32_t eax, ebx, ecx, edx;
};

using HostCpuid = CpuidRegs (*)(std::uint32_t leaf, std::uint32_t subleaf);

// `guest_osxsave`: the guest's virtual CR4.OSXSAVE, which leaf 1 ECX bit 27 reports (Xen's
// non-architectural PV OSXSAVE handling).
CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf, HostCpuid host, bool guest_osxsave = false);

// The forced emulation prefix followed by cpuid: 0f 0b 'x' 'e' 'n' 0f a2.
inline constexpr unsigned kForcedCpuidLength = 7;
bool is_forced_cpuid(const std::uint8_t (&bytes)[kForcedCpuidLength]);

}  // namespace hv
