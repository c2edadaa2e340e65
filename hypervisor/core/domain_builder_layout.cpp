// domain_builder_layout: the start-of-day layout, computed from the kernel parameters alone.
// dom0 follows Xen's dom0_construct_pv; domU follows libxenguest's xc_dom_build_image with
// the x86_64 PV hooks. Every sum and product on image-controlled values is checked.
#include <bit>

#include <pv/arch_x86_64.hpp>
#include <pv/start_info.hpp>

#include "domain_builder.hpp"
#include "domain_builder_tables.hpp"

namespace hv::builder {

using namespace detail;

// [start, end) must be canonical and clear of the hypervisor's L4 slots 256..271.
BuildStatus check_layout_range(std::uint64_t start, std::uint64_t end) {
  constexpr std::uint64_t lower_end = std::uint64_t{1} << 47;
  constexpr std::uint64_t upper_start = ~(lower_end - 1);
  if (end < start) return build_fail(BuildError::address_overflow, "address arithmetic wraps");
  if (!(end <= lower_end || start >= upper_start))
    return build_fail(BuildError::address_noncanonical, "range crosses the non-canonical hole");
  if (start < pv::HYPERVISOR_VIRT_END && end > pv::HYPERVISOR_VIRT_START)
    return build_fail(BuildError::hypervisor_overlap, "range overlaps the hypervisor area");
  return kBuildOk;
}

namespace {

constexpr std::uint64_t kStartInfoSize = sizeof(pv::start_info);
constexpr std::uint64_t kVgaConsoleInfoSize = 40;  // sizeof(struct dom0_vga_console_info)
constexpr std::uint64_t k4M = std::uint64_t{1} << 22;

BuildStatus overflow() { return build_fail(BuildError::address_overflow, "address arithmetic wraps"); }

bool add(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_add_overflow(a, b, &out);
}
bool round_pgup(std::uint64_t a, std::uint64_t& out) {
  if (!add(a, kPage - 1, out)) return false;
  out &= ~(kPage - 1);
  return true;
}
constexpr std::uint64_t pfn_up(std::uint64_t bytes) { return (bytes >> 12) + ((bytes & 0xfff) != 0); }

BuildStatus check_features(const KernelParams& k, DomainKind kind) {
  if (kind == DomainKind::dom0) {
    if (k.has_note(17) && !k.supports(XENFEAT_dom0))
      return build_fail(BuildError::no_dom0_support, "kernel does not support dom0 operation");
    if (k.requires_feature(XENFEAT_supervisor_mode_kernel))
      return build_fail(BuildError::unsupported_required_feature,
                        "kernel requires supervisor-mode execution");
  } else {
    if (k.requires_feature(XENFEAT_dom0))
      return build_fail(BuildError::unsupported_required_feature,
                        "kernel does not support unprivileged operation");
    if (k.requires_feature(XENFEAT_auto_translated_physmap))
      return build_fail(BuildError::unsupported_required_feature,
                        "PV auto-translate guests are not supported");
  }
  return kBuildOk;
}

BuildStatus check_hypercall_page(Layout& l, const KernelParams& k) {
  if (k.virt_hypercall == UNSET_ADDR) return kBuildOk;
  if (k.virt_hypercall < l.v_start || k.virt_hypercall >= l.v_end ||
      (k.virt_hypercall & (kPage - 1)) != 0)
    return build_fail(BuildError::hypercall_page_invalid, "invalid HYPERCALL_PAGE note");
  l.hypercall_page = k.virt_hypercall;
  return kBuildOk;
}

// ---- dom0 (dom0_construct_pv) ------------------------------------------------------------

// Front of the mapping: kernel, mapped initrd, in-mapping p2m, start_info, shim pages.
// Returns vpt_start.
BuildResult<std::uint64_t> dom0_front(Layout& l, const KernelParams& k, const DomainParams& p) {
  const std::uint64_t initrd_len = p.module.size();
  std::uint64_t cur;
  if (!round_pgup(k.virt_kend, cur)) return overflow();
  if (initrd_len != 0 && !k.unmapped_initrd) {
    l.module.start = cur;
    if (!add(cur, initrd_len, l.module.end) || !round_pgup(l.module.end, cur)) return overflow();
  }
  std::uint64_t p2m_bytes;
  if (__builtin_mul_overflow(p.nr_pages, std::uint64_t{8}, &p2m_bytes)) return overflow();
  l.p2m.start = cur;
  l.p2m.end = cur;
  if (k.p2m_base == UNSET_ADDR && !add(cur, p2m_bytes, l.p2m.end)) return overflow();
  if (!round_pgup(l.p2m.end, cur)) return overflow();
  l.start_info = {cur, cur + kStartInfoSize};
  if (!round_pgup(l.start_info.end, cur)) return overflow();
  if (p.xenstore_console_pages) {  // PV-shim placement
    l.xenstore = {cur, cur + kPage};
    l.console = {cur + kPage, cur + 2 * kPage};
    if (!add(cur, 2 * kPage, cur)) return overflow();
  } else {
    l.start_info.end += kVgaConsoleInfoSize;
  }
  return cur;
}

// Xen's "pair of simultaneous equations": tables needed for [v_start, v_end) vs. v_end.
BuildStatus dom0_tables(Layout& l, std::uint64_t vpt_start) {
  for (std::uint64_t n = 2;; ++n) {
    std::uint64_t vpt_end, vstack_end, v_end;
    if (n > (std::uint64_t{1} << 36) || !add(vpt_start, n * kPage, vpt_end) ||
        !add(vpt_end, kPage, vstack_end) || !add(vstack_end, k4M - 1, v_end))
      return overflow();
    v_end &= ~(k4M - 1);
    if (v_end - vstack_end < (512u << 10) && !add(v_end, k4M, v_end)) return overflow();
    if (v_end == 0) return overflow();
    std::uint64_t need = 1 + regions(l.v_start, v_end, 39) + regions(l.v_start, v_end, 30) +
                         regions(l.v_start, v_end, 21);
    if (need <= n) {
      l.page_tables = {vpt_start, vpt_end};
      l.boot_stack = {vpt_end, vstack_end};
      l.v_end = v_end;
      l.nr_pt_frames = n;
      return kBuildOk;
    }
  }
}

BuildStatus dom0_p2m(Layout& l, const KernelParams& k) {
  l.first_p2m_pfn = l.chunk_pages + l.module_pages;
  l.p2m_area_pfn = l.first_p2m_pfn;
  if (k.p2m_base == UNSET_ADDR) {
    l.p2m_pfn = (l.p2m.start - l.v_start) >> 12;
    l.p2m_data_pages = pfn_up(l.nr_pages * 8);
    return kBuildOk;
  }
  if ((k.p2m_base & (kPage - 1)) != 0)
    return build_fail(BuildError::p2m_base_invalid, "INIT_P2M not page aligned");
  l.p2m.start = k.p2m_base;
  if (!add(k.p2m_base, l.nr_pages * 8, l.p2m.end)) return overflow();
  std::uint64_t p2m_last;
  if (!round_pgup(l.p2m.end, p2m_last)) return overflow();
  BUILDER_TRY(check_layout_range(l.p2m.start, p2m_last));
  if (l.v_start <= l.p2m.end && l.p2m.start <= l.v_end)
    return build_fail(BuildError::p2m_base_invalid, "P->M table overlaps the initial mapping");
  l.p2m_separate = true;
  std::uint64_t frames = 0, data = 0;
  bool fits = walk_dom0_p2m(l, [&](std::uint64_t, unsigned level, std::uint64_t) {
    ++frames;
    if (level == 0) ++data;
    return true;
  });
  if (!fits) return build_fail(BuildError::out_of_memory, "dom0 too small for the P->M table");
  l.p2m_data_pages = data;
  l.p2m_area_frames = frames;
  l.nr_p2m_frames = frames;
  return kBuildOk;
}

BuildResult<Layout> layout_dom0(const KernelParams& k, const DomainParams& p) {
  Layout l;
  l.kind = DomainKind::dom0;
  l.nr_pages = p.nr_pages;
  l.v_start = k.virt_base;
  l.kernel = {k.virt_kstart, k.virt_kend};
  const std::uint64_t initrd_len = p.module.size();
  auto vpt_start = dom0_front(l, k, p);
  BUILDER_TRY(vpt_start);
  BUILDER_TRY(dom0_tables(l, *vpt_start));
  BUILDER_TRY(check_layout_range(l.v_start, l.v_end));
  // Xen's first allocation: 2^order pages for the mapping (minus a mapped initrd, whose own
  // frames are handed over), then the initrd frames.
  std::uint64_t count = l.v_end - l.v_start - (l.module.empty() ? 0 : (pfn_up(initrd_len) << 12));
  l.chunk_pages = std::bit_ceil(pfn_up(count));
  l.module_len = initrd_len;
  l.module_pages = pfn_up(initrd_len);
  if (l.chunk_pages + l.module_pages > p.nr_pages)
    return build_fail(BuildError::out_of_memory, "allocation too small for the kernel image");
  l.module_unmapped = initrd_len != 0 && k.unmapped_initrd;
  l.module_pfn = l.module.empty() ? l.chunk_pages : (l.module.start - l.v_start) >> 12;
  BUILDER_TRY(dom0_p2m(l, k));
  l.start_info_pfn = (l.start_info.start - l.v_start) >> 12;
  if (p.xenstore_console_pages) {
    l.xenstore_pfn = (l.xenstore.start - l.v_start) >> 12;
    l.console_pfn = l.xenstore_pfn + 1;
  }
  l.pt_pfn = (l.page_tables.start - l.v_start) >> 12;
  l.stack_pfn = (l.boot_stack.start - l.v_start) >> 12;
  l.kernel_pfn = (l.kernel.start - l.v_start) >> 12;
  l.pfns_used = l.first_p2m_pfn + l.nr_p2m_frames;
  l.si_flags = p.si_flags | ((p.pm_bits << 8) & pv::SIF_PM_MASK);
  if (l.module_unmapped) l.si_flags |= pv::SIF_MOD_START_PFN;
  if (initrd_len != 0) {
    l.mod_start = l.module.empty() ? l.module_pfn : l.module.start;
    l.mod_len = initrd_len;
  }
  return l;
}

}  // namespace

BuildResult<Layout> compute_layout(const KernelParams& k, const DomainParams& p) {
  if (p.nr_pages == 0 || p.nr_pages > (std::uint64_t{1} << 40))
    return build_fail(BuildError::invalid_argument, "nr_pages out of range");
  if (p.dom0_console_info.size() > kVgaConsoleInfoSize)
    return build_fail(BuildError::invalid_argument, "dom0 console info too large");
  BUILDER_TRY(check_features(k, p.kind));
  if ((k.virt_base & (kPage - 1)) != 0)
    return build_fail(BuildError::misaligned, "VIRT_BASE not page aligned");
  auto l = p.kind == DomainKind::dom0 ? layout_dom0(k, p) : layout_domu(k, p);
  BUILDER_TRY(l);
  l.value().entry = k.virt_entry;
  BUILDER_TRY(check_hypercall_page(l.value(), k));
  return l;
}

}  // namespace hv::builder
