// xen_version (version.h + features.h, hypercall 17): XENVER_* sub-ops, their argument
// buffers and the XENFEAT_* bits of XENVER_get_features. Linux panics at boot if the
// feature bits it requires (mmu_pt_update_preserve_ad, gnttab_map_avail_bits) are missing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned XENVER_version = 0;             // arg NULL; returns major<<16 | minor
inline constexpr unsigned XENVER_extraversion = 1;        // xen_extraversion_t
inline constexpr unsigned XENVER_compile_info = 2;        // xen_compile_info
inline constexpr unsigned XENVER_capabilities = 3;        // xen_capabilities_info_t
inline constexpr unsigned XENVER_changeset = 4;           // xen_changeset_info_t
inline constexpr unsigned XENVER_platform_parameters = 5; // xen_platform_parameters
inline constexpr unsigned XENVER_get_features = 6;        // xen_feature_info
inline constexpr unsigned XENVER_pagesize = 7;            // arg NULL; returns 4096
inline constexpr unsigned XENVER_guest_handle = 8;        // xen_domain_handle_t
inline constexpr unsigned XENVER_commandline = 9;         // xen_commandline_t
inline constexpr unsigned XENVER_build_id = 10;           // xen_build_id
inline constexpr unsigned XENVER_extraversion2 = 11;      // xen_varbuf
inline constexpr unsigned XENVER_capabilities2 = 12;      // xen_varbuf
inline constexpr unsigned XENVER_changeset2 = 13;         // xen_varbuf
inline constexpr unsigned XENVER_commandline2 = 14;       // xen_varbuf

using xen_extraversion_t = char[16];
inline constexpr std::size_t XEN_EXTRAVERSION_LEN = sizeof(xen_extraversion_t);

struct xen_compile_info {
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
};
static_assert(sizeof(xen_compile_info) == 144);
static_assert(offsetof(xen_compile_info, compile_by) == 64);
static_assert(offsetof(xen_compile_info, compile_domain) == 80);
static_assert(offsetof(xen_compile_info, compile_date) == 112);

using xen_capabilities_info_t = char[1024]; // e.g. "xen-3.0-x86_64 "
inline constexpr std::size_t XEN_CAPABILITIES_INFO_LEN = sizeof(xen_capabilities_info_t);
using xen_changeset_info_t = char[64];
inline constexpr std::size_t XEN_CHANGESET_INFO_LEN = sizeof(xen_changeset_info_t);
using xen_commandline_t = char[1024];

struct xen_platform_parameters {
    xen_ulong_t virt_start; // HYPERVISOR_VIRT_START
};
static_assert(sizeof(xen_platform_parameters) == 8);

struct xen_feature_info {
    std::uint32_t submap_idx; // in: which 32-bit submap (only 0 exists)
    std::uint32_t submap;     // out: XENFEAT_* bits 32*idx .. 32*idx+31
};
static_assert(sizeof(xen_feature_info) == 8 && offsetof(xen_feature_info, submap) == 4);

// `len` (in: buffer size) is followed by the variable-length buffer itself.
struct xen_build_id {
    std::uint32_t len;
};
struct xen_varbuf {
    std::uint32_t len;
};
inline constexpr std::size_t xen_build_id_buf_offset = 4; // offsetof(xen_build_id, buf)
static_assert(sizeof(xen_build_id) == 4 && sizeof(xen_varbuf) == 4);

// XENVER_get_features bits (bit numbers within the feature bitmap).
inline constexpr unsigned XENFEAT_writable_page_tables = 0;
inline constexpr unsigned XENFEAT_writable_descriptor_tables = 1;
inline constexpr unsigned XENFEAT_auto_translated_physmap = 2; // never for our PV guests
inline constexpr unsigned XENFEAT_supervisor_mode_kernel = 3;
inline constexpr unsigned XENFEAT_pae_pgdir_above_4gb = 4;
inline constexpr unsigned XENFEAT_mmu_pt_update_preserve_ad = 5; // required by Linux
inline constexpr unsigned XENFEAT_highmem_assist = 6;
inline constexpr unsigned XENFEAT_gnttab_map_avail_bits = 7;     // required by Linux
inline constexpr unsigned XENFEAT_hvm_callback_vector = 8;
inline constexpr unsigned XENFEAT_hvm_safe_pvclock = 9;
inline constexpr unsigned XENFEAT_hvm_pirqs = 10;
inline constexpr unsigned XENFEAT_dom0 = 11;
// 12 was grant_map_identity: deprecated, no longer defined by Xen.
inline constexpr unsigned XENFEAT_memory_op_vnode_supported = 13;
inline constexpr unsigned XENFEAT_ARM_SMCCC_supported = 14;
inline constexpr unsigned XENFEAT_linux_rsdp_unrestricted = 15;
inline constexpr unsigned XENFEAT_not_direct_mapped = 16;
inline constexpr unsigned XENFEAT_direct_mapped = 17;
inline constexpr unsigned XENFEAT_runstate_phys_area = 18;
inline constexpr unsigned XENFEAT_vcpu_time_phys_area = 19;
inline constexpr unsigned XENFEAT_dm_msix_all_writes = 20;
inline constexpr unsigned XENFEAT_NR_SUBMAPS = 1;

}  // namespace pv
