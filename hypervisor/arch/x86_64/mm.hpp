// mm (arch): the frame table and PV memory-management operations of the running machine,
// wired to the hardware: the direct map, TLB flushes, the M2P and the hypervisor's L4 slots.
#pragma once
#include "core/domain.hpp"
#include "core/mm_ops.hpp"

namespace hv::x86 {

// After memory_init and m2p_init: covers every frame the allocator does.
void mm_init(const MemoryMap& map);
FrameTable& frame_table();
MmOps& mm_ops();

// Switches this CPU to the idle page tables (the hypervisor's own, no guest mappings).
void load_idle_root();

// Releases everything a shut-down domain's memory holds (roots, pins, table references,
// its frames), on the idle page tables; logs whether every frame came back.
void relinquish_domain(Domain& domain, std::uint64_t free_frames_before);

}  // namespace hv::x86
