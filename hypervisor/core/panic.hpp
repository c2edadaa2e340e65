// panic and assert: a broken hypervisor invariant stops the machine with file and line.
// Never used for guest errors (those get an errno or crash only the guest's domain).
#pragma once

namespace hv {

[[noreturn]] void panic_at(const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Where a panic ends: provided by the kernel (halt, or exit QEMU with a failure code) and by
// the hosted build (abort, so tests can use death tests).
[[noreturn]] void platform_stop_after_panic();

}  // namespace hv

#define HV_PANIC(...) ::hv::panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define HV_ASSERT(cond)                                             \
  do {                                                              \
    if (!(cond)) ::hv::panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond); \
  } while (0)
