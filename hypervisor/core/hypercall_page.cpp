// hypercall_page: Xen's 64-bit PV stub encoding, byte for byte (Linux's stubs are called as
// functions, so each must preserve the registers `syscall` destroys).
#include "hypercall_page.hpp"

#include <pv/hypercall.hpp>

namespace hv {

void write_hypercall_page(std::uint8_t (&page)[4096]) {
  for (auto& b : page) b = 0xCC;  // int3: a jump into the middle of a stub traps
  for (unsigned i = 0; i < kHypercallStubs; ++i) {
    std::uint8_t* p = page + i * kHypercallStubSize;
    const bool iret = i == pv::hypercall::iret;
    unsigned n = 0;
    p[n++] = 0x51;                 // push %rcx
    p[n++] = 0x41; p[n++] = 0x53;  // push %r11
    if (iret) p[n++] = 0x50;       // push %rax: the iret frame's first word
    p[n++] = 0xB8;                 // mov $i, %eax
    p[n++] = static_cast<std::uint8_t>(i);
    p[n++] = static_cast<std::uint8_t>(i >> 8);
    p[n++] = 0;
    p[n++] = 0;
    p[n++] = 0x0F; p[n++] = 0x05;  // syscall
    if (iret) continue;            // iret does not return here
    p[n++] = 0x41; p[n++] = 0x5B;  // pop %r11
    p[n++] = 0x59;                 // pop %rcx
    p[n++] = 0xC3;                 // ret
  }
}

}  // namespace hv
