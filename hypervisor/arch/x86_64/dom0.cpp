// dom0: memory for dom0 comes from the buddy allocator in the largest blocks available
// (Xen's dom0 builder does the same), the builder writes its start-of-day layout through the
// direct map, and the hypervisor's own L4 slots are installed in its L4 before it runs.
#include "dom0.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>

#include "context.hpp"
#include "core/domain_builder.hpp"
#include "core/hypercall_page.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "m2p.hpp"
#include "memory.hpp"
#include "mm.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"
#include "time.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kDefaultDom0Pages = (64u << 20) / 4096;

// The domain's memory as runs of machine-contiguous frames, in pfn order.
struct FrameRun {
  std::uint64_t first_pfn, mfn, count;
};

class Dom0Memory final : public builder::BuilderTarget {
 public:
  Status allocate(DomainMemory& owner, std::uint64_t nr_pages) {
    FrameTable& ft = frame_table();
    std::uint64_t pfn = 0;
    unsigned order = FrameAllocator::kMaxOrder;
    while (pfn < nr_pages) {
      while (order > 0 && (std::uint64_t{1} << order) > nr_pages - pfn) --order;
      Result<Mfn> block = ft.alloc_domain_frames(owner, order);
      if (!block) {
        if (order == 0) return block.status();
        --order;
        continue;
      }
      if (!runs_.push_back({pfn, *block, std::uint64_t{1} << order})) return Status::error(-pv::XEN_ENOMEM);
      pfn += std::uint64_t{1} << order;
    }
    return kOk;
  }

  Result<std::uint64_t> frame_of_pfn(std::uint64_t pfn) override {
    for (const FrameRun& r : runs_)
      if (pfn >= r.first_pfn && pfn < r.first_pfn + r.count) return r.mfn + (pfn - r.first_pfn);
    return Status::error(-pv::XEN_EINVAL);
  }
  void* map_frame(std::uint64_t mfn) override {
    return mfn < (HV_BOOT_DIRECTMAP_SIZE >> 12) ? phys_to_virt(mfn << 12) : nullptr;
  }
  Status fill_hypercall_page(std::uint64_t, void* page) override {
    write_hypercall_page(*static_cast<std::uint8_t(*)[4096]>(page));
    return kOk;
  }

 private:
  StaticVector<FrameRun, 64> runs_;
};

constinit Dom0Memory dom0_memory;
constinit Domain dom0{0, true};
constinit Vcpu dom0_vcpu0{dom0, 0};
constinit std::uint64_t dom0_free_frames_before = 0;

const std::uint8_t* module_bytes(const BootModule& m) {
  if (m.base + m.size > HV_BOOT_DIRECTMAP_SIZE) HV_PANIC("boot module above 4 GiB");
  return static_cast<const std::uint8_t*>(phys_to_virt(m.base));
}

}  // namespace

void destroy_dom0() {
  if (frame_table().domain(0) == &dom0.memory) relinquish_domain(dom0, dom0_free_frames_before);
}

void start_dom0(const BootInfo& boot, const Cmdline& cmdline) {
  const BootModule& kernel = boot.modules[0];
  std::uint64_t nr_pages = cmdline.number("dom0_mem").value_or(kDefaultDom0Pages * 4096) / 4096;
  HV_INFO(boot, "*** Building a PV dom0: kernel %lu bytes, %lu pages, cmdline \"%s\"", kernel.size,
          nr_pages, kernel.cmdline);
  Mfn shared_info = alloc_zeroed_frame();
  frame_table().share_xen_frame(shared_info, 0, true);  // dom0 maps it writable
  dom0_free_frames_before = frame_allocator().free_frames();
  dom0.memory.max_pages = nr_pages;
  if (!frame_table().attach_domain(dom0.memory)) HV_PANIC("dom0: frame table full");
  if (Status s = dom0_memory.allocate(dom0.memory, nr_pages); !s)
    HV_PANIC("dom0: out of memory for %lu pages (%d)", nr_pages, s.code());
  auto* si = static_cast<pv::shared_info*>(phys_to_virt(shared_info << 12));
  si->vcpu_info[0].evtchn_upcall_mask = 1;  // events start masked, as Xen does

  builder::DomainParams params;
  params.kind = builder::DomainKind::dom0;
  params.domid = 0;
  params.nr_pages = nr_pages;
  params.si_flags = pv::SIF_PRIVILEGED | pv::SIF_INITDOMAIN;
  params.pm_bits = 3;
  params.shared_info_maddr = shared_info << 12;
  params.xenstore_console_pages = false;
  params.kernel = std::span<const std::uint8_t>(module_bytes(kernel), kernel.size);
  if (boot.modules.size() > 1)
    params.module = std::span<const std::uint8_t>(module_bytes(boot.modules[1]), boot.modules[1].size);
  params.cmdline = kernel.cmdline;

  auto built = builder::build_domain(params, dom0_memory);
  if (!built) HV_PANIC("Could not set up DOM0 guest OS: %s: %s", builder::build_error_name(built.error()),
             built.status().reason());
  const builder::Layout& l = built->layout;
  HV_INFO(boot, " Loaded kernel: %016lx->%016lx", l.kernel.start, l.kernel.end);
  HV_INFO(boot, " Phys-Mach map: %016lx->%016lx", l.p2m.start, l.p2m.end);
  HV_INFO(boot, " Start info:    %016lx->%016lx", l.start_info.start, l.start_info.end);
  HV_INFO(boot, " Page tables:   %016lx->%016lx", l.page_tables.start, l.page_tables.end);
  HV_INFO(boot, " Boot stack:    %016lx->%016lx", l.boot_stack.start, l.boot_stack.end);
  HV_INFO(boot, " TOTAL:         %016lx->%016lx", l.v_start, l.v_end);
  HV_INFO(boot, " ENTRY ADDRESS: %016lx", l.entry);

  for (std::uint64_t pfn = 0; pfn < nr_pages; ++pfn) m2p_set(*dom0_memory.frame_of_pfn(pfn), pfn);

  const builder::InitialRegs& r = built->regs;
  // Type and pin the start-of-day tables exactly as MMUEXT_PIN_L4_TABLE would (validating
  // every entry, installing our L4 slots), then make the L4 vCPU0's root.
  if (Status s = mm_ops().pin_table(dom0.memory, r.cr3_mfn, 4); !s)
    HV_PANIC("dom0: its initial page tables do not validate (%d)", s.code());
  if (Status s = mm_ops().set_initial_root(MmCaller{dom0.memory, dom0_vcpu0.mm}, r.cr3_mfn); !s)
    HV_PANIC("dom0: cannot load its initial L4 (%d)", s.code());
  dom0.console_io_allowed = true;
  dom0.shared_info = si;
  publish_domain_wallclock(dom0);
  HV_ASSERT(dom0.add_vcpu(dom0_vcpu0));
  HV_ASSERT(arch_vcpu_init(dom0_vcpu0));
  HV_ASSERT(state().domains.add(dom0));
  dom0_vcpu0.regs.rip = r.rip;
  dom0_vcpu0.regs.rsp = r.rsp;
  dom0_vcpu0.regs.rsi = r.rsi;
  dom0_vcpu0.regs.rflags = r.rflags;
  dom0_vcpu0.regs.cs = r.cs;
  dom0_vcpu0.regs.ss = r.ss;
  dom0_vcpu0.state = VcpuState::runnable;
  run_vcpu(dom0_vcpu0);
}

}  // namespace hv::x86
