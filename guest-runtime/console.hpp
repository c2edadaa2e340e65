// console: text output of a guest-runtime kernel through the console_io hypercall (the
// hypervisor's console), and the test-guest result protocol: "RESULT: PASS" or
// "RESULT: FAIL <why>", then shutdown.
#pragma once
#include <cstddef>
#include <cstdint>

namespace guest {

void console_write(const char* text, std::size_t length);
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void shutdown(std::uint32_t reason);
[[noreturn]] void pass();
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace guest

// Fails the test with the condition and location when `cond` is false.
#define GUEST_CHECK(cond)                                                         \
  do {                                                                            \
    if (!(cond)) ::guest::fail("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
  } while (0)
