// cpuid_policy: Xen 4.17's hypervisor leaves exactly (XEN_CPUID_MAX_NUM_LEAVES = 5,
// "XenVMMXenVMM", version, one hypercall page at MSR 0x40000000, MMU_PT_UPDATE_PRESERVE_AD),
// and a host filter that hides virtualization, monitoring and APIC-timer features a PV
// guest has no use for, and says "hypervisor".
#include "cpuid_policy.hpp"

namespace hv {
namespace {

constexpr std::uint32_t kBase = 0x40000000, kMaxHypervisorLeaf = kBase + 5;

// Leaf 1 ECX bits hidden from PV guests: DTES64(2) MONITOR(3) DS_CPL(4) VMX(5) SMX(6)
// EST(7) TM2(8) PDCM(15) PCID(17) x2APIC(21) TSC_DEADLINE(24).
constexpr std::uint32_t kLeaf1EcxHidden = (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
                                          (1u << 7) | (1u << 8) | (1u << 15) | (1u << 17) | (1u << 21) |
                                          (1u << 24);
constexpr std::uint32_t kHypervisorBit = 1u << 31;
// Leaf 1 EDX: DS(21) ACPI(22) TM(29) PBE(31).
constexpr std::uint32_t kLeaf1EdxHidden = (1u << 21) | (1u << 22) | (1u << 29) | (1u << 31);
// 0x80000001 ECX: SVM(2).
constexpr std::uint32_t kExt1EcxHidden = 1u << 2;

CpuidRegs hypervisor_leaf(std::uint32_t leaf) {
  switch (leaf - kBase) {
    case 0: return {kMaxHypervisorLeaf, 0x566e6558, 0x65584d4d, 0x4d4d566e};  // "XenVMMXenVMM"
    case 1: return {(4u << 16) | 17u, 0, 0, 0};
    case 2: return {1, 0x40000000, 1u /* MMU_PT_UPDATE_PRESERVE_AD */, 0};
    default: return {0, 0, 0, 0};  // time, HVM and PV-only leaves: nothing yet
  }
}

}  // namespace

CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf, HostCpuid host) {
  if (leaf >= kBase && leaf < kBase + 0x10000) {
    if (leaf > kMaxHypervisorLeaf) return {0, 0, 0, 0};
    return hypervisor_leaf(leaf);
  }
  CpuidRegs r = host(leaf, subleaf);
  if (leaf == 1) {
    r.ecx = (r.ecx & ~kLeaf1EcxHidden) | kHypervisorBit;
    r.edx &= ~kLeaf1EdxHidden;
  } else if (leaf == 0x80000001) {
    r.ecx &= ~kExt1EcxHidden;
  }
  return r;
}

bool is_forced_cpuid(const std::uint8_t (&b)[kForcedCpuidLength]) {
  return b[0] == 0x0F && b[1] == 0x0B && b[2] == 'x' && b[3] == 'e' && b[4] == 'n' && b[5] == 0x0F &&
         b[6] == 0xA2;
}

}  // namespace hv
