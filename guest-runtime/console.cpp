// console: console_io output, formatting through the shared freestanding formatter.
#include "console.hpp"

#include <cstdarg>
#include <pv/console_io.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>

#include "format.hpp"
#include "freestanding.hpp"
#include "hypercall.hpp"

namespace guest {

void console_write(const char* text, std::size_t length) {
  hypercall<pv::hypercall::console_io>(pv::CONSOLEIO_write, length,
                                       reinterpret_cast<std::uint64_t>(text));
}

namespace {
void vprint(const char* fmt, va_list args) {
  char line[512];
  int n = mx::format_v(line, sizeof line, fmt, args);
  std::size_t len = n < 0 ? 0 : static_cast<std::size_t>(n);
  console_write(line, len < sizeof line ? len : sizeof line - 1);
}
}  // namespace

void print(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vprint(fmt, args);
  va_end(args);
}

void shutdown(std::uint32_t reason) {
  pv::sched_shutdown arg{reason};
  for (;;) hypercall<pv::hypercall::sched_op>(pv::SCHEDOP_shutdown, reinterpret_cast<std::uint64_t>(&arg));
}

void pass() {
  print("RESULT: PASS\n");
  shutdown(pv::SHUTDOWN_poweroff);
}

void fail(const char* fmt, ...) {
  print("RESULT: FAIL ");
  va_list args;
  va_start(args, fmt);
  vprint(fmt, args);
  va_end(args);
  print("\n");
  shutdown(pv::SHUTDOWN_poweroff);
}

}  // namespace guest

void freestanding_fatal(const char* what) { guest::fail("C++ runtime: %s", what); }
