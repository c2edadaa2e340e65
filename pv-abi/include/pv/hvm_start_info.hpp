// PVH boot ABI (arch-x86/hvm/start_info.h): the structure whose physical address is in %ebx
// at a PVH entry point, its module list and memory map. Address 0 in any field means "not
// present"; Xen keeps all of it below 4 GiB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pv {

inline constexpr std::uint32_t XEN_HVM_START_MAGIC_VALUE = 0x336ec578; // "xEn3", E|0x80

struct hvm_start_info {
    std::uint32_t magic;         // XEN_HVM_START_MAGIC_VALUE
    std::uint32_t version;       // 0 or 1; newer versions only append fields
    std::uint32_t flags;         // SIF_* (start_info.hpp)
    std::uint32_t nr_modules;
    std::uint64_t modlist_paddr; // array of hvm_modlist_entry
    std::uint64_t cmdline_paddr; // NUL-terminated ASCII
    std::uint64_t rsdp_paddr;    // ACPI RSDP
    // Version 1 and newer only:
    std::uint64_t memmap_paddr;    // array of hvm_memmap_table_entry
    std::uint32_t memmap_entries;  // 0: no memory map provided
    std::uint32_t reserved;        // must be zero
};
inline constexpr std::size_t hvm_start_info_v0_size = 40; // fields before memmap_paddr
static_assert(sizeof(hvm_start_info) == 56);
static_assert(offsetof(hvm_start_info, version) == 4 && offsetof(hvm_start_info, flags) == 8);
static_assert(offsetof(hvm_start_info, nr_modules) == 12);
static_assert(offsetof(hvm_start_info, modlist_paddr) == 16);
static_assert(offsetof(hvm_start_info, cmdline_paddr) == 24);
static_assert(offsetof(hvm_start_info, rsdp_paddr) == 32);
static_assert(offsetof(hvm_start_info, memmap_paddr) == hvm_start_info_v0_size);
static_assert(offsetof(hvm_start_info, memmap_entries) == 48);
static_assert(offsetof(hvm_start_info, reserved) == 52);

struct hvm_modlist_entry {
    std::uint64_t paddr;         // module start
    std::uint64_t size;          // bytes
    std::uint64_t cmdline_paddr; // NUL-terminated ASCII, 0 = none
    std::uint64_t reserved;
};
static_assert(sizeof(hvm_modlist_entry) == 32);
static_assert(offsetof(hvm_modlist_entry, size) == 8);
static_assert(offsetof(hvm_modlist_entry, cmdline_paddr) == 16);
static_assert(offsetof(hvm_modlist_entry, reserved) == 24);

inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_RAM = 1;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_RESERVED = 2;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_ACPI = 3;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_NVS = 4;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_UNUSABLE = 5;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_DISABLED = 6;
inline constexpr std::uint32_t XEN_HVM_MEMMAP_TYPE_PMEM = 7;

struct hvm_memmap_table_entry {
    std::uint64_t addr;     // region base
    std::uint64_t size;     // bytes
    std::uint32_t type;     // XEN_HVM_MEMMAP_TYPE_*
    std::uint32_t reserved; // must be zero
};
static_assert(sizeof(hvm_memmap_table_entry) == 24);
static_assert(offsetof(hvm_memmap_table_entry, size) == 8);
static_assert(offsetof(hvm_memmap_table_entry, type) == 16);
static_assert(offsetof(hvm_memmap_table_entry, reserved) == 20);

}  // namespace pv
