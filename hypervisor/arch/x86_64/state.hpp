// state: the hypervisor's global mutable state, all of it declared here and defined in
// state.cpp (per-CPU state lives in CpuInfo, see percpu.hpp). Everything else receives what
// it needs as parameters.
#pragma once
#include "core/boot_info.hpp"
#include "core/domain_registry.hpp"
#include "core/hypercall.hpp"

namespace hv::x86 {

struct GlobalState {
  BootInfo boot;
  HypervisorInfo info;
  DomainRegistry domains;
};

GlobalState& state();

}  // namespace hv::x86
