// cpuid_policy: Xen 4.17's hypervisor leaves exactly (XEN_CPUID_MAX_NUM_LEAVES = 5,
// "XenVMMXenVMM", version, one hypercall page at MSR 0x40000000, MMU_PT_UPDATE_PRESERVE_AD),
// and the host's features filtered to Xen's default PV featureset.
#include "cpuid_policy.hpp"

namespace hv {
namespace {

constexpr std::uint32_t kBase = 0x40000000, kMaxHypervisorLeaf = kBase + 5;

// Xen 4.17's default PV featureset: the features cpufeatureset.h annotates 'A' (all guests,
// default on). Everything else ('S' shadow-HVM, 'H' HAP-HVM, lower-case max-only, unmarked)
// is hidden from PV guests: among them PSE, PSE36, PGE and 1 GiB pages, which a PV guest must
// never believe it can use (Linux would build superpage mappings Xen refuses), plus
// virtualization, monitoring and APIC-timer features.
constexpr std::uint32_t kPv1Edx = 0x1fc9cbf5;     // word 0: leaf 1 EDX
constexpr std::uint32_t kPv1Ecx = 0xf6d83203;     // word 1: leaf 1 ECX (incl. hypervisor, bit 31)
constexpr std::uint32_t kPvE1Edx = 0xea500800;    // word 2: 0x80000001 EDX
constexpr std::uint32_t kPvE1Ecx = 0x042109e3;    // word 3: 0x80000001 ECX
constexpr std::uint32_t kPvD1Eax = 0x00000007;    // word 4: leaf 0xd subleaf 1 EAX
constexpr std::uint32_t kPv7Ebx = 0xfdaf0b29;     // word 5: leaf 7.0 EBX
constexpr std::uint32_t kPv7Ecx = 0x02405f43;     // word 6: leaf 7.0 ECX
constexpr std::uint32_t kPvE7Edx = 0;             // word 7: 0x80000007 EDX
constexpr std::uint32_t kPvE8Ebx = 0x64001005;    // word 8: 0x80000008 EBX
constexpr std::uint32_t kPv7Edx = 0xac00441c;     // word 9: leaf 7.0 EDX
constexpr std::uint32_t kPv71Eax = 0x00001c30;    // word 10: leaf 7.1 EAX
constexpr std::uint32_t kPvE21Eax = 0x38000044;   // word 11: 0x80000021 EAX
constexpr std::uint32_t kPv72Edx = 0x00000021;    // word 13: leaf 7.2 EDX
constexpr std::uint32_t kHypervisorBit = 1u << 31;
constexpr std::uint32_t kOsxsaveBit = 1u << 27;   // leaf 1 ECX: mirrors the guest's CR4.OSXSAVE

CpuidRegs hypervisor_leaf(std::uint32_t leaf) {
  switch (leaf - kBase) {
    case 0: return {kMaxHypervisorLeaf, 0x566e6558, 0x65584d4d, 0x4d4d566e};  // "XenVMMXenVMM"
    case 1: return {(4u << 16) | 17u, 0, 0, 0};
    case 2: return {1, 0x40000000, 1u /* MMU_PT_UPDATE_PRESERVE_AD */, 0};
    default: return {0, 0, 0, 0};  // time, HVM and PV-only leaves: nothing yet
  }
}

}  // namespace

CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf, HostCpuid host, bool guest_osxsave) {
  if (leaf >= kBase && leaf < kBase + 0x10000) {
    if (leaf > kMaxHypervisorLeaf) return {0, 0, 0, 0};
    return hypervisor_leaf(leaf);
  }
  CpuidRegs r = host(leaf, subleaf);
  switch (leaf) {
    case 1:
      r.ecx = (r.ecx & kPv1Ecx & ~kOsxsaveBit) | kHypervisorBit | (guest_osxsave ? kOsxsaveBit : 0);
      r.edx &= kPv1Edx;
      break;
    case 7:
      if (subleaf == 0) {
        r.ebx &= kPv7Ebx;
        r.ecx &= kPv7Ecx;
        r.edx &= kPv7Edx;
      } else if (subleaf == 1) {
        r.eax &= kPv71Eax;
        r.ebx = r.ecx = r.edx = 0;
      } else if (subleaf == 2) {
        r.edx &= kPv72Edx;
        r.eax = r.ebx = r.ecx = 0;
      }
      break;
    case 0xd:
      if (subleaf == 1) r.eax &= kPvD1Eax;
      break;
    case 0x80000001:
      r.ecx &= kPvE1Ecx;
      r.edx &= kPvE1Edx;
      break;
    case 0x80000007: r.edx &= kPvE7Edx; break;
    case 0x80000008: r.ebx &= kPvE8Ebx; break;
    case 0x80000021: r.eax &= kPvE21Eax; break;
    default: break;
  }
  return r;
}

bool is_forced_cpuid(const std::uint8_t (&b)[kForcedCpuidLength]) {
  return b[0] == 0x0F && b[1] == 0x0B && b[2] == 'x' && b[3] == 'e' && b[4] == 'n' && b[5] == 0x0F &&
         b[6] == 0xA2;
}

}  // namespace hv
