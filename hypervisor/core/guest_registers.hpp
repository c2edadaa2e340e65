// GuestRegisters: a vCPU's user-visible register state as the entry code saves it (the
// layout is the arch's TrapFrame: general registers, then vector and error code, then the
// hardware interrupt frame). Portable code (hypercalls, bounce frames) edits it; the arch
// resumes the guest from it.
#pragma once
#include <cstdint>

namespace hv {

struct GuestRegisters {
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  std::uint64_t vector, error_code;
  std::uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(GuestRegisters) == 22 * 8);

// RFLAGS bits the hypervisor controls while a guest runs.
inline constexpr std::uint64_t RFLAGS_IF = 1u << 9;
inline constexpr std::uint64_t RFLAGS_IOPL = 3u << 12;
inline constexpr std::uint64_t RFLAGS_NT = 1u << 14;
inline constexpr std::uint64_t RFLAGS_RF = 1u << 16;
inline constexpr std::uint64_t RFLAGS_VM = 1u << 17;
inline constexpr std::uint64_t RFLAGS_AC = 1u << 18;
inline constexpr std::uint64_t RFLAGS_FIXED = 1u << 1;

// What a guest may have in RFLAGS: real IF always on, real IOPL 0, no NT/VM (Xen's rule).
inline constexpr std::uint64_t sanitize_guest_rflags(std::uint64_t rflags) {
  return (rflags & ~(RFLAGS_IOPL | RFLAGS_NT | RFLAGS_VM | RFLAGS_RF) & 0x3F7FFFull) | RFLAGS_IF |
         RFLAGS_FIXED;
}

}  // namespace hv
