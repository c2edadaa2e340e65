// fault_fixup: the exception table, pairs (faulting instruction, where to resume) for the
// few instructions allowed to fault in the hypervisor (guest memory accesses).
#pragma once
#include <cstdint>

namespace hv::x86 {

// The resume address for a fault at `rip`, or 0 when a fault there is a hypervisor bug.
std::uint64_t find_fixup(std::uint64_t rip);

}  // namespace hv::x86
