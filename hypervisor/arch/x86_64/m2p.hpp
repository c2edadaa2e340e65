// m2p: the machine-to-phys table. One 8-byte entry per machine frame (the guest pfn that
// frame backs, or ~0), written only by the hypervisor and mapped read-only, user-readable
// (PV guest kernels run in ring 3) at Xen's RO_MPT address, L4 slot 256, for every guest.
#pragma once
#include <cstdint>

#include "core/frame_allocator.hpp"

namespace hv::x86 {

inline constexpr std::uint64_t kInvalidM2P = ~std::uint64_t{0};

// Allocates and maps the table for every frame the allocator covers; installs slot 256 in
// the live (idle) L4, from where every guest L4 gets it.
void m2p_init(FrameAllocator& frames);

void m2p_set(Mfn mfn, std::uint64_t pfn);
std::uint64_t m2p_get(Mfn mfn);
// Frames covered, i.e. the highest machine frame number + 1 (XENMEM_maximum_ram_page).
std::uint64_t m2p_entries();
// The L4 entry for slot 256 (for mm's XenL4Slots).
std::uint64_t m2p_l4_entry();
// Machine frame numbers holding the table, in order (XENMEM_machphys_mfn_list).
Mfn m2p_first_mfn();
std::uint64_t m2p_frames();

}  // namespace hv::x86
