// nmi: virtual NMIs of PV vCPUs (Xen's nmi_pending / async_exception_mask). VCPUOP_send_nmi
// only marks an NMI pending; it is delivered on the way back into the guest, before any event
// upcall, to the callback in traps[2], and masks further NMIs until the guest's
// HYPERVISOR_iret. A guest can never get a second NMI bounce on top of an unfinished one.
#pragma once

#include "hypercall.hpp"

namespace hv {

// Xen's async exception bits (VCPU_TRAP_NMI; there is no virtual #MC here).
inline constexpr std::uint8_t kAsyncTrapNmi = 1u << 1;

// VCPUOP_send_nmi: marks the NMI pending (a second one before delivery is merged into it,
// as an edge would be) and makes a blocked target runnable (Xen's vcpu_kick).
void raise_nmi(Vcpu& target);

// Xen's process_nmi, on every return to the guest: a pending NMI, not masked, is taken out
// of pending; with a callback registered it is bounced there (no error code, events masked)
// and NMIs are masked, the old mask kept for the iret. Without a callback it is dropped.
// True when a frame was built.
bool deliver_pending_nmi(HypercallContext& ctx);

// Xen's async_exception_cleanup, from HYPERVISOR_iret: restores the mask the last NMI
// delivery saved, so a pending NMI goes out on this return.
void nmi_iret_cleanup(Vcpu& vcpu);

}  // namespace hv
