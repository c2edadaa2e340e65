// Xen ELF note types (elfnote.h): notes named "Xen" in a PV kernel image tell the domain
// builder where to enter and how to lay out the guest. Note contents are untrusted image
// data: bound every read by descsz.
#pragma once

#include <cstdint>

namespace pv {

inline constexpr char XEN_ELFNOTE_NAME[] = "Xen"; // namesz 4 including the NUL

inline constexpr std::uint32_t XEN_ELFNOTE_INFO = 0;           // ignored
inline constexpr std::uint32_t XEN_ELFNOTE_ENTRY = 1;          // entry VA (numeric)
inline constexpr std::uint32_t XEN_ELFNOTE_HYPERCALL_PAGE = 2; // VA of the page to fill
inline constexpr std::uint32_t XEN_ELFNOTE_VIRT_BASE = 3;      // VA of pfn 0 of the mapping
inline constexpr std::uint32_t XEN_ELFNOTE_PADDR_OFFSET = 4;   // subtracted from VIRT_BASE
inline constexpr std::uint32_t XEN_ELFNOTE_XEN_VERSION = 5;    // string, "xen-3.0"
inline constexpr std::uint32_t XEN_ELFNOTE_GUEST_OS = 6;       // string, e.g. "linux"
inline constexpr std::uint32_t XEN_ELFNOTE_GUEST_VERSION = 7;  // string
inline constexpr std::uint32_t XEN_ELFNOTE_LOADER = 8;         // string, "generic"
inline constexpr std::uint32_t XEN_ELFNOTE_PAE_MODE = 9;       // string
inline constexpr std::uint32_t XEN_ELFNOTE_FEATURES = 10;      // string, '|'-separated, '!' = required
inline constexpr std::uint32_t XEN_ELFNOTE_BSD_SYMTAB = 11;    // string
inline constexpr std::uint32_t XEN_ELFNOTE_HV_START_LOW = 12;  // numeric
inline constexpr std::uint32_t XEN_ELFNOTE_L1_MFN_VALID = 13;  // mask, value pairs
inline constexpr std::uint32_t XEN_ELFNOTE_SUSPEND_CANCEL = 14; // numeric
inline constexpr std::uint32_t XEN_ELFNOTE_INIT_P2M = 15;      // VA where the p2m list goes
inline constexpr std::uint32_t XEN_ELFNOTE_MOD_START_PFN = 16; // initrd may be passed as a PFN
inline constexpr std::uint32_t XEN_ELFNOTE_SUPPORTED_FEATURES = 17; // XENFEAT_* bitmap
inline constexpr std::uint32_t XEN_ELFNOTE_PHYS32_ENTRY = 18;  // PVH 32-bit entry (not for PV)
inline constexpr std::uint32_t XEN_ELFNOTE_PHYS32_RELOC = 19;  // PVH relocation parameters
inline constexpr std::uint32_t XEN_ELFNOTE_MAX = XEN_ELFNOTE_PHYS32_RELOC;

// Only in crash dumps and core files, never in kernel images.
inline constexpr std::uint32_t XEN_ELFNOTE_CRASH_INFO = 0x1000001;
inline constexpr std::uint32_t XEN_ELFNOTE_CRASH_REGS = 0x1000002;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003;

}  // namespace pv
