// domain_builder: builds the start-of-day memory of an x86-64 PV domain from a kernel ELF
// (with Xen notes), an optional module (initrd) and a command line, exactly as Xen 4.17 lays
// it out (dom0: xen/arch/x86/pv/dom0_build.c; domU: tools/libs/guest xg_dom_core.c and
// xg_dom_x86.c), so that Linux's xen_start_kernel finds what it expects.
//
// Portable: it only writes guest frames through BuilderTarget. The hypervisor (dom0 and
// boot-module domains) and the dom0 toolstack (domUs) both use it. It never types, pins or
// owns frames: the caller gets the list of page-table frames and does that itself.
// Everything about the image is untrusted and checked before any frame is written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include <pv/types.hpp>

#include "builder_error.hpp"
#include "result.hpp"
#include "xen_elfnotes.hpp"

namespace hv::builder {

// Whose layout rules apply: Xen's own dom0 builder, or the toolstack's (libxenguest).
enum class DomainKind : std::uint8_t { dom0, domu };

// The memory of the domain being built; implemented by the caller.
class BuilderTarget {
 public:
  // Machine frame backing guest frame `pfn` (0 <= pfn < nr_pages): the p2m. The caller has
  // allocated (and ideally scrubbed) all nr_pages frames before build_domain().
  virtual Result<std::uint64_t> frame_of_pfn(std::uint64_t pfn) = 0;
  // A writable 4 KiB window on machine frame `mfn`, or nullptr on failure. The builder holds
  // at most one window at a time and releases it with unmap_frame() before the next map.
  virtual void* map_frame(std::uint64_t mfn) = 0;
  virtual void unmap_frame(void* window) { (void)window; }
  // Called with the HYPERCALL_PAGE frame mapped, after the kernel is loaded, when the image
  // has that note. The hypervisor writes its stubs here; a toolstack may do nothing and use
  // XEN_DOMCTL_hypercall_init with BuildOutput::hypercall_page_pfn later.
  virtual Status fill_hypercall_page(std::uint64_t mfn, void* page) {
    (void)mfn;
    (void)page;
    return kOk;
  }

 protected:
  ~BuilderTarget() = default;
};

struct DomainParams {
  DomainKind kind = DomainKind::domu;
  pv::domid_t domid = 0;
  std::uint64_t nr_pages = 0;        // pages of RAM the domain gets (start_info.nr_pages)
  std::uint32_t nr_vcpus = 1;        // informational: only vCPU0 gets an initial state
  std::uint32_t si_flags = 0;        // SIF_PRIVILEGED / SIF_INITDOMAIN as the caller decides
  std::uint32_t pm_bits = 0;         // dom0: Xen's xen_processor_pmbits (PX|CX = 3 by default)
  std::uint64_t shared_info_maddr = 0;  // machine address written to start_info.shared_info
  // Allocate xenstore + console ring pages: domU layout always has them (libxenguest); in the
  // dom0 layout they are placed like Xen's PV-shim does. Ports go to start_info either way.
  bool xenstore_console_pages = true;
  pv::evtchn_port_t store_evtchn = 0;
  pv::evtchn_port_t console_evtchn = 0;
  std::span<const std::uint8_t> kernel{};  // ELF64 image (untrusted)
  std::span<const std::uint8_t> module{};  // initrd; empty for none
  std::string_view cmdline{};              // truncated to 1023 bytes, as Xen does
  // dom0 only: a dom0_vga_console_info record to place after start_info (<= 40 bytes).
  std::span<const std::uint8_t> dom0_console_info{};
};

struct VirtRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  constexpr bool empty() const { return start == end; }
  constexpr bool operator==(const VirtRange&) const = default;
};

// The start-of-day layout. Ranges are the ones Xen prints ("VIRTUAL MEMORY ARRANGEMENT").
// Inside [v_start, v_end) guest frame pfn is mapped at v_start + pfn * 4096.
struct Layout {
  DomainKind kind = DomainKind::domu;
  std::uint64_t nr_pages = 0;
  std::uint64_t v_start = 0, v_end = 0;  // TOTAL: the bootstrap mapping (4 MiB granular)
  VirtRange kernel;       // Loaded kernel: virt_kstart -> virt_kend
  VirtRange module;       // mapped module; empty when unmapped or absent
  VirtRange p2m;          // Phys-Mach map (at INIT_P2M, or inside the mapping)
  VirtRange start_info;   // dom0: includes the dom0_vga_console_info that follows it
  VirtRange xenstore, console;  // empty when not allocated
  VirtRange page_tables;  // bootstrap page tables
  VirtRange boot_stack;
  std::uint64_t entry = 0;
  std::uint64_t hypercall_page = UNSET_ADDR;  // VA, when the image has the note

  // Guest frame numbers.
  std::uint64_t kernel_pfn = 0;
  std::uint64_t module_pfn = 0, module_pages = 0, module_len = 0;
  bool module_unmapped = false;            // passed as a PFN (SIF_MOD_START_PFN)
  bool p2m_separate = false;               // INIT_P2M honoured: own mapping and tables
  std::uint64_t p2m_pfn = 0;               // p2m inside the mapping: its first frame
  std::uint64_t p2m_data_pages = 0;        // frames holding p2m entries
  std::uint64_t start_info_pfn = 0;
  std::uint64_t xenstore_pfn = UNSET_ADDR, console_pfn = UNSET_ADDR;
  std::uint64_t pt_pfn = 0, nr_pt_frames = 0;
  std::uint64_t stack_pfn = 0;
  std::uint64_t chunk_pages = 0;           // dom0: Xen's first allocation (1 << order)
  std::uint64_t p2m_area_pfn = 0, p2m_area_frames = 0;  // separate p2m: data + its tables
  std::uint64_t pfns_used = 0;             // the builder writes (or zeroes) [0, pfns_used)

  // start_info values.
  std::uint32_t si_flags = 0;
  std::uint64_t mod_start = 0, mod_len = 0;
  std::uint64_t first_p2m_pfn = 0, nr_p2m_frames = 0;

  // domU only: libxenguest's per-mapping, per-level table runs (index 0 = L1 .. 3 = L4),
  // in 48-bit masked VA space. Mapping 0 = bootstrap, 1 = INIT_P2M.
  struct LevelRun {
    std::uint64_t from = 0, to = 0;  // inclusive VA span covered by the tables
    std::uint64_t pfn = 0, count = 0;
  };
  LevelRun maps[2][4] = {};
  unsigned n_maps = 0;
};

// Initial vCPU0 state (Xen's dom0 regs / libxenguest's vcpu_x86_64).
struct InitialRegs {
  std::uint64_t rip = 0, rsp = 0, rsi = 0;
  std::uint64_t rflags = 0x200;
  std::uint16_t cs = 0, ss = 0, ds = 0, es = 0, fs = 0, gs = 0;
  std::uint16_t kernel_ss = 0;   // domU: = ss; dom0: Xen leaves 0
  std::uint64_t kernel_sp = 0;   // domU: = rsp; dom0: Xen leaves 0
  std::uint64_t cr3_mfn = 0;     // bootstrap L4 (pin it, then load it)
  std::uint64_t dr6 = 0xffff0ff0, dr7 = 0x400;
};

struct BuildOutput {
  KernelParams params;
  Layout layout;
  InitialRegs regs;
  std::uint64_t l4_pfn = 0, l4_mfn = 0;
  std::uint64_t hypercall_page_pfn = UNSET_ADDR, hypercall_page_mfn = UNSET_ADDR;
};

// Page-table levels as reported to the caller: 1 = L1 ... 4 = L4.
using PageTableVisitor = void (*)(void* context, std::uint64_t pfn, unsigned level);

// Parses the kernel and computes the layout; writes nothing. Every address and size is
// validated here (overflow, canonical form, hypervisor hole, fits in nr_pages).
BuildResult<Layout> compute_layout(const KernelParams& kernel, const DomainParams& params);

// The whole build: parse, lay out, then write kernel, module, p2m, start_info and page
// tables into the target. On failure some frames may have been written, never outside
// [0, pfns_used) of the domain's own frames.
BuildResult<BuildOutput> build_domain(const DomainParams& params, BuilderTarget& target);

// Every page-table frame of the layout (bootstrap and INIT_P2M tables), in pfn order, with
// its level. The caller types them (L4 pinned) through its frame table.
void for_each_page_table(const Layout& layout, PageTableVisitor visit, void* context);

template <typename F>
void for_each_page_table(const Layout& layout, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  for_each_page_table(
      layout,
      [](void* ctx, std::uint64_t pfn, unsigned level) { (*static_cast<Fn*>(ctx))(pfn, level); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace hv::builder
