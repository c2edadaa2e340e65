// boot_domains: dom0 and boot-module domains from one build path. Memory comes from the buddy
// allocator in the largest blocks available (Xen's dom0 builder does the same), the portable
// builder writes the start-of-day layout (dom0's, or libxenguest's for domUs) through the
// direct map, and the start-of-day L4 is pinned and validated like any guest table before the
// vCPU runs. Domains live in a static pool: slot N holds domid N.
#include "boot_domains.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>

#include "context.hpp"
#include "format.hpp"
#include "core/boot_domain_config.hpp"
#include "core/domain_builder.hpp"
#include "core/event_channel.hpp"
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

constexpr std::uint64_t kDefaultDom0Bytes = std::uint64_t{64} << 20;
constexpr std::size_t kPoolSize = BootModulePlan::kMaxDomains;

// The domain's memory as runs of machine-contiguous frames, in pfn order.
struct FrameRun {
  std::uint64_t first_pfn, mfn, count;
};

class DomainFrames final : public builder::BuilderTarget {
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
      // A full run list leaves the block owned by the domain: teardown frees it.
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
  void record_m2p() const {
    for (const FrameRun& r : runs_)
      for (std::uint64_t i = 0; i < r.count; ++i) m2p_set(r.mfn + i, r.first_pfn + i);
  }

 private:
  StaticVector<FrameRun, 512> runs_;
};

struct DomainSlot {
  constexpr DomainSlot(pv::domid_t id)
      : domain(id, id == 0),
        vcpus{{domain, 0}, {domain, 1}, {domain, 2}, {domain, 3}, {domain, 4}, {domain, 5}, {domain, 6}, {domain, 7}} {}
  Domain domain;
  Vcpu vcpus[Domain::kMaxVcpus];  // the first `vcpus` of the build request are the domain's
  DomainFrames frames;
  Mfn shared_info = 0;
  EventChannels events;  // the domain's ports (32 KiB: the 2-level maximum)
  std::uint64_t free_frames_before = 0;  // the allocator's count before its frames were taken
  bool built = false;
};

constinit DomainSlot pool[kPoolSize] = {0, 1, 2, 3, 4, 5, 6, 7};
static_assert(kPoolSize == 8 && Domain::kMaxVcpus == 8, "the pool initializers list every domid and vCPU id");
constinit std::size_t build_order[kPoolSize] = {};  // domids in the order they were built
constinit std::size_t built_count = 0;

// What one build needs besides the slot; `label` is how the log names the domain.
struct BuildRequest {
  const BootDomainPlan& plan;
  std::uint64_t nr_pages;
  std::string_view cmdline;
  bool console_io;
  unsigned vcpus;  // 1..Domain::kMaxVcpus
  char label[48];
};

const std::uint8_t* module_bytes(const BootModule& m) {
  if (m.base + m.size > HV_BOOT_DIRECTMAP_SIZE) HV_PANIC("boot module above 4 GiB");
  return static_cast<const std::uint8_t*>(phys_to_virt(m.base));
}

void log_layout(const char* label, const builder::Layout& l) {
  HV_INFO(boot, "%s: Loaded kernel: %016lx->%016lx", label, l.kernel.start, l.kernel.end);
  HV_INFO(boot, "%s: Init. ramdisk: %016lx->%016lx", label, l.module.start, l.module.end);
  HV_INFO(boot, "%s: Phys-Mach map: %016lx->%016lx", label, l.p2m.start, l.p2m.end);
  HV_INFO(boot, "%s: Start info:    %016lx->%016lx", label, l.start_info.start, l.start_info.end);
  if (!l.xenstore.empty())
    HV_INFO(boot, "%s: Xenstore/cons: %016lx->%016lx", label, l.xenstore.start, l.console.end);
  HV_INFO(boot, "%s: Page tables:   %016lx->%016lx", label, l.page_tables.start, l.page_tables.end);
  HV_INFO(boot, "%s: Boot stack:    %016lx->%016lx", label, l.boot_stack.start, l.boot_stack.end);
  HV_INFO(boot, "%s: TOTAL:         %016lx->%016lx", label, l.v_start, l.v_end);
  HV_INFO(boot, "%s: ENTRY ADDRESS: %016lx", label, l.entry);
}

builder::DomainParams params_for(const DomainSlot& slot, const BuildRequest& req, const BootInfo& boot) {
  const bool dom0 = slot.domain.privileged();
  builder::DomainParams p;
  p.kind = dom0 ? builder::DomainKind::dom0 : builder::DomainKind::domu;
  p.domid = slot.domain.id();
  p.nr_pages = req.nr_pages;
  // dom0 as Xen's dom0 builder fills start_info; a domU as libxenguest does (flags 0, the
  // console and xenstore pages in its layout, event channels 0 until they exist).
  p.si_flags = dom0 ? pv::SIF_PRIVILEGED | pv::SIF_INITDOMAIN : 0;
  p.pm_bits = dom0 ? 3 : 0;
  p.shared_info_maddr = slot.shared_info << 12;
  p.xenstore_console_pages = !dom0;
  const BootModule& kernel = boot.modules[req.plan.kernel_module];
  p.kernel = std::span<const std::uint8_t>(module_bytes(kernel), kernel.size);
  if (req.plan.initrd_module != BootDomainPlan::kNoModule) {
    const BootModule& initrd = boot.modules[req.plan.initrd_module];
    p.module = std::span<const std::uint8_t>(module_bytes(initrd), initrd.size);
  }
  p.cmdline = req.cmdline;
  return p;
}

// vCPU 0 and the others, which exist offline and uninitialised until the guest brings them
// up (VCPUOP_initialise, VCPUOP_up), as Xen creates a PV domain's vCPUs.
void add_vcpus(DomainSlot& slot, const BuildRequest& req) {
  for (unsigned id = 0; id < req.vcpus; ++id) {
    Vcpu& v = slot.vcpus[id];
    HV_ASSERT(slot.domain.add_vcpu(v));
    if (!arch_vcpu_init(v)) HV_PANIC("%s: no arch vCPU slot left", req.label);
  }
}

// Gives back a domain that was partly built (or ran and stopped), with the leak check.
void tear_down(DomainSlot& slot) { relinquish_domain(slot.domain, slot.free_frames_before); }

// Builds one domain into its slot; false (after giving its memory back) when it cannot.
bool build(DomainSlot& slot, const BuildRequest& req, const BootInfo& boot) {
  Domain& d = slot.domain;
  const char* label = req.label;
  slot.free_frames_before = frame_allocator().free_frames();
  d.memory.max_pages = req.nr_pages;
  if (!frame_table().attach_domain(d.memory)) HV_PANIC("%s: frame table full", label);
  if (Status s = slot.frames.allocate(d.memory, req.nr_pages); !s) {
    HV_ERROR(boot, "%s: out of memory for %lu pages (%d)", label, req.nr_pages, s.code());
    tear_down(slot);
    return false;
  }
  auto* si = static_cast<pv::shared_info*>(phys_to_virt(slot.shared_info << 12));
  for (pv::vcpu_info& info : si->vcpu_info) info.evtchn_upcall_mask = 1;  // masked, as Xen does

  auto built = builder::build_domain(params_for(slot, req, boot), slot.frames);
  if (!built) {
    HV_ERROR(boot, "%s: cannot build the domain: %s: %s", label, builder::build_error_name(built.error()),
             built.status().reason());
    tear_down(slot);
    return false;
  }
  log_layout(label, built->layout);
  slot.frames.record_m2p();

  const builder::InitialRegs& r = built->regs;
  Vcpu& v = slot.vcpus[0];
  // Type and pin the start-of-day tables exactly as MMUEXT_PIN_L4_TABLE would (validating
  // every entry, installing our L4 slots), then make the L4 vCPU0's root.
  Status s = mm_ops().pin_table(d.memory, r.cr3_mfn, 4);
  if (s) s = mm_ops().set_initial_root(MmCaller{d.memory, v.mm}, r.cr3_mfn);
  if (!s) {
    HV_ERROR(boot, "%s: its initial page tables do not validate (%d)", label, s.code());
    tear_down(slot);
    return false;
  }
  d.console_io_allowed = req.console_io;
  // dom0's I/O ports as Xen grants them (ACPI PM timer not yet known here: left granted).
  if (d.privileged() && !grant_hardware_domain_ports(d.io_ports, 0, 0x3f8))
    HV_PANIC("%s: cannot record its I/O port permissions", label);
  d.shared_info = si;
  slot.events.init(d.privileged() ? EventChannels::kDom0MaxPort : EventChannels::kDomUMaxPort);
  d.events = &slot.events;
  publish_domain_wallclock(d);
  add_vcpus(slot, req);
  HV_ASSERT(state().domains.add(d));
  v.regs.rip = r.rip;
  v.regs.rsp = r.rsp;
  v.regs.rsi = r.rsi;
  v.regs.rflags = r.rflags;
  v.regs.cs = r.cs;
  v.regs.ss = r.ss;
  // libxenguest's vCPU context names the kernel stack (Xen's dom0 builder leaves it 0).
  v.pv.kernel_ss = r.kernel_ss;
  v.pv.kernel_sp = r.kernel_sp;
  v.pv.ds = r.ds;  // FLAT_KERNEL_DS (null for 64-bit guests), as Xen's builders set them
  v.pv.es = r.es;
  v.pv.fs = r.fs;
  v.pv.gs = r.gs;
  v.initialised = true;
  v.state = VcpuState::runnable;
  slot.built = true;
  build_order[built_count++] = d.id();
  return true;
}

// Its name and credit-scheduler parameters (dom0 keeps Xen's defaults).
void configure_domain(Domain& d, const BootDomainConfig& config) {
  const char* from = d.privileged() ? "Domain-0" : config.name;
  for (std::size_t i = 0; i + 1 < sizeof d.name && from[i] != 0; ++i) d.name[i] = from[i];
  d.sched.weight = config.weight;
  d.sched.cap = config.cap;
}

// Its vCPUs' hard affinity: a domU's cpus=, and for dom0 Xen's dom0_vcpus_pin (vCPU n on
// pCPU n). A mask naming no online pCPU is refused by the scheduler and leaves the vCPU free
// to run anywhere, with a warning.
void pin_vcpus(Domain& d, const BootDomainConfig& config, bool dom0_vcpus_pin) {
  for (unsigned i = 0; i < d.vcpu_count(); ++i) {
    const std::uint64_t mask = d.privileged() ? (dom0_vcpus_pin ? std::uint64_t{1} << i : ~std::uint64_t{0})
                                              : config.cpu_affinity;
    if (mask != ~std::uint64_t{0} && state().scheduler.set_affinity(*d.vcpu(i), mask) != 0)
      HV_WARN(boot, "d%uv%u: its pCPU mask %#lx names no online pCPU: it runs anywhere", d.id(), i, mask);
  }
}

// Xen's dom0_max_vcpus=N (its min-max range form is not supported): default 1 for now,
// clamped to 1..Domain::kMaxVcpus with a warning.
unsigned dom0_vcpus(const Cmdline& cmdline) {
  const std::uint64_t asked = cmdline.number("dom0_max_vcpus").value_or(1);
  const std::uint64_t n = asked < 1 ? 1 : asked > Domain::kMaxVcpus ? Domain::kMaxVcpus : asked;
  if (n != asked) HV_WARN(boot, "dom0_max_vcpus=%lu: using %lu (1 to %u)", asked, n, Domain::kMaxVcpus);
  return static_cast<unsigned>(n);
}

void report_plan(const BootModulePlan& plan) {
  for (const UnusedBootModule& u : plan.unused)
    HV_WARN(boot, "module %zu: ignored: %s", u.module, u.reason);
  for (const BootDomainPlan& p : plan.domains) {
    if (!p.error) continue;
    HV_ERROR(boot, "module %zu: d%u not started: setting '%.*s': %s (syntax: domain [name=NAME] "
             "[mem=SIZE[K|M|G]] [console_io] [vcpus=N] [-- guest command line])",
             p.kernel_module, p.domid, static_cast<int>(p.error.field.size()), p.error.field.data(),
             p.error.reason);
  }
}

}  // namespace

void destroy_boot_domains() {
  while (built_count > 0) {
    DomainSlot& slot = pool[build_order[--built_count]];
    // Ports first, while every peer can still be found: theirs go back to unbound.
    EventChannelOps(state().domains).destroy(slot.domain);
    slot.domain.events = nullptr;
    state().domains.remove(slot.domain);
    tear_down(slot);
    slot.built = false;
  }
}

void start_boot_domains(const BootInfo& boot, const Cmdline& cmdline) {
  std::string_view cmdlines[BootInfo::kMaxModules];
  for (std::size_t i = 0; i < boot.modules.size(); ++i) cmdlines[i] = boot.modules[i].cmdline;
  const BootModulePlan plan = plan_boot_modules(std::span(cmdlines, boot.modules.size()));
  report_plan(plan);
  const bool console_io_domu = cmdline.flag("console_io_domu");
  if (console_io_domu) HV_WARN(boot, "console_io_domu: every boot-module domain may write through console_io");
  // Every shared_info frame comes first: they stay hypervisor frames, so each domain's
  // free-frame count (the no-leak check) only ever covers its own memory.
  for (const BootDomainPlan& p : plan.domains) {
    if (p.error) continue;
    pool[p.domid].shared_info = alloc_zeroed_frame();
    frame_table().share_xen_frame(pool[p.domid].shared_info, p.domid, true);  // the domain maps it writable
  }
  for (const BootDomainPlan& p : plan.domains) {
    if (p.error) continue;
    DomainSlot& slot = pool[p.domid];
    const BootModule& kernel = boot.modules[p.kernel_module];
    BuildRequest req{p, 0, {}, false, 1, {}};
    if (p.domid == 0) {
      req.nr_pages = cmdline.number("dom0_mem").value_or(kDefaultDom0Bytes) / 4096;
      req.vcpus = dom0_vcpus(cmdline);
      req.cmdline = kernel.cmdline;
      req.console_io = true;
      mx::format(req.label, sizeof req.label, "d0");
      HV_INFO(boot, "*** Building a PV dom0: kernel %lu bytes, %lu pages, %u vCPUs, cmdline \"%s\"",
              kernel.size, req.nr_pages, req.vcpus, kernel.cmdline);
    } else {
      req.nr_pages = p.config.memory_bytes / 4096;
      req.cmdline = p.config.guest_cmdline;
      req.console_io = p.config.console_io || console_io_domu;
      req.vcpus = p.config.vcpus;
      mx::format(req.label, sizeof req.label, "d%u", p.domid);
      HV_INFO(boot, "*** Building PV domain d%u%s%s from module %zu: kernel %lu bytes, %lu pages, "
              "%u vCPUs, console_io %s, cmdline \"%.*s\"", p.domid, p.config.name[0] ? " " : "", p.config.name,
              p.kernel_module, kernel.size, req.nr_pages, req.vcpus, req.console_io ? "allowed" : "denied",
              static_cast<int>(req.cmdline.size()), req.cmdline.data());
      if (p.initrd_module != BootDomainPlan::kNoModule)
        HV_INFO(boot, "d%u: initrd from module %zu", p.domid, p.initrd_module);
    }
    configure_domain(slot.domain, p.config);
    const bool built = build(slot, req, boot);
    if (built) pin_vcpus(slot.domain, p.config, cmdline.flag("dom0_vcpus_pin"));
    if (!built) {
      if (p.domid == 0) HV_PANIC("Could not set up DOM0 guest OS");
      HV_ERROR(boot, "module %zu: d%u not started (see above); the other domains run", p.kernel_module, p.domid);
    }
  }
  start_scheduling();
}

}  // namespace hv::x86
