// hypercall_page: the contents of a 64-bit PV guest's hypercall page, as Xen writes it:
// 128 stubs of 32 bytes, stub N making hypercall N with `syscall` (saving %rcx/%r11 on the
// guest stack); the iret stub also pushes %rax and never returns. Unused bytes are int3.
#pragma once
#include <cstdint>

namespace hv {

inline constexpr unsigned kHypercallStubSize = 32;
inline constexpr unsigned kHypercallStubs = 4096 / kHypercallStubSize;

void write_hypercall_page(std::uint8_t (&page)[4096]);

}  // namespace hv
