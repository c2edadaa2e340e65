// msr: model-specific register numbers and access.
#pragma once
#include <cstdint>

namespace hv::x86 {

inline constexpr std::uint32_t MSR_EFER = 0xC0000080;
inline constexpr std::uint32_t MSR_STAR = 0xC0000081;
inline constexpr std::uint32_t MSR_LSTAR = 0xC0000082;
inline constexpr std::uint32_t MSR_CSTAR = 0xC0000083;
inline constexpr std::uint32_t MSR_SFMASK = 0xC0000084;
inline constexpr std::uint32_t MSR_FS_BASE = 0xC0000100;
inline constexpr std::uint32_t MSR_GS_BASE = 0xC0000101;
inline constexpr std::uint32_t MSR_KERNEL_GS_BASE = 0xC0000102;
inline constexpr std::uint32_t MSR_SYSENTER_CS = 0x174;
inline constexpr std::uint64_t EFER_SCE = 1u << 0;

inline std::uint64_t rdmsr(std::uint32_t msr) {
  std::uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (std::uint64_t{hi} << 32) | lo;
}

inline void wrmsr(std::uint32_t msr, std::uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<std::uint32_t>(value)),
               "d"(static_cast<std::uint32_t>(value >> 32)));
}

}  // namespace hv::x86
