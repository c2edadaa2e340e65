// descriptors: Xen's rules for the segment descriptors a 64-bit PV guest may put in its GDT
// (and LDT) frames, and the per-vCPU GDT frame list. A checked descriptor can never give the
// guest ring 0 or 1, a TSS, LDT or interrupt/trap gate, or a call gate into hypervisor code.
#pragma once
#include <cstdint>

#include "domain.hpp"
#include "frame_table.hpp"
#include "result.hpp"

namespace hv {

// Xen's FIRST_RESERVED_GDT_PAGE / _ENTRY: the guest owns GDT pages 0-13, entries below 7168.
inline constexpr unsigned kGuestGdtFrames = 14;
inline constexpr unsigned kGuestGdtEntries = kGuestGdtFrames * 512;

// Xen's check_descriptor for a 64-bit PV domain. Accepts (true) and fixes up in place:
// non-present descriptors; code/data with DPL raised to 3; system type 0 (the upper half of a
// 16-byte gate); 64-bit call gates to a guest or FLAT_KERNEL_CS selector, stored with DPL 0
// and the guest DPL in the target selector's RPL (so using one traps for emulation).
// Everything else (TSS, LDT, interrupt/trap gates, reserved bits in a gate) is refused.
bool check_descriptor(std::uint64_t& desc);

// The PageTableValidator hook for frames becoming seg_desc: every one of the 512 descriptors
// must pass check_descriptor; as in Xen the fixed-up values are written back. -EINVAL else.
Status check_segdesc_page(std::uint64_t* descriptors);

// Drops the type and general references the vCPU's GDT frames hold and forgets them (set_gdt
// replacing a GDT, domain teardown).
void destroy_gdt(PvCpuState& pv, FrameTable& frames);

// Xen's pv_set_gdt (set_gdt, VCPUOP_initialise): `entries` (at most kGuestGdtEntries, checked
// by the caller) in the frames `list`; each takes a seg_desc type reference (-EINVAL if one
// cannot: not the domain's, or not a valid descriptor page), and only when all did are the
// old frames dropped. The caller loads the CPU's copy if the vCPU is running.
long install_gdt(Vcpu& vcpu, FrameTable& frames, const std::uint64_t* list, unsigned entries);

// set_debugreg for register `reg` of `pv` (Xen's set_debugreg for a PV vCPU): DR0-3 must be
// guest addresses (-EPERM), DR6/DR7 get Xen's reserved-bit fixups, DR7's general-detect and
// I/O breakpoints are refused (-EPERM); another register is -ENODEV.
long set_debugreg(PvCpuState& pv, std::uint32_t reg, std::uint64_t value);

}  // namespace hv
