// vcpu_context: VCPUOP_initialise for a 64-bit PV vCPU (Xen 4.17 arch_set_info_guest, for a
// vCPU that has never been initialised). Every field of the guest's vcpu_guest_context is
// checked before anything changes, and the references the new context holds (GDT frames,
// kernel and user L4 roots, LDT pages) are taken all or none: a refused context leaves the
// vCPU and every frame exactly as they were.
#pragma once
#include <pv/vcpu_context.hpp>

#include "hypercall.hpp"

namespace hv {

// Gives the uninitialised vCPU `v` of the caller's domain the context `c` (already copied in)
// and marks it initialised; with VGCF_online it also comes up. Returns 0 or Xen's errno:
// -EINVAL for a non-canonical address, a bad LDT or GDT, kernel mode off without a user root,
// or a GDT frame / root that is not a valid descriptor page / L4 of the domain.
long initialise_vcpu(HypercallContext& ctx, Vcpu& v, const pv::vcpu_guest_context& c);

}  // namespace hv
