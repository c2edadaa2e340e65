// domain_builder_domu: the toolstack (libxenguest) layout of a PV domU: a bump allocator in
// pfn and VA space (xc_dom_alloc_segment/_page/_pad), the page-table count of
// count_pgtables/alloc_pgtables_pv and the INIT_P2M mapping of alloc_p2m_list_x86_64.
#include <pv/start_info.hpp>

#include "domain_builder.hpp"
#include "domain_builder_tables.hpp"

namespace hv::builder {

using namespace detail;

namespace {

constexpr std::uint64_t k4M = std::uint64_t{1} << 22;
constexpr std::uint64_t pfn_up(std::uint64_t bytes) { return (bytes >> 12) + ((bytes & 0xfff) != 0); }

BuildStatus overflow() { return build_fail(BuildError::address_overflow, "address arithmetic wraps"); }
BuildStatus no_memory(const char* what) { return build_fail(BuildError::out_of_memory, what); }

// xc_dom's allocator: pfns from 0, VAs from virt_base, both bumped together.
struct Bump {
  std::uint64_t total;
  std::uint64_t pfn;
  std::uint64_t va;

  BuildStatus pages(std::uint64_t n, const char* what) {
    if (n > total || pfn > total || n > total - pfn) return no_memory(what);
    if (__builtin_add_overflow(va, n * kPage, &va)) return overflow();
    pfn += n;
    return kBuildOk;
  }
  BuildStatus pad(std::uint64_t boundary) {
    if ((boundary & (kPage - 1)) != 0)
      return build_fail(BuildError::misaligned, "segment boundary not page aligned");
    if (boundary < va) return build_fail(BuildError::kernel_range_invalid, "segment boundary too low");
    return pages((boundary - va) >> 12, "padding too large");
  }
};

// count_pgtables: tables for mapping m over [from, to] (inclusive), numbered from
// `table_pfn`; `check_pfn` is the pfn the mapping's first page would have.
BuildResult<std::uint64_t> count_map(Layout& l, unsigned m, std::uint64_t from, std::uint64_t to,
                                     std::uint64_t check_pfn, std::uint64_t table_pfn) {
  std::uint64_t pfn_end = check_pfn + ((to - from) >> 12);
  if (pfn_end < check_pfn || pfn_end >= l.nr_pages)
    return no_memory("not enough memory for initial mapping");
  const std::uint64_t afrom = from & kVaMask48, ato = to & kVaMask48;
  if (m == 1 && afrom < ((l.v_end - 1) & kVaMask48) && ato > (l.v_start & kVaMask48))
    return build_fail(BuildError::p2m_base_invalid, "INIT_P2M overlaps the initial mapping");
  std::uint64_t total = 0;
  for (unsigned i = 4; i-- > 0;) {
    Layout::LevelRun& run = l.maps[m][i];
    run = {};
    run.pfn = table_pfn + total;
    if (i == 3) {
      if (m == 0) run = {0, kVaMask48, table_pfn, 1};
      total += run.count;
      continue;
    }
    const unsigned bits = table_shift(i + 1);
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    std::uint64_t f = afrom & ~mask, t = ato | mask;
    const Layout::LevelRun& cmp = l.maps[0][i];
    if (m == 1 && cmp.from != cmp.to) {
      if (f >= cmp.from && t <= cmp.to) {
        f = t = 0;  // entirely inside the bootstrap mapping's tables
      } else {
        if (f >= cmp.from && f <= cmp.to) f = cmp.to + 1;
        if (t >= cmp.from && t <= cmp.to) t = cmp.from - 1;
      }
    }
    run.from = f;
    run.to = t;
    if (f < t) run.count = ((t - f) >> bits) + 1;
    total += run.count;
  }
  return total;
}

// alloc_pgtables_pv: grow the mapping until its own tables, the boot stack and 512 KiB of
// slack fit below its 4 MiB-rounded end. Returns virt_pgtab_end.
BuildResult<std::uint64_t> domu_tables(Layout& l, Bump& a) {
  const std::uint64_t extra = 1 + (512 * 1024) / kPage;
  std::uint64_t pages = extra, try_end = 0;
  for (;;) {
    if (__builtin_add_overflow(a.va, pages * kPage, &try_end)) return overflow();
    try_end |= k4M - 1;
    auto n = count_map(l, 0, l.v_start, try_end, 0, a.pfn);
    BUILDER_TRY(n);
    pages = *n + extra;
    std::uint64_t need;
    if (__builtin_add_overflow(a.va, pages * kPage, &need)) return overflow();
    if (try_end == ~std::uint64_t{0}) return overflow();
    if (need <= try_end + 1) break;
  }
  l.n_maps = 1;
  l.pt_pfn = a.pfn;
  l.nr_pt_frames = l.maps[0][3].count + l.maps[0][2].count + l.maps[0][1].count +
                   l.maps[0][0].count;
  l.page_tables.start = a.va;
  BUILDER_TRY(a.pages(l.nr_pt_frames, "page tables"));
  l.page_tables.end = a.va;
  l.stack_pfn = a.pfn;
  l.boot_stack = {a.va, a.va + kPage};
  BUILDER_TRY(a.pages(1, "boot stack"));
  return try_end + 1;
}

BuildStatus domu_separate_p2m(Layout& l, Bump& a, std::uint64_t p2m_base, std::uint64_t bytes) {
  std::uint64_t to;
  if (__builtin_add_overflow(p2m_base, bytes - 1, &to)) return overflow();
  auto tables = count_map(l, 1, p2m_base, to, a.pfn, a.pfn);
  BUILDER_TRY(tables);
  const std::uint64_t data = bytes >> 12;
  for (auto& run : l.maps[1]) run.pfn += data;
  l.n_maps = 2;
  l.p2m_separate = true;
  l.p2m = {p2m_base, p2m_base + bytes};
  l.p2m_data_pages = data;
  l.p2m_area_pfn = a.pfn;
  l.p2m_area_frames = data + *tables;
  l.first_p2m_pfn = a.pfn;
  l.nr_p2m_frames = l.p2m_area_frames;
  return a.pages(l.p2m_area_frames, "phys2mach");
}

}  // namespace

BuildResult<Layout> layout_domu(const KernelParams& k, const DomainParams& p) {
  Layout l;
  l.kind = DomainKind::domu;
  l.nr_pages = p.nr_pages;
  l.v_start = k.virt_base;
  Bump a{p.nr_pages, 0, k.virt_base};
  // Kernel at virt_kstart (the gap below it is padding).
  if (k.virt_kstart != 0) BUILDER_TRY(a.pad(k.virt_kstart));
  l.kernel_pfn = a.pfn;
  l.kernel = {k.virt_kstart, k.virt_kend};
  BUILDER_TRY(a.pages(pfn_up(k.virt_kend - k.virt_kstart), "kernel"));
  // Module inside the mapping unless the kernel takes it by PFN.
  const std::uint64_t len = p.module.size();
  if (len != 0 && !k.unmapped_initrd) {
    l.module_pfn = a.pfn;
    l.module = {a.va, a.va + len};
    BUILDER_TRY(a.pages(pfn_up(len), "module"));
    l.module_len = len;
    l.module_pages = pfn_up(len);
    l.mod_start = l.module.start;
    l.mod_len = len;
  }
  // p2m inside the mapping unless INIT_P2M is usable (below virt_base, page aligned).
  std::uint64_t p2m_base = k.p2m_base;
  if (p2m_base != UNSET_ADDR && (p2m_base >= k.virt_base || (p2m_base & (kPage - 1)) != 0))
    p2m_base = UNSET_ADDR;
  const std::uint64_t p2m_bytes = pfn_up(p.nr_pages * 8) * kPage;
  if (p2m_base == UNSET_ADDR) {
    l.p2m_pfn = a.pfn;
    l.p2m = {a.va, a.va + p2m_bytes};
    l.p2m_data_pages = p2m_bytes >> 12;
    BUILDER_TRY(a.pages(l.p2m_data_pages, "phys2mach"));
  }
  // start_info, xenstore and console pages (alloc_magic_pages_pv).
  l.start_info_pfn = a.pfn;
  l.start_info = {a.va, a.va + sizeof(pv::start_info)};
  BUILDER_TRY(a.pages(1, "start info"));
  if (p.xenstore_console_pages) {
    l.xenstore_pfn = a.pfn;
    l.xenstore = {a.va, a.va + kPage};
    BUILDER_TRY(a.pages(1, "xenstore"));
    l.console_pfn = a.pfn;
    l.console = {a.va, a.va + kPage};
    BUILDER_TRY(a.pages(1, "console"));
  }
  auto pgtab_end = domu_tables(l, a);
  BUILDER_TRY(pgtab_end);
  BUILDER_TRY(a.pad(*pgtab_end));
  l.v_end = *pgtab_end;
  BUILDER_TRY(check_layout_range(l.v_start, l.v_end));
  l.si_flags = p.si_flags | pv::SIF_VIRT_P2M_4TOOLS;
  if (len != 0 && k.unmapped_initrd) {
    l.module_unmapped = true;
    l.module_pfn = a.pfn;
    l.module_pages = pfn_up(len);
    l.module_len = len;
    BUILDER_TRY(a.pages(l.module_pages, "module"));
    l.si_flags |= pv::SIF_MOD_START_PFN;
    l.mod_start = l.module_pfn;
    l.mod_len = l.module_pages * kPage;
  }
  if (p2m_base != UNSET_ADDR) {
    BUILDER_TRY(domu_separate_p2m(l, a, p2m_base, p2m_bytes));
    BUILDER_TRY(check_layout_range(l.p2m.start, l.p2m.end));
  }
  l.pfns_used = a.pfn;
  return l;
}

}  // namespace hv::builder
