// mm: a guest-runtime kernel's view of its own memory through the PV MMU ABI. The builder's
// bootstrap region maps pfn N at kVirtBase + N*4096 (page tables read-only); the p2m
// (start_info.mfn_list) and the hypervisor's read-only M2P translate between pfns and mfns.
// Frames above the bootstrap region are mapped nowhere: alloc_frame() hands them out (for
// page tables: no writable mapping may exist). Window VAs in the bootstrap padding map any
// frame temporarily. Everything goes through hypercalls; nothing here writes a PTE itself.
#pragma once
#include <cstdint>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>

namespace guest::mm {

inline constexpr std::uint64_t kVirtBase = 0xffffffff80000000;  // guest.ld VIRT_BASE
inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t PTE_P = 1u << 0, PTE_RW = 1u << 1, PTE_US = 1u << 2;
inline constexpr std::uint64_t PTE_PWT = 1u << 3, PTE_PCD = 1u << 4, PTE_A = 1u << 5;
inline constexpr std::uint64_t PTE_D = 1u << 6, PTE_PSE = 1u << 7;
inline constexpr std::uint64_t PTE_NX = 1ull << 63;
inline constexpr std::uint64_t kAddrMask = 0x000ffffffffff000;
inline constexpr std::uint64_t kInvalidMfn = ~0ull;

// Records the layout from start_info and maps shared_info; call first.
void init(const pv::start_info& info);
const pv::start_info& start();
pv::shared_info& shared_info();
pv::vcpu_info& vcpu0();

std::uint64_t pfn_to_mfn(std::uint64_t pfn);  // p2m; kInvalidMfn when out of range
std::uint64_t mfn_to_pfn(std::uint64_t mfn);  // M2P read
std::uint64_t virt_to_mfn(const void* va);    // walks the current kernel tables; ~0 if unmapped
constexpr unsigned table_index(std::uint64_t va, int level) {
  return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
}

// Current kernel root (L4) mfn; tracked here because the guest cannot read CR3 cheaply.
std::uint64_t root_mfn();
void set_root_mfn(std::uint64_t mfn);  // after a successful MMUEXT_NEW_BASEPTR
// Entry of `level` (4..1) mapping `va` in the current tables: its machine address (for
// mmu_update) and its value; 0 when a higher level is not present. Only tables inside the
// bootstrap region (which are mapped there) can be walked.
std::uint64_t entry_maddr(std::uint64_t va, int level);
std::uint64_t entry_value(std::uint64_t va, int level);
// Read-only VA of a table frame inside the bootstrap region (nullptr otherwise).
const std::uint64_t* table_va(std::uint64_t mfn);

// A frame of this domain mapped nowhere, zero-filled: fit for a new page table.
std::uint64_t alloc_frame();
// A page of the bootstrap padding: mapped read-write, contents undefined.
void* alloc_mapped_page();

// Maps `mfn` with `flags` (PTE_P|... ) at a free window VA, or returns nullptr when
// update_va_mapping failed (its errno in *rc when given). unmap_window clears the entry.
void* map_window(std::uint64_t mfn, std::uint64_t flags, long* rc = nullptr);
void unmap_window(void* va);

// Writes into a frame that is mapped nowhere (e.g. a table being built, before it is pinned
// or linked) through a window.
void write_frame(std::uint64_t mfn, unsigned index, std::uint64_t value);
void copy_to_frame(std::uint64_t mfn, const void* src, std::uint64_t bytes);

// Thin wrappers over the MMU hypercalls (one request each) returning the hypercall result.
long update_va(std::uint64_t va, std::uint64_t pte, std::uint64_t flags);
long mmu_update(std::uint64_t ptr, std::uint64_t val);
long mmuext(unsigned cmd, std::uint64_t arg1, std::uint64_t arg2 = 0);

}  // namespace guest::mm
