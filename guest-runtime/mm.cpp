// mm: layout discovery, p2m/M2P translation, page-table walks and frame allocation for a
// guest-runtime kernel (see mm.hpp). Never hands out a frame that is mapped or in use.
#include "mm.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/types.hpp>

#include "console.hpp"
#include "freestanding.hpp"
#include "hypercall.hpp"

extern "C" void* memset(void* dst, int value, std::size_t n);
extern "C" void* memcpy(void* dst, const void* src, std::size_t n);

namespace guest::mm {
namespace {
constexpr unsigned kWindows = 16;

const pv::start_info* info;
std::uint64_t root;               // current kernel L4 mfn
std::uint64_t region_pages;       // bootstrap region: pfns [0, region_pages) mapped
std::uint64_t next_padding_pfn;   // bump allocator over the padding
std::uint64_t next_free_pfn;      // unmapped frames, handed out downwards from nr_pages
std::uint64_t window_base;        // kWindows padding VAs reserved for map_window
bool window_used[kWindows];

alignas(4096) char shared_info_page[4096];

const std::uint64_t* m2p() { return reinterpret_cast<const std::uint64_t*>(pv::MACH2PHYS_VIRT_START); }

std::uint64_t pfn_of_va(std::uint64_t va) { return (va - kVirtBase) / kPageSize; }

// Frames above the region the builder may still use: the p2m (and its tables), an initrd.
bool builder_owned(std::uint64_t pfn) {
  if (pfn - info->first_p2m_pfn < info->nr_p2m_frames) return true;
  std::uint64_t mod_pages = (info->mod_len + kPageSize - 1) / kPageSize;
  return (info->flags & pv::SIF_MOD_START_PFN) && pfn - info->mod_start < mod_pages;
}
}  // namespace

void init(const pv::start_info& si) {
  info = &si;
  root = pfn_to_mfn(pfn_of_va(si.pt_base));
  // The region ends at the first unmapped page after the bootstrap page tables.
  std::uint64_t pfn = pfn_of_va(si.pt_base) + si.nr_pt_frames;
  while (entry_value(kVirtBase + pfn * kPageSize, 1) & PTE_P) ++pfn;
  region_pages = pfn;
  // Padding starts after the page tables and the one-page boot stack (which we left).
  std::uint64_t padding = pfn_of_va(si.pt_base) + si.nr_pt_frames + 1;
  window_base = kVirtBase + padding * kPageSize;
  next_padding_pfn = padding + kWindows;
  next_free_pfn = si.nr_pages;
  if (next_padding_pfn + 16 > region_pages) fail("mm: bootstrap padding too small");
  std::uint64_t si_va = reinterpret_cast<std::uint64_t>(shared_info_page);
  long rc = update_va(si_va, si.shared_info | PTE_P | PTE_RW | PTE_A | PTE_D, pv::UVMF_INVLPG);
  if (rc != 0) fail("mm: mapping shared_info (maddr %#lx) failed: %ld", si.shared_info, rc);
}

const pv::start_info& start() { return *info; }
pv::shared_info& shared_info() { return *reinterpret_cast<pv::shared_info*>(shared_info_page); }
pv::vcpu_info& vcpu0() { return shared_info().vcpu_info[0]; }

std::uint64_t pfn_to_mfn(std::uint64_t pfn) {
  if (pfn >= info->nr_pages) return kInvalidMfn;
  return reinterpret_cast<const std::uint64_t*>(info->mfn_list)[pfn];
}

std::uint64_t mfn_to_pfn(std::uint64_t mfn) { return m2p()[mfn]; }

std::uint64_t root_mfn() { return root; }
void set_root_mfn(std::uint64_t mfn) { root = mfn; }

const std::uint64_t* table_va(std::uint64_t mfn) {
  std::uint64_t pfn = mfn_to_pfn(mfn);
  if (pfn >= info->nr_pages || pfn_to_mfn(pfn) != mfn) return nullptr;
  if (region_pages != 0 && pfn >= region_pages) return nullptr;
  return reinterpret_cast<const std::uint64_t*>(kVirtBase + pfn * kPageSize);
}

std::uint64_t entry_maddr(std::uint64_t va, int level) {
  std::uint64_t table = root;
  for (int l = 4; l > level; --l) {
    const std::uint64_t* t = table_va(table);
    if (t == nullptr) return 0;
    std::uint64_t e = t[table_index(va, l)];
    if (!(e & PTE_P)) return 0;
    table = (e & kAddrMask) >> 12;
  }
  return (table << 12) | (table_index(va, level) * 8);
}

std::uint64_t entry_value(std::uint64_t va, int level) {
  std::uint64_t maddr = entry_maddr(va, level);
  if (maddr == 0) return 0;
  const std::uint64_t* t = table_va(maddr >> 12);
  return t == nullptr ? 0 : t[table_index(va, level)];
}

std::uint64_t virt_to_mfn(const void* p) {
  std::uint64_t e = entry_value(reinterpret_cast<std::uint64_t>(p), 1);
  return (e & PTE_P) ? (e & kAddrMask) >> 12 : kInvalidMfn;
}

std::uint64_t alloc_frame() {
  while (next_free_pfn > region_pages) {
    std::uint64_t pfn = --next_free_pfn;
    std::uint64_t mfn = pfn_to_mfn(pfn);
    if (builder_owned(pfn) || mfn == kInvalidMfn || mfn_to_pfn(mfn) != pfn) continue;
    void* va = map_window(mfn, PTE_P | PTE_RW | PTE_A | PTE_D);
    if (va == nullptr) continue;
    memset(va, 0, kPageSize);
    unmap_window(va);
    return mfn;
  }
  fail("mm: out of free frames");
}

void* alloc_mapped_page() {
  if (next_padding_pfn >= region_pages) fail("mm: bootstrap padding exhausted");
  return reinterpret_cast<void*>(kVirtBase + next_padding_pfn++ * kPageSize);
}

void* map_window(std::uint64_t mfn, std::uint64_t flags, long* rc) {
  for (unsigned i = 0; i < kWindows; ++i) {
    if (window_used[i]) continue;
    std::uint64_t va = window_base + i * kPageSize;
    long r = update_va(va, (mfn << 12) | flags, pv::UVMF_INVLPG);
    if (rc != nullptr) *rc = r;
    if (r != 0) return nullptr;
    window_used[i] = true;
    return reinterpret_cast<void*>(va);
  }
  fail("mm: no free map window");
}

void unmap_window(void* p) {
  std::uint64_t va = reinterpret_cast<std::uint64_t>(p);
  long rc = update_va(va, 0, pv::UVMF_INVLPG);
  if (rc != 0) fail("mm: unmapping window %#lx failed: %ld", va, rc);
  window_used[(va - window_base) / kPageSize] = false;
}

void write_frame(std::uint64_t mfn, unsigned index, std::uint64_t value) {
  long rc = 0;
  auto* page = static_cast<std::uint64_t*>(map_window(mfn, PTE_P | PTE_RW | PTE_A | PTE_D, &rc));
  if (page == nullptr) fail("mm: mapping mfn %#lx writable failed: %ld", mfn, rc);
  page[index] = value;
  unmap_window(page);
}

void copy_to_frame(std::uint64_t mfn, const void* src, std::uint64_t bytes) {
  long rc = 0;
  void* page = map_window(mfn, PTE_P | PTE_RW | PTE_A | PTE_D, &rc);
  if (page == nullptr) fail("mm: mapping mfn %#lx writable failed: %ld", mfn, rc);
  memcpy(page, src, bytes < kPageSize ? bytes : kPageSize);
  unmap_window(page);
}

long update_va(std::uint64_t va, std::uint64_t pte, std::uint64_t flags) {
  return hypercall<pv::hypercall::update_va_mapping>(va, pte, flags);
}

long mmu_update(std::uint64_t ptr, std::uint64_t val) {
  pv::mmu_update req{ptr, val};
  return hypercall<pv::hypercall::mmu_update>(reinterpret_cast<std::uint64_t>(&req), 1, 0,
                                              pv::DOMID_SELF);
}

long mmuext(unsigned cmd, std::uint64_t arg1, std::uint64_t arg2) {
  pv::mmuext_op op{};
  op.cmd = cmd;
  op.arg1.mfn = arg1;
  op.arg2.src_mfn = arg2;
  return hypercall<pv::hypercall::mmuext_op>(reinterpret_cast<std::uint64_t>(&op), 1, 0,
                                             pv::DOMID_SELF);
}

}  // namespace guest::mm
