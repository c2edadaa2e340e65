// struct start_info (xen.h, x86-64): the page the domain builder fills for a PV guest and
// whose VA is in %rsi at entry. Every offset below is what Linux's xen_start_kernel reads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr std::size_t MAX_GUEST_CMDLINE = 1024;

// "xen-<version>-<platform>"; Linux ignores it, small PV kernels check the prefix.
inline constexpr char XEN_START_INFO_MAGIC_X86_64[] = "xen-3.0-x86_64";

// start_info.flags
inline constexpr std::uint32_t SIF_PRIVILEGED = 1u << 0;      // domain is privileged
inline constexpr std::uint32_t SIF_INITDOMAIN = 1u << 1;      // initial control domain (dom0)
inline constexpr std::uint32_t SIF_MULTIBOOT_MOD = 1u << 2;   // mod_start is a multiboot list
inline constexpr std::uint32_t SIF_MOD_START_PFN = 1u << 3;   // mod_start is a PFN, not a VA
inline constexpr std::uint32_t SIF_VIRT_P2M_4TOOLS = 1u << 4; // tools understand a linear p2m
inline constexpr std::uint32_t SIF_PM_MASK = 0xFFu << 8;      // dom0 power-management options

struct start_info {
    // Filled on initial boot and on resume.
    char magic[32];            // XEN_START_INFO_MAGIC_X86_64, NUL padded
    std::uint64_t nr_pages;    // total pages allocated to the domain
    std::uint64_t shared_info; // MACHINE address of the shared_info page (mapped by Linux)
    std::uint32_t flags;       // SIF_*
    std::uint32_t pad0;        // (implicit in Xen)
    xen_pfn_t store_mfn;       // MFN of the xenstore ring page
    evtchn_port_t store_evtchn; // unbound port, remote end = xenstored's domain
    std::uint32_t pad1;        // (implicit in Xen)
    union console_info {
        struct domu_console {
            xen_pfn_t mfn;        // MFN of the xencons_interface page
            evtchn_port_t evtchn; // unbound port; 0 means "no console" to hvc_xen
            std::uint32_t pad;    // (implicit in Xen)
        } domU;
        struct dom0_console {
            std::uint32_t info_off;  // offset of dom0_vga_console_info in this page
            std::uint32_t info_size; // its size
        } dom0;
    } console;
    // Filled on initial boot only.
    std::uint64_t pt_base;      // VA of the bootstrap L4
    std::uint64_t nr_pt_frames; // bootstrap page-table frames (not counting the p2m's)
    std::uint64_t mfn_list;     // VA of the p2m array (INIT_P2M for Linux)
    std::uint64_t mod_start;    // initrd: VA, or PFN if SIF_MOD_START_PFN
    std::uint64_t mod_len;      // initrd length in bytes
    std::int8_t cmd_line[MAX_GUEST_CMDLINE]; // NUL-terminated kernel command line
    // This pfn range covers both the p2m frames and their page tables.
    std::uint64_t first_p2m_pfn;
    std::uint64_t nr_p2m_frames;
};
static_assert(sizeof(start_info) == 1168 && alignof(start_info) == 8);
static_assert(offsetof(start_info, magic) == 0);
static_assert(offsetof(start_info, nr_pages) == 32);
static_assert(offsetof(start_info, shared_info) == 40);
static_assert(offsetof(start_info, flags) == 48);
static_assert(offsetof(start_info, store_mfn) == 56);
static_assert(offsetof(start_info, store_evtchn) == 64);
static_assert(offsetof(start_info, console) == 72 && sizeof(start_info::console_info) == 16);
static_assert(offsetof(start_info::console_info::domu_console, evtchn) == 8);
static_assert(offsetof(start_info::console_info::dom0_console, info_size) == 4);
static_assert(offsetof(start_info, pt_base) == 88);
static_assert(offsetof(start_info, nr_pt_frames) == 96);
static_assert(offsetof(start_info, mfn_list) == 104);
static_assert(offsetof(start_info, mod_start) == 112);
static_assert(offsetof(start_info, mod_len) == 120);
static_assert(offsetof(start_info, cmd_line) == 128);
static_assert(offsetof(start_info, first_p2m_pfn) == 1152);
static_assert(offsetof(start_info, nr_p2m_frames) == 1160);

// With SIF_MULTIBOOT_MOD, mod_start points at an array of these (dom0 only).
struct xen_multiboot_mod_list {
    std::uint32_t mod_start; // address of the module's first byte
    std::uint32_t mod_end;   // address of its last byte (inclusive)
    std::uint32_t cmdline;   // address of its NUL-terminated command line
    std::uint32_t pad;       // must be zero
};
static_assert(sizeof(xen_multiboot_mod_list) == 16);
static_assert(offsetof(xen_multiboot_mod_list, cmdline) == 8);

}  // namespace pv
