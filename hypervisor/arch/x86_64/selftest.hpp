// selftest: boot-time self-tests of the hypervisor's own machinery (selftest=NAME).
#pragma once
#include <string_view>

namespace hv::x86 {

// Runs the named self-test; some never return (they end the machine).
void run_selftest(std::string_view name);

// The multi-CPU ones (selftest_smp.cpp: ipi, flush); false if `name` is none of them.
bool run_smp_selftest(std::string_view name);

}  // namespace hv::x86
