// cpu_features: decoding CPUID results into named features. The arch layer executes CPUID
// and fills a CpuidSnapshot; everything else (names, checks, printing) is portable.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hv {

struct CpuidSnapshot {
  char vendor[13] = {};
  char brand[49] = {};
  std::uint32_t max_basic = 0, max_extended = 0;
  std::uint32_t signature = 0;  // leaf 1 EAX
  std::uint32_t leaf1_ecx = 0, leaf1_edx = 0;
  std::uint32_t leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0;
  std::uint32_t ext1_ecx = 0, ext1_edx = 0;  // 0x80000001
  std::uint32_t ext7_edx = 0;                // 0x80000007 (invariant TSC)
  std::uint32_t ext8_eax = 0;                // 0x80000008 (address sizes)
};

// A feature is a (register, bit) in the snapshot.
enum class CpuidReg : std::uint8_t { l1_ecx, l1_edx, l7_ebx, l7_ecx, l7_edx, e1_ecx, e1_edx, e7_edx };

struct CpuFeature {
  CpuidReg reg;
  std::uint8_t bit;
  const char* name;  // Linux /proc/cpuinfo spelling
};

namespace cpu {
inline constexpr CpuFeature fpu{CpuidReg::l1_edx, 0, "fpu"};
inline constexpr CpuFeature pse{CpuidReg::l1_edx, 3, "pse"};
inline constexpr CpuFeature tsc{CpuidReg::l1_edx, 4, "tsc"};
inline constexpr CpuFeature msr{CpuidReg::l1_edx, 5, "msr"};
inline constexpr CpuFeature pae{CpuidReg::l1_edx, 6, "pae"};
inline constexpr CpuFeature apic{CpuidReg::l1_edx, 9, "apic"};
inline constexpr CpuFeature pge{CpuidReg::l1_edx, 13, "pge"};
inline constexpr CpuFeature fxsr{CpuidReg::l1_edx, 24, "fxsr"};
inline constexpr CpuFeature sse2{CpuidReg::l1_edx, 26, "sse2"};
inline constexpr CpuFeature x2apic{CpuidReg::l1_ecx, 21, "x2apic"};
inline constexpr CpuFeature tsc_deadline{CpuidReg::l1_ecx, 24, "tsc_deadline_timer"};
inline constexpr CpuFeature xsave{CpuidReg::l1_ecx, 26, "xsave"};
inline constexpr CpuFeature avx{CpuidReg::l1_ecx, 28, "avx"};
inline constexpr CpuFeature hypervisor{CpuidReg::l1_ecx, 31, "hypervisor"};
inline constexpr CpuFeature vmx{CpuidReg::l1_ecx, 5, "vmx"};
inline constexpr CpuFeature fsgsbase{CpuidReg::l7_ebx, 0, "fsgsbase"};
inline constexpr CpuFeature smep{CpuidReg::l7_ebx, 7, "smep"};
inline constexpr CpuFeature smap{CpuidReg::l7_ebx, 20, "smap"};
inline constexpr CpuFeature invpcid{CpuidReg::l7_ebx, 10, "invpcid"};
inline constexpr CpuFeature umip{CpuidReg::l7_ecx, 2, "umip"};
inline constexpr CpuFeature svm{CpuidReg::e1_ecx, 2, "svm"};
inline constexpr CpuFeature nx{CpuidReg::e1_edx, 20, "nx"};
inline constexpr CpuFeature page1gb{CpuidReg::e1_edx, 26, "pdpe1gb"};
inline constexpr CpuFeature rdtscp{CpuidReg::e1_edx, 27, "rdtscp"};
inline constexpr CpuFeature long_mode{CpuidReg::e1_edx, 29, "lm"};
inline constexpr CpuFeature syscall{CpuidReg::e1_edx, 11, "syscall"};
inline constexpr CpuFeature invariant_tsc{CpuidReg::e7_edx, 8, "constant_tsc"};
}  // namespace cpu

bool has_feature(const CpuidSnapshot& s, const CpuFeature& f);

// Writes the names of the features the hypervisor cares about that this CPU has,
// space-separated; returns the length formatted (truncated at size-1).
std::size_t format_features(const CpuidSnapshot& s, char* buf, std::size_t size);

// family/model/stepping from the leaf-1 signature, with the extended fields applied.
struct CpuSignature { std::uint32_t family, model, stepping; };
CpuSignature decode_signature(std::uint32_t eax);

// Physical/virtual address widths from 0x80000008 (36/48 when the leaf is absent).
std::uint32_t physical_address_bits(const CpuidSnapshot& s);

}  // namespace hv
