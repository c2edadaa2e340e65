// hypercall: calling the hypervisor from a guest-runtime kernel, through the hypercall page
// the builder filled (entry N at hypercall_page + 32*N), with the 64-bit PV convention:
// arguments in rdi, rsi, rdx, r10, r8; result in rax; rcx and r11 clobbered.
#pragma once
#include <cstdint>

extern "C" char hypercall_page[4096];

namespace guest {

template <unsigned Number>
inline long hypercall(std::uint64_t a1 = 0, std::uint64_t a2 = 0, std::uint64_t a3 = 0,
                      std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
  static_assert(Number < 128, "the hypercall page has 128 entries");
  register std::uint64_t r10 asm("r10") = a4;
  register std::uint64_t r8 asm("r8") = a5;
  long result;
  asm volatile("call hypercall_page + %c[offset]"
               : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
               : [offset] "i"(Number * 32)
               : "rcx", "r11", "memory");
  return result;
}

}  // namespace guest
