// hypercall: the table from Xen hypercall numbers to their handlers. Each handler gets the
// calling vCPU, a guest-memory accessor and the raw argument registers, and returns the
// value for the guest's %rax (>= 0, or a negative Xen errno). Unknown numbers: -ENOSYS.
#pragma once
#include <cstdint>

#include "domain.hpp"
#include "guest_memory.hpp"

namespace hv {

// Facts about the running hypervisor that hypercalls report (xen_version and friends).
struct HypervisorInfo {
  const char* cmdline = "";
};

struct HypercallContext {
  Vcpu& vcpu;
  GuestMemory& memory;
  const HypervisorInfo& info;
};

struct HypercallArgs {
  std::uint64_t a1, a2, a3, a4, a5;
};

using HypercallHandler = long (*)(HypercallContext&, const HypercallArgs&);

long dispatch_hypercall(HypercallContext& ctx, std::uint64_t number, const HypercallArgs& args);

// Handlers, one file per ABI area (hc_<area>.cpp).
long do_console_io(HypercallContext& ctx, const HypercallArgs& args);
long do_xen_version(HypercallContext& ctx, const HypercallArgs& args);
long do_sched_op(HypercallContext& ctx, const HypercallArgs& args);

}  // namespace hv
