// probe: storage and checks for the PROBE macro of probe.h.
#include "probe.h"

#include "format.hpp"

std::uint64_t probe_rsp;
std::uint64_t probe_after[16];

namespace guest {

const char* probe_registers_intact() {
  static const char* const names[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  static char why[96];
  for (unsigned n = 0; n < 16; ++n) {
    if (n == 4 || probe_after[n] == probe_pattern(n)) continue;
    mx::format(why, sizeof why, "%s is %#lx, expected %#lx", names[n], probe_after[n],
               probe_pattern(n));
    return why;
  }
  return "";
}

}  // namespace guest
