// domain_builder_tables (internal to the domain builder): which frames are page tables, in
// the order Xen allocates them, replayed from the Layout alone. The layout code counts with
// these walks, the writer finds a table's frame with them, and for_each_page_table reports
// them; one definition keeps the three in agreement.
#pragma once
#include <cstdint>

#include "domain_builder.hpp"

namespace hv::builder::detail {

inline constexpr std::uint64_t kPage = 4096;
inline constexpr std::uint64_t k2M = std::uint64_t{1} << 21;
inline constexpr std::uint64_t k1G = std::uint64_t{1} << 30;
inline constexpr std::uint64_t k512G = std::uint64_t{1} << 39;
inline constexpr std::uint64_t kVaMask48 = (std::uint64_t{1} << 48) - 1;

// Bytes of guest VA one entry of a level-`level` table covers times 512: the span of one
// table at that level (1 = L1 covers 2 MiB ... 3 = L3 covers 512 GiB).
constexpr unsigned table_shift(unsigned level) { return 12 + 9 * level; }

// Page-table entry bits (x86-64 and Xen's software bit).
inline constexpr std::uint64_t PTE_P = 1u << 0, PTE_RW = 1u << 1, PTE_US = 1u << 2;
inline constexpr std::uint64_t PTE_A = 1u << 5, PTE_D = 1u << 6;
// Xen's _PAGE_GUEST_KERNEL (flag bit 12 = PTE bit 52): set by Xen's dom0 builder on every
// bootstrap L1 entry to tell its kernel mappings from user ones (both carry _PAGE_USER).
inline constexpr std::uint64_t PTE_GUEST_KERNEL = std::uint64_t{1} << 52;
inline constexpr std::uint64_t PTE_ADDR_MASK = 0x000ffffffffff000;

// Number of level-`shift` regions [lo, hi) touches; Xen's NR() macro, modular like Xen's so
// a range ending at the top of the address space still counts right.
constexpr std::uint64_t regions(std::uint64_t lo, std::uint64_t hi, unsigned shift) {
  std::uint64_t m = (std::uint64_t{1} << shift) - 1;
  return (((hi + m) & ~m) - (lo & ~m)) >> shift;
}

// Xen dom0 bootstrap tables: L4, then per 2 MiB region in VA order an L1, followed by an L2
// when the region starts a new 1 GiB block and an L3 when it starts a new 512 GiB block.
// visit(pfn, level, region_base) returns false to stop.
template <typename V>
void walk_dom0_bootstrap(const Layout& l, V&& visit) {
  std::uint64_t pfn = l.pt_pfn;
  if (!visit(pfn++, 4u, std::uint64_t{0})) return;
  std::uint64_t base = l.v_start & ~(k2M - 1);
  std::uint64_t n = regions(l.v_start, l.v_end, 21);
  for (std::uint64_t j = 0; j < n; ++j, base += k2M) {
    if (!visit(pfn++, 1u, base)) return;
    if ((j == 0 || (base & (k1G - 1)) == 0) && !visit(pfn++, 2u, base & ~(k1G - 1))) return;
    if ((j == 0 || (base & (k512G - 1)) == 0) && !visit(pfn++, 3u, base & ~(k512G - 1))) return;
  }
}

// True when the bootstrap mapping already has the level-`level` table covering `va`.
constexpr bool bootstrap_has_table(const Layout& l, unsigned level, std::uint64_t va) {
  unsigned s = table_shift(level);
  return (va >> s) >= (l.v_start >> s) && (va >> s) <= ((l.v_end - 1) >> s);
}

// Xen dom0 INIT_P2M area (setup_pv_physmap, 4 KiB pages): per p2m page in VA order, an L3,
// L2 and L1 when its L4 slot / L3 entry / L2 entry is still empty, then the page itself
// (level 0). Returns false when Xen would panic for lack of memory.
template <typename V>
bool walk_dom0_p2m(const Layout& l, V&& visit) {
  std::uint64_t pfn = l.p2m_area_pfn;
  const std::uint64_t last_page_end = (l.p2m.end + kPage - 1) & ~(kPage - 1);
  for (std::uint64_t va = l.p2m.start; va < l.p2m.end; va += kPage) {
    if (pfn + ((last_page_end - va) >> 12) + 3 > l.nr_pages) return false;
    for (unsigned level = 3; level >= 1; --level) {
      unsigned s = table_shift(level);
      bool shared = va != l.p2m.start && ((va - kPage) >> s) == (va >> s);
      if (shared || bootstrap_has_table(l, level, va)) continue;
      if (!visit(pfn++, level, va & ~((std::uint64_t{1} << s) - 1))) return true;
    }
    if (!visit(pfn++, 0u, va)) return true;
  }
  return true;
}

// libxenguest: mapping m's tables by level, top level first, each level in VA order.
template <typename V>
bool walk_domu_map(const Layout& l, unsigned m, V&& visit) {
  for (unsigned i = 4; i-- > 0;) {
    const Layout::LevelRun& run = l.maps[m][i];
    for (std::uint64_t k = 0; k < run.count; ++k) {
      std::uint64_t base = i == 3 ? 0 : run.from + (k << table_shift(i + 1));
      if (!visit(run.pfn + k, i + 1, base)) return false;
    }
  }
  return true;
}

// libxenguest INIT_P2M area: the p2m pages first, then its own tables.
template <typename V>
void walk_domu_p2m(const Layout& l, V&& visit) {
  for (std::uint64_t k = 0; k < l.p2m_data_pages; ++k) {
    if (!visit(l.p2m_area_pfn + k, 0u, l.p2m.start + k * kPage)) return;
  }
  if (l.n_maps > 1) walk_domu_map(l, 1, visit);
}

template <typename V>
void walk_bootstrap(const Layout& l, V&& visit) {
  if (l.kind == DomainKind::dom0) walk_dom0_bootstrap(l, visit);
  else walk_domu_map(l, 0, visit);
}

template <typename V>
void walk_p2m_area(const Layout& l, V&& visit) {
  if (!l.p2m_separate) return;
  if (l.kind == DomainKind::dom0) (void)walk_dom0_p2m(l, visit);
  else walk_domu_p2m(l, visit);
}

// Frame of the level-`level` (1..3) table covering `va`; UNSET_ADDR if the layout has none.
std::uint64_t find_table_pfn(const Layout& l, unsigned level, std::uint64_t va);

}  // namespace hv::builder::detail

namespace hv::builder {
// [start, end) canonical, not wrapping, clear of the hypervisor's L4 slots (layout.cpp).
BuildStatus check_layout_range(std::uint64_t start, std::uint64_t end);
// libxenguest's domU layout (domain_builder_domu.cpp).
BuildResult<Layout> layout_domu(const KernelParams& k, const DomainParams& p);
}  // namespace hv::builder
