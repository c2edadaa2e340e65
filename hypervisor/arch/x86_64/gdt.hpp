// gdt: each CPU's GDT and TSS in Xen's layout: pages 0-13 belong to the guest's set_gdt
// frames (empty until a guest loads one), page 14 holds the hypervisor's reserved entries.
// Ring-0 descriptors are DPL 0, so a guest can never load them.
#pragma once
#include <cstdint>

namespace hv::x86 {

// Copies `nr_frames` (<= 14) guest descriptor frames, already validated, into pages 0-13 of
// `cpu`'s GDT and clears the pages the previous copy used beyond them.
void gdt_load_guest(unsigned cpu, const std::uint64_t* const* frames, unsigned nr_frames);

// Copies a guest LDT of `ents` descriptors (pages[i]: its validated descriptor frames, or
// nullptr for a page that stays empty) into `cpu`'s LDT and loads it; ents 0 unloads it.
void gdt_load_ldt(unsigned cpu, const std::uint64_t* const* pages, unsigned ents);

// Builds and loads the GDT and TSS of `cpu`, reloads the segment registers with ours.
void gdt_init(unsigned cpu);

}  // namespace hv::x86
