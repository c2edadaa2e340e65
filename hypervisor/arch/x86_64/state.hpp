// state: the hypervisor's global mutable state, all of it declared here and defined in
// state.cpp (per-CPU state lives in CpuInfo, see percpu.hpp). Everything else receives what
// it needs as parameters.
#pragma once
#include "core/boot_info.hpp"
#include "core/domain_registry.hpp"
#include "core/hypercall.hpp"
#include "core/mm_ops.hpp"

namespace hv::x86 {

struct GlobalState {
  BootInfo boot;
  HypervisorInfo info;
  DomainRegistry domains;
  MmOps* mm = nullptr;  // set once the frame table exists (mm_init)
};

GlobalState& state();

}  // namespace hv::x86
