// domain_builder: writes a computed layout into the domain's frames. Only frames
// [0, pfns_used) of the domain are touched, one mapped frame at a time, and only after the
// whole layout has been validated (decode -> validate -> commit).
#include "domain_builder.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/start_info.hpp>

#include "domain_builder_tables.hpp"

namespace hv::builder {

using namespace detail;

namespace {

BuildStatus target_error(const char* what) { return build_fail(BuildError::target_failure, what); }

// Keeps at most one frame of the target mapped; remaps only when another frame is wanted.
class FrameWriter {
 public:
  explicit FrameWriter(BuilderTarget& target) : target_(target) {}
  FrameWriter(const FrameWriter&) = delete;
  FrameWriter& operator=(const FrameWriter&) = delete;
  ~FrameWriter() { release(); }

  BuildResult<std::uint64_t> mfn(std::uint64_t pfn) {
    Result<std::uint64_t> r = target_.frame_of_pfn(pfn);
    if (!r.ok()) return target_error("frame_of_pfn failed");
    return r.value();
  }
  // The mapped bytes of machine frame `mfn`.
  BuildResult<std::uint8_t*> map(std::uint64_t mfn) {
    if (window_ != nullptr && mfn_ == mfn) return window_;
    release();
    window_ = static_cast<std::uint8_t*>(target_.map_frame(mfn));
    if (window_ == nullptr) return target_error("map_frame failed");
    mfn_ = mfn;
    return window_;
  }
  BuildResult<std::uint8_t*> map_pfn(std::uint64_t pfn) {
    auto m = mfn(pfn);
    BUILDER_TRY(m);
    return map(*m);
  }
  void release() {
    if (window_ != nullptr) target_.unmap_frame(window_);
    window_ = nullptr;
  }
  BuilderTarget& target() { return target_; }

 private:
  BuilderTarget& target_;
  std::uint8_t* window_ = nullptr;
  std::uint64_t mfn_ = 0;
};

// Copies `src` into guest frames starting at byte `offset` of pfn `pfn`.
BuildStatus copy_to_frames(FrameWriter& w, std::uint64_t pfn, std::uint64_t offset,
                           std::span<const std::uint8_t> src) {
  pfn += offset >> 12;
  offset &= kPage - 1;
  while (!src.empty()) {
    auto page = w.map_pfn(pfn);
    BUILDER_TRY(page);
    std::size_t n = static_cast<std::size_t>(kPage - offset);
    if (n > src.size()) n = src.size();
    __builtin_memcpy(*page + offset, src.data(), n);
    src = src.subspan(n);
    offset = 0;
    ++pfn;
  }
  return kBuildOk;
}

BuildStatus zero_frames(FrameWriter& w, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t pfn = first; pfn < first + count; ++pfn) {
    auto page = w.map_pfn(pfn);
    BUILDER_TRY(page);
    __builtin_memset(*page, 0, kPage);
  }
  return kBuildOk;
}

BuildStatus load_kernel(FrameWriter& w, const elf::Image& img, const KernelParams& k,
                        const Layout& l) {
  for (std::size_t i = 0; i < img.phnum(); ++i) {
    elf::Elf64_Phdr ph = img.phdr(i);
    if (!elf::is_loadable(ph) || ph.p_filesz == 0) continue;
    std::span<const std::uint8_t> bytes;
    if (!img.slice(ph.p_offset, ph.p_filesz, bytes))
      return build_fail(BuildError::elf_segment_bounds, "segment data outside the file");
    // The rest of p_memsz (bss) stays zero: every frame was cleared and segments are disjoint.
    std::uint64_t va = ph.p_paddr + k.virt_offset;
    BUILDER_TRY(copy_to_frames(w, 0, va - l.v_start, bytes));
  }
  return kBuildOk;
}

// p2m pages: entry i = mfn of pfn i; the tail of the last page stays zero (as libxenguest).
BuildStatus write_p2m_page(FrameWriter& w, std::uint64_t page_pfn, std::uint64_t index,
                           std::uint64_t nr_pages) {
  std::uint64_t entries[512];
  std::uint64_t first = index * 512;
  std::uint64_t n = nr_pages - first < 512 ? nr_pages - first : 512;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto m = w.mfn(first + i);
    BUILDER_TRY(m);
    entries[i] = *m;
  }
  auto page = w.map_pfn(page_pfn);
  BUILDER_TRY(page);
  __builtin_memcpy(*page, entries, n * sizeof(std::uint64_t));
  return kBuildOk;
}

BuildStatus write_p2m(FrameWriter& w, const Layout& l) {
  if (!l.p2m_separate) {
    for (std::uint64_t k = 0; k < l.p2m_data_pages; ++k)
      BUILDER_TRY(write_p2m_page(w, l.p2m_pfn + k, k, l.nr_pages));
    return kBuildOk;
  }
  BuildStatus status;
  std::uint64_t k = 0;
  walk_p2m_area(l, [&](std::uint64_t pfn, unsigned level, std::uint64_t) {
    if (level != 0) return true;
    status = write_p2m_page(w, pfn, k++, l.nr_pages);
    return status.ok();
  });
  return status;
}

BuildStatus write_start_info(FrameWriter& w, const Layout& l, const DomainParams& p,
                             std::uint64_t store_mfn, std::uint64_t console_mfn) {
  pv::start_info si{};
  for (std::size_t i = 0; i < sizeof(pv::XEN_START_INFO_MAGIC_X86_64); ++i)
    si.magic[i] = pv::XEN_START_INFO_MAGIC_X86_64[i];
  si.nr_pages = l.nr_pages;
  si.shared_info = p.shared_info_maddr;
  si.flags = l.si_flags;
  if (l.xenstore_pfn != UNSET_ADDR) {
    si.store_mfn = store_mfn;
    si.store_evtchn = p.store_evtchn;
    si.console.domU.mfn = console_mfn;
    si.console.domU.evtchn = p.console_evtchn;
  } else if (!p.dom0_console_info.empty()) {
    si.console.dom0.info_off = sizeof(pv::start_info);
    si.console.dom0.info_size = static_cast<std::uint32_t>(p.dom0_console_info.size());
  }
  si.pt_base = l.page_tables.start;
  si.nr_pt_frames = l.nr_pt_frames;
  si.mfn_list = l.p2m.start;
  si.mod_start = l.mod_start;
  si.mod_len = l.mod_len;
  std::size_t n = p.cmdline.size() < pv::MAX_GUEST_CMDLINE - 1 ? p.cmdline.size()
                                                                : pv::MAX_GUEST_CMDLINE - 1;
  for (std::size_t i = 0; i < n; ++i) si.cmd_line[i] = static_cast<std::int8_t>(p.cmdline[i]);
  si.first_p2m_pfn = l.first_p2m_pfn;
  si.nr_p2m_frames = l.nr_p2m_frames;
  auto page = w.map_pfn(l.start_info_pfn);
  BUILDER_TRY(page);
  __builtin_memcpy(*page, &si, sizeof(si));
  if (l.xenstore_pfn == UNSET_ADDR && !p.dom0_console_info.empty())
    __builtin_memcpy(*page + sizeof(si), p.dom0_console_info.data(), p.dom0_console_info.size());
  return kBuildOk;
}

// Installs guest mappings by walking from the L4, hooking in each missing table at the
// frame the layout assigned to it (tables were zeroed with the rest of [0, pfns_used)).
class PageTableWriter {
 public:
  PageTableWriter(FrameWriter& w, const Layout& l, std::uint64_t l4_mfn)
      : w_(w), l_(l), l4_mfn_(l4_mfn) {}

  BuildStatus map(std::uint64_t va, std::uint64_t pfn, std::uint64_t l1_flags) {
    if ((va >> 21) != cached_region_) BUILDER_TRY(find_l1(va));
    auto m = w_.mfn(pfn);
    BUILDER_TRY(m);
    return set(l1_mfn_, (va >> 12) & 511, (*m << 12) | l1_flags);
  }

 private:
  static constexpr std::uint64_t kUpper = PTE_P | PTE_RW | PTE_A | PTE_D | PTE_US;

  BuildStatus set(std::uint64_t table_mfn, std::uint64_t index, std::uint64_t value) {
    auto page = w_.map(table_mfn);
    BUILDER_TRY(page);
    __builtin_memcpy(*page + index * 8, &value, 8);
    return kBuildOk;
  }

  BuildStatus find_l1(std::uint64_t va) {
    std::uint64_t table = l4_mfn_;
    for (unsigned level = 4; level >= 2; --level) {
      std::uint64_t index = (va >> table_shift(level - 1)) & 511;
      auto page = w_.map(table);
      BUILDER_TRY(page);
      std::uint64_t e;
      __builtin_memcpy(&e, *page + index * 8, 8);
      if ((e & PTE_P) == 0) {
        std::uint64_t child = find_table_pfn(l_, level - 1, va);
        if (child == UNSET_ADDR)
          return build_fail(BuildError::invalid_argument, "layout has no table for a mapped VA");
        auto child_mfn = w_.mfn(child);
        BUILDER_TRY(child_mfn);
        e = (*child_mfn << 12) | kUpper;
        BUILDER_TRY(set(table, index, e));
      }
      table = (e & PTE_ADDR_MASK) >> 12;
    }
    l1_mfn_ = table;
    cached_region_ = va >> 21;
    return kBuildOk;
  }

  FrameWriter& w_;
  const Layout& l_;
  std::uint64_t l4_mfn_;
  std::uint64_t cached_region_ = ~std::uint64_t{0};
  std::uint64_t l1_mfn_ = 0;
};

BuildStatus write_page_tables(FrameWriter& w, const Layout& l, std::uint64_t l4_mfn) {
  PageTableWriter pt(w, l, l4_mfn);
  const bool dom0 = l.kind == DomainKind::dom0;
  // Xen's dom0 L1_PROT has _PAGE_USER and _PAGE_GUEST_KERNEL; libxenguest uses P|RW|A.
  const std::uint64_t l1 = dom0 ? (PTE_P | PTE_RW | PTE_A | PTE_US | PTE_GUEST_KERNEL)
                                : (PTE_P | PTE_RW | PTE_A);
  for (std::uint64_t va = l.v_start; va < l.v_end; va += kPage) {
    std::uint64_t pfn = (va - l.v_start) >> 12;
    bool table = pfn >= l.pt_pfn && pfn < l.pt_pfn + l.nr_pt_frames;
    BUILDER_TRY(pt.map(va, pfn, table ? (l1 & ~PTE_RW) : l1));
  }
  BuildStatus status;
  walk_p2m_area(l, [&](std::uint64_t pfn, unsigned level, std::uint64_t va) {
    if (level != 0) return true;
    status = pt.map(va, pfn, dom0 ? (l1 | PTE_D) : l1);
    return status.ok();
  });
  return status;
}

BuildStatus fill_hypercall_page(FrameWriter& w, const Layout& l, BuildOutput& out) {
  if (l.hypercall_page == UNSET_ADDR) return kBuildOk;
  out.hypercall_page_pfn = (l.hypercall_page - l.v_start) >> 12;
  auto mfn = w.mfn(out.hypercall_page_pfn);
  BUILDER_TRY(mfn);
  out.hypercall_page_mfn = *mfn;
  auto page = w.map(*mfn);
  BUILDER_TRY(page);
  if (!w.target().fill_hypercall_page(*mfn, *page).ok())
    return target_error("fill_hypercall_page failed");
  return kBuildOk;
}

InitialRegs initial_regs(const Layout& l, std::uint64_t l4_mfn) {
  InitialRegs r;
  r.rip = l.entry;
  r.rsp = l.boot_stack.end;
  r.rsi = l.start_info.start;
  r.rflags = 0x200;  // IF: events stay masked through vcpu_info.evtchn_upcall_mask
  r.cs = pv::FLAT_KERNEL_CS;
  r.ss = pv::FLAT_KERNEL_SS;
  r.ds = r.es = r.fs = r.gs = pv::FLAT_KERNEL_DS;
  if (l.kind == DomainKind::domu) {
    r.kernel_ss = r.ss;
    r.kernel_sp = r.rsp;
  }
  r.cr3_mfn = l4_mfn;
  return r;
}

BuildStatus write_domain(FrameWriter& w, const elf::Image& img, const DomainParams& p,
                         BuildOutput& out) {
  const Layout& l = out.layout;
  BUILDER_TRY(zero_frames(w, 0, l.pfns_used));
  BUILDER_TRY(load_kernel(w, img, out.params, l));
  if (!p.module.empty()) BUILDER_TRY(copy_to_frames(w, l.module_pfn, 0, p.module));
  BUILDER_TRY(write_p2m(w, l));
  std::uint64_t store_mfn = 0, console_mfn = 0;
  if (l.xenstore_pfn != UNSET_ADDR) {
    auto s = w.mfn(l.xenstore_pfn);
    BUILDER_TRY(s);
    auto c = w.mfn(l.console_pfn);
    BUILDER_TRY(c);
    store_mfn = *s;
    console_mfn = *c;
  }
  BUILDER_TRY(write_start_info(w, l, p, store_mfn, console_mfn));
  out.l4_pfn = l.pt_pfn;
  auto l4 = w.mfn(l.pt_pfn);
  BUILDER_TRY(l4);
  out.l4_mfn = *l4;
  BUILDER_TRY(write_page_tables(w, l, out.l4_mfn));
  BUILDER_TRY(fill_hypercall_page(w, l, out));
  out.regs = initial_regs(l, out.l4_mfn);
  return kBuildOk;
}

}  // namespace

namespace detail {

std::uint64_t find_table_pfn(const Layout& l, unsigned level, std::uint64_t va) {
  if (l.kind == DomainKind::domu) {
    const std::uint64_t a = va & kVaMask48;
    for (unsigned m = 0; m < l.n_maps; ++m) {
      const Layout::LevelRun& run = l.maps[m][level - 1];
      if (run.count != 0 && a >= run.from && a <= run.to)
        return run.pfn + ((a - run.from) >> table_shift(level));
    }
    return UNSET_ADDR;
  }
  const std::uint64_t base = va & ~((std::uint64_t{1} << table_shift(level)) - 1);
  std::uint64_t found = UNSET_ADDR;
  auto match = [&](std::uint64_t pfn, unsigned lv, std::uint64_t region) {
    if (lv == level && region == base) found = pfn;
    return found == UNSET_ADDR;
  };
  walk_bootstrap(l, match);
  if (found == UNSET_ADDR) walk_p2m_area(l, match);
  return found;
}

}  // namespace detail

void for_each_page_table(const Layout& layout, PageTableVisitor visit, void* context) {
  auto report = [&](std::uint64_t pfn, unsigned level, std::uint64_t) {
    if (level != 0) visit(context, pfn, level);
    return true;
  };
  walk_bootstrap(layout, report);
  walk_p2m_area(layout, report);
}

BuildResult<BuildOutput> build_domain(const DomainParams& params, BuilderTarget& target) {
  auto image = elf::Image::parse(params.kernel);
  BUILDER_TRY(image);
  auto kernel = parse_kernel_params(*image);
  BUILDER_TRY(kernel);
  auto layout = compute_layout(*kernel, params);
  BUILDER_TRY(layout);
  BuildOutput out;
  out.params = *kernel;
  out.layout = *layout;
  FrameWriter writer(target);
  BUILDER_TRY(write_domain(writer, *image, params, out));
  return out;
}

}  // namespace hv::builder
