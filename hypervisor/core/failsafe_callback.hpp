// failsafe_callback: what happens when a vCPU's saved data segment selectors no longer load
// as it is switched back in (its GDT/LDT entry was changed meanwhile): the selectors are
// loaded as null and the guest kernel's failsafe callback gets Xen's 64-bit failsafe frame
// (xen/arch/x86/domain.c load_segments), so it can reload or zero them itself. A frame that
// cannot be written crashes the guest's domain; nothing reaches the hypervisor.
#pragma once
#include <cstdint>

#include "hypercall.hpp"

namespace hv {

struct DataSelectors {
  std::uint16_t ds = 0, es = 0, fs = 0, gs = 0;
};

// Builds the frame for the selectors that were to be loaded (`saved`) on the guest kernel
// stack and points ctx.regs at the failsafe callback; switches to guest kernel mode first
// if the vCPU was in user mode. Returns false (domain crashed) if the frame is unwritable.
// Frame, from the top of the 16-byte aligned stack down: SS, RSP, RFLAGS, CS | upcall mask
// << 32, RIP, GS, FS, ES, DS, R11, RCX (the callback's %rsp points at RCX).
bool deliver_failsafe_callback(HypercallContext& ctx, const DataSelectors& saved);

}  // namespace hv
