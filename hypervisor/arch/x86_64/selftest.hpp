// selftest: boot-time self-tests of the hypervisor's own machinery (selftest=NAME).
#pragma once
#include <string_view>

namespace hv::x86 {

// Runs the named self-test; some never return (they end the machine).
void run_selftest(std::string_view name);

// The multi-CPU ones (selftest_smp.cpp: ipi, flush); false if `name` is none of them.
bool run_smp_selftest(std::string_view name);

// Measures and logs the bare IPI round trip between CPUs 0 and 1 ("ipi: round trip median
// ..."), the floor benchmarks compare with (selftest=ipi, or bench_ipi before the domains
// start). False, after an error line, with fewer than 2 CPUs or if CPU 1 stops answering.
bool report_ipi_round_trip();

}  // namespace hv::x86
