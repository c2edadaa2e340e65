// cpu: reading this CPU's identity and features (CPUID) into the portable snapshot.
#pragma once
#include "core/cpu_features.hpp"

namespace hv::x86 {

CpuidSnapshot read_cpuid();

}  // namespace hv::x86
