// memory_op (memory.h, hypercall 12): the XENMEM_* sub-ops Linux issues and their structs,
// plus the E820 entry layout XENMEM_memory_map returns. Extent arrays are guest memory:
// bound every index by nr_extents and copy each element in and out exactly once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned XENMEM_increase_reservation = 0; // xen_memory_reservation
inline constexpr unsigned XENMEM_decrease_reservation = 1; // xen_memory_reservation (GMFNs in)
inline constexpr unsigned XENMEM_maximum_ram_page = 2;     // arg NULL; returns max MFN
inline constexpr unsigned XENMEM_current_reservation = 3;  // arg domid_t*; returns pages
inline constexpr unsigned XENMEM_maximum_reservation = 4;  // arg domid_t*; returns max pages
inline constexpr unsigned XENMEM_machphys_mfn_list = 5;    // xen_machphys_mfn_list
inline constexpr unsigned XENMEM_populate_physmap = 6;     // xen_memory_reservation (GPFNs in)
inline constexpr unsigned XENMEM_add_to_physmap = 7;       // xen_add_to_physmap (translated)
// 8 (translate_gpfn_list) was removed.
inline constexpr unsigned XENMEM_memory_map = 9;           // xen_memory_map: pseudo-phys E820
inline constexpr unsigned XENMEM_machine_memory_map = 10;  // xen_memory_map: host E820 (dom0)
inline constexpr unsigned XENMEM_exchange = 11;            // xen_memory_exchange
inline constexpr unsigned XENMEM_machphys_mapping = 12;    // xen_machphys_mapping
inline constexpr unsigned XENMEM_set_memory_map = 13;      // xen_foreign_memory_map (tools)
inline constexpr unsigned XENMEM_maximum_gpfn = 14;        // arg domid_t*; returns max GPFN
inline constexpr unsigned XENMEM_remove_from_physmap = 15;
inline constexpr unsigned XENMEM_add_to_physmap_batch = 23;
inline constexpr unsigned XENMEM_machphys_compat_mfn_list = 25;

// xen_memory_reservation.mem_flags
constexpr std::uint32_t XENMEMF_address_bits(std::uint32_t bits) { return bits; } // 0: any
constexpr std::uint32_t XENMEMF_get_address_bits(std::uint32_t f) { return f & 0xffu; }
constexpr std::uint32_t XENMEMF_node(std::uint32_t node) { return (node + 1) << 8; }
constexpr std::uint32_t XENMEMF_get_node(std::uint32_t f) { return ((f >> 8) - 1) & 0xffu; }
inline constexpr std::uint32_t XENMEMF_populate_on_demand = 1u << 16;
inline constexpr std::uint32_t XENMEMF_exact_node_request = 1u << 17;
inline constexpr std::uint32_t XENMEMF_vnode = 1u << 18;

struct xen_memory_reservation {
    guest_handle<xen_pfn_t> extent_start; // in/out array of nr_extents frame numbers
    xen_ulong_t nr_extents;
    std::uint32_t extent_order; // each extent is 2^order pages
    std::uint32_t mem_flags;    // XENMEMF_*
    domid_t domid;              // unprivileged callers: DOMID_SELF only
};
static_assert(sizeof(xen_memory_reservation) == 32);
static_assert(offsetof(xen_memory_reservation, nr_extents) == 8);
static_assert(offsetof(xen_memory_reservation, extent_order) == 16);
static_assert(offsetof(xen_memory_reservation, mem_flags) == 20);
static_assert(offsetof(xen_memory_reservation, domid) == 24);

struct xen_memory_exchange {
    xen_memory_reservation in;  // extents to give up (GMFNs)
    xen_memory_reservation out; // GPFNs in, new GMFNs out
    xen_ulong_t nr_exchanged;   // out; caller must zero it
};
static_assert(sizeof(xen_memory_exchange) == 72);
static_assert(offsetof(xen_memory_exchange, out) == 32);
static_assert(offsetof(xen_memory_exchange, nr_exchanged) == 64);

struct xen_machphys_mfn_list {
    std::uint32_t max_extents;
    std::uint32_t pad; // (implicit in Xen)
    guest_handle<xen_pfn_t> extent_start;
    std::uint32_t nr_extents; // out
};
static_assert(sizeof(xen_machphys_mfn_list) == 24);
static_assert(offsetof(xen_machphys_mfn_list, extent_start) == 8);
static_assert(offsetof(xen_machphys_mfn_list, nr_extents) == 16);

// Where the read-only M2P table is mapped in the guest; Linux uses max_mfn + 1 entries.
struct xen_machphys_mapping {
    xen_ulong_t v_start, v_end;
    xen_ulong_t max_mfn;
};
static_assert(sizeof(xen_machphys_mapping) == 24);
static_assert(offsetof(xen_machphys_mapping, v_end) == 8);
static_assert(offsetof(xen_machphys_mapping, max_mfn) == 16);

// xen_add_to_physmap.space
inline constexpr std::uint32_t XENMAPSPACE_shared_info = 0;
inline constexpr std::uint32_t XENMAPSPACE_grant_table = 1;
inline constexpr std::uint32_t XENMAPSPACE_gmfn = 2;
inline constexpr std::uint32_t XENMAPSPACE_gmfn_range = 3;
inline constexpr std::uint32_t XENMAPSPACE_gmfn_foreign = 4;
inline constexpr std::uint32_t XENMAPSPACE_dev_mmio = 5;
inline constexpr xen_ulong_t XENMAPIDX_grant_table_status = 0x80000000u;

struct xen_add_to_physmap {
    domid_t domid;
    std::uint16_t size;  // pages, for XENMAPSPACE_gmfn_range
    std::uint32_t space; // XENMAPSPACE_*
    xen_ulong_t idx;     // index into the space
    xen_pfn_t gpfn;      // where it should appear
};
static_assert(sizeof(xen_add_to_physmap) == 24);
static_assert(offsetof(xen_add_to_physmap, size) == 2 && offsetof(xen_add_to_physmap, space) == 4);
static_assert(offsetof(xen_add_to_physmap, idx) == 8 && offsetof(xen_add_to_physmap, gpfn) == 16);

struct xen_memory_map {
    std::uint32_t nr_entries;  // in: buffer capacity; out: entries written
    std::uint32_t pad;         // (implicit in Xen)
    guest_handle<void> buffer; // array of e820entry
};
static_assert(sizeof(xen_memory_map) == 16 && offsetof(xen_memory_map, buffer) == 8);

struct xen_foreign_memory_map {
    domid_t domid;
    std::uint16_t pad[3]; // (implicit in Xen)
    xen_memory_map map;
};
static_assert(sizeof(xen_foreign_memory_map) == 24 && offsetof(xen_foreign_memory_map, map) == 8);

// BIOS INT 15h/E820 entry as XENMEM_memory_map writes it: packed, 20 bytes.
inline constexpr std::uint32_t E820_RAM = 1;
inline constexpr std::uint32_t E820_RESERVED = 2;
inline constexpr std::uint32_t E820_ACPI = 3;
inline constexpr std::uint32_t E820_NVS = 4;
inline constexpr std::uint32_t E820_UNUSABLE = 5;

#pragma pack(push, 1)
struct e820entry {
    std::uint64_t addr;
    std::uint64_t size;
    std::uint32_t type; // E820_*
};
#pragma pack(pop)
static_assert(sizeof(e820entry) == 20 && alignof(e820entry) == 1);
static_assert(offsetof(e820entry, size) == 8 && offsetof(e820entry, type) == 16);

}  // namespace pv
