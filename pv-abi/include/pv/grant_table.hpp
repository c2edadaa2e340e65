// Grant tables, version 1 (grant_table.h): the shared entry array, GNTTABOP_* sub-ops of
// hypercall 20 and their structs. Entries live in memory the granter writes concurrently:
// read each one once, and change GTF_reading/GTF_writing only with a compare-exchange.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

struct grant_entry_v1 {
    std::uint16_t flags; // GTF_*; written last by the granter (publishes the entry)
    domid_t domid;       // the domain allowed to use the grant
    std::uint32_t frame; // granted frame (MFN for a PV granter)
};
static_assert(sizeof(grant_entry_v1) == 8);
static_assert(offsetof(grant_entry_v1, domid) == 2 && offsetof(grant_entry_v1, frame) == 4);

inline constexpr std::size_t GNTTAB_V1_ENTRIES_PER_FRAME = 4096 / sizeof(grant_entry_v1);

// Refs 0-7 are never handed out by guests; the toolstack seeds 0 and 1.
inline constexpr grant_ref_t GNTTAB_NR_RESERVED_ENTRIES = 8;
inline constexpr grant_ref_t GNTTAB_RESERVED_CONSOLE = 0;
inline constexpr grant_ref_t GNTTAB_RESERVED_XENSTORE = 1;

// grant_entry_v1.flags: type in bits 0-1, then modifiers.
inline constexpr std::uint16_t GTF_invalid = 0;
inline constexpr std::uint16_t GTF_permit_access = 1;
inline constexpr std::uint16_t GTF_accept_transfer = 2;
inline constexpr std::uint16_t GTF_transitive = 3; // v2 only
inline constexpr std::uint16_t GTF_type_mask = 3;
inline constexpr std::uint16_t GTF_readonly = 1u << 2; // grantee may only read
inline constexpr std::uint16_t GTF_reading = 1u << 3;  // set by the hypervisor while in use
inline constexpr std::uint16_t GTF_writing = 1u << 4;  // set while mapped/used writable
inline constexpr std::uint16_t GTF_PWT = 1u << 5;
inline constexpr std::uint16_t GTF_PCD = 1u << 6;
inline constexpr std::uint16_t GTF_PAT = 1u << 7;
inline constexpr std::uint16_t GTF_sub_page = 1u << 8; // v2 only
inline constexpr std::uint16_t GTF_transfer_committed = 1u << 2;
inline constexpr std::uint16_t GTF_transfer_completed = 1u << 3;

inline constexpr unsigned GNTTABOP_map_grant_ref = 0;
inline constexpr unsigned GNTTABOP_unmap_grant_ref = 1;
inline constexpr unsigned GNTTABOP_setup_table = 2;
inline constexpr unsigned GNTTABOP_dump_table = 3;
inline constexpr unsigned GNTTABOP_transfer = 4;
inline constexpr unsigned GNTTABOP_copy = 5;
inline constexpr unsigned GNTTABOP_query_size = 6;
inline constexpr unsigned GNTTABOP_unmap_and_replace = 7;
inline constexpr unsigned GNTTABOP_set_version = 8;
inline constexpr unsigned GNTTABOP_get_status_frames = 9; // v2
inline constexpr unsigned GNTTABOP_get_version = 10;
inline constexpr unsigned GNTTABOP_swap_grant_ref = 11;   // v2
inline constexpr unsigned GNTTABOP_cache_flush = 12;

// Per-element status codes (enum grant_status).
inline constexpr std::int16_t GNTST_okay = 0;
inline constexpr std::int16_t GNTST_general_error = -1;
inline constexpr std::int16_t GNTST_bad_domain = -2;
inline constexpr std::int16_t GNTST_bad_gntref = -3;
inline constexpr std::int16_t GNTST_bad_handle = -4;
inline constexpr std::int16_t GNTST_bad_virt_addr = -5;
inline constexpr std::int16_t GNTST_bad_dev_addr = -6;
inline constexpr std::int16_t GNTST_no_device_space = -7;
inline constexpr std::int16_t GNTST_permission_denied = -8;
inline constexpr std::int16_t GNTST_bad_page = -9;
inline constexpr std::int16_t GNTST_bad_copy_arg = -10; // copy crosses a page boundary
inline constexpr std::int16_t GNTST_address_too_big = -11;
inline constexpr std::int16_t GNTST_eagain = -12;       // Linux retries with back-off
inline constexpr std::int16_t GNTST_no_space = -13;

// gnttab_map_grant_ref.flags
inline constexpr std::uint32_t GNTMAP_device_map = 1u << 0;      // return dev_bus_addr
inline constexpr std::uint32_t GNTMAP_host_map = 1u << 1;        // map at host_addr
inline constexpr std::uint32_t GNTMAP_readonly = 1u << 2;
inline constexpr std::uint32_t GNTMAP_application_map = 1u << 3; // user-accessible mapping
inline constexpr std::uint32_t GNTMAP_contains_pte = 1u << 4;    // host_addr = MA of a PTE
inline constexpr unsigned GNTMAP_guest_avail0_shift = 16;        // Xen: _GNTMAP_guest_avail0
inline constexpr std::uint32_t GNTMAP_guest_avail_mask = ~std::uint32_t{0} << 16;

struct gnttab_map_grant_ref {
    std::uint64_t host_addr;     // in: VA, or PTE machine address with contains_pte
    std::uint32_t flags;         // in: GNTMAP_*
    grant_ref_t ref;             // in
    domid_t dom;                 // in: granting domain
    std::int16_t status;         // out: GNTST_*
    grant_handle_t handle;       // out
    std::uint64_t dev_bus_addr;  // out
};
static_assert(sizeof(gnttab_map_grant_ref) == 32);
static_assert(offsetof(gnttab_map_grant_ref, flags) == 8 && offsetof(gnttab_map_grant_ref, ref) == 12);
static_assert(offsetof(gnttab_map_grant_ref, dom) == 16 && offsetof(gnttab_map_grant_ref, status) == 18);
static_assert(offsetof(gnttab_map_grant_ref, handle) == 20);
static_assert(offsetof(gnttab_map_grant_ref, dev_bus_addr) == 24);

struct gnttab_unmap_grant_ref {
    std::uint64_t host_addr;
    std::uint64_t dev_bus_addr;
    grant_handle_t handle;
    std::int16_t status; // out
};
static_assert(sizeof(gnttab_unmap_grant_ref) == 24);
static_assert(offsetof(gnttab_unmap_grant_ref, handle) == 16);
static_assert(offsetof(gnttab_unmap_grant_ref, status) == 20);

struct gnttab_setup_table {
    domid_t dom;                        // in
    std::uint32_t nr_frames;            // in: wanted table size
    std::int16_t status;                // out
    guest_handle<xen_pfn_t> frame_list; // out: MFNs of the table frames
};
static_assert(sizeof(gnttab_setup_table) == 24);
static_assert(offsetof(gnttab_setup_table, nr_frames) == 4);
static_assert(offsetof(gnttab_setup_table, status) == 8);
static_assert(offsetof(gnttab_setup_table, frame_list) == 16);

struct gnttab_dump_table {
    domid_t dom;
    std::int16_t status;
};
static_assert(sizeof(gnttab_dump_table) == 4 && offsetof(gnttab_dump_table, status) == 2);

struct gnttab_transfer {
    xen_pfn_t mfn;
    domid_t domid;
    grant_ref_t ref;
    std::int16_t status;
};
static_assert(sizeof(gnttab_transfer) == 24 && offsetof(gnttab_transfer, ref) == 12);
static_assert(offsetof(gnttab_transfer, status) == 16);

// gnttab_copy.flags
inline constexpr std::uint16_t GNTCOPY_source_gref = 1u << 0; // source.u.ref is a grant ref
inline constexpr std::uint16_t GNTCOPY_dest_gref = 1u << 1;   // dest.u.ref is a grant ref

struct gnttab_copy_ptr {
    union {
        grant_ref_t ref;
        xen_pfn_t gmfn;
    } u;
    domid_t domid;
    std::uint16_t offset; // offset + len must stay within the page
};
static_assert(sizeof(gnttab_copy_ptr) == 16 && offsetof(gnttab_copy_ptr, domid) == 8);
static_assert(offsetof(gnttab_copy_ptr, offset) == 10);

struct gnttab_copy {
    gnttab_copy_ptr source, dest;
    std::uint16_t len;
    std::uint16_t flags; // GNTCOPY_*
    std::int16_t status; // out
};
static_assert(sizeof(gnttab_copy) == 40 && offsetof(gnttab_copy, dest) == 16);
static_assert(offsetof(gnttab_copy, len) == 32 && offsetof(gnttab_copy, flags) == 34);
static_assert(offsetof(gnttab_copy, status) == 36);

struct gnttab_query_size {
    domid_t dom;                 // in
    std::uint32_t nr_frames;     // out
    std::uint32_t max_nr_frames; // out
    std::int16_t status;         // out
};
static_assert(sizeof(gnttab_query_size) == 16);
static_assert(offsetof(gnttab_query_size, nr_frames) == 4);
static_assert(offsetof(gnttab_query_size, max_nr_frames) == 8);
static_assert(offsetof(gnttab_query_size, status) == 12);

struct gnttab_unmap_and_replace {
    std::uint64_t host_addr;
    std::uint64_t new_addr;
    grant_handle_t handle;
    std::int16_t status;
};
static_assert(sizeof(gnttab_unmap_and_replace) == 24);
static_assert(offsetof(gnttab_unmap_and_replace, status) == 20);

struct gnttab_set_version {
    std::uint32_t version; // in/out
};
static_assert(sizeof(gnttab_set_version) == 4);

struct gnttab_get_status_frames {
    std::uint32_t nr_frames;
    domid_t dom;
    std::int16_t status;
    guest_handle<std::uint64_t> frame_list;
};
static_assert(sizeof(gnttab_get_status_frames) == 16);
static_assert(offsetof(gnttab_get_status_frames, dom) == 4);
static_assert(offsetof(gnttab_get_status_frames, status) == 6);
static_assert(offsetof(gnttab_get_status_frames, frame_list) == 8);

struct gnttab_get_version {
    domid_t dom;
    std::uint16_t pad;
    std::uint32_t version; // out
};
static_assert(sizeof(gnttab_get_version) == 8 && offsetof(gnttab_get_version, version) == 4);

}  // namespace pv
