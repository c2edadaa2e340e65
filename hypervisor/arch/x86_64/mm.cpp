// mm (arch): the memory-management core wired to the machine. TLB shootdowns go to the pCPUs
// that may cache a domain's translations: those whose current vCPU belongs to it. An idle CPU
// runs on the idle tables (idle_loop loads them) and a switch to another domain reloads CR3;
// the hypervisor leaves CR4.PGE off, so such a reload drops every guest translation.
#include "mm.hpp"

#include <new>
#include <pv/arch_x86_64.hpp>

#include "core/descriptors.hpp"
#include "core/hypercall.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "guest_memory.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "ipi.hpp"
#include "m2p.hpp"
#include "memory.hpp"
#include "percpu.hpp"
#include "smp.hpp"
#include "state.hpp"

namespace hv::x86 {
namespace {

void flush_cpu_tlb() { asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory"); }
void invlpg(std::uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

class DirectMapFrames final : public MachineMemory {
 public:
  std::uint64_t* frame(Mfn mfn) override { return static_cast<std::uint64_t*>(phys_to_virt(mfn << 12)); }
};

// The pCPUs whose current vCPU belongs to `domid` (and, with `only`, is one of those vCPUs),
// plus this one (whose own flush is cheap and covers a caller about to run that domain).
// kFlushAnyDomain: every pCPU that runs a vCPU at all.
std::uint64_t cpus_running(pv::domid_t domid, const VcpuSet* only) {
  // The entry writes before must be visible before `current` is read: a CPU that switches a
  // vCPU in after this read walks the new entries (set_current is sequentially consistent).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::uint64_t mask = std::uint64_t{1} << this_cpu();
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu) {
    const Vcpu* v = cpu_online(cpu) ? current_of(cpu) : nullptr;
    if (v != nullptr && (domid == kFlushAnyDomain || v->domain().id() == domid) &&
        (only == nullptr || only->test(v->id())))
      mask |= std::uint64_t{1} << cpu;
  }
  return mask;
}

class SmpTlb final : public TlbFlusher {
 public:
  void flush_local() override { flush_cpu_tlb(); }
  void invlpg_local(std::uint64_t va) override { invlpg(va); }
  void flush_tlb(pv::domid_t domid, const VcpuSet* vcpus, std::uint64_t va) override {
    flush_tlb_cpus(cpus_running(domid, vcpus), va == kFlushAllVas ? kFlushAll : va);
  }
  // Caches are coherent between pCPUs: writing back this one's is what a guest's
  // MMUEXT_FLUSH_CACHE (device DMA) needs on the machines we run on.
  void flush_cache_all() override { asm volatile("wbinvd" ::: "memory"); }
};

class MachineM2P final : public M2PTable {
 public:
  void set(Mfn mfn, std::uint64_t pfn) override { m2p_set(mfn, pfn); }
};

class HypervisorSlots final : public XenL4Slots {
 public:
  void init_xen_l4_slots(std::uint64_t* l4, Mfn, pv::domid_t, bool ro_mpt) override {
    const auto* live = static_cast<const std::uint64_t*>(phys_to_virt(read_cr3() & ~0xFFFull));
    constexpr unsigned kRoMptSlot = (pv::MACH2PHYS_VIRT_START >> 39) & 511;
    for (unsigned slot = 256; slot < 272; ++slot) l4[slot] = live[slot];
    l4[kRoMptSlot] = ro_mpt ? m2p_l4_entry() : 0;
  }
  std::uint64_t ro_mpt_l4e() const override { return m2p_l4_entry(); }
};

// Xen's vcpumask_to_pcpumask reads one unsigned long per 64 of the domain's vCPUs: with at
// most Domain::kMaxVcpus that is one word (a mask at the end of a page must not fault).
class GuestVcpuMask final : public VcpuMaskReader {
 public:
  Status read(std::uint64_t guest_va, VcpuSet& out) override {
    static_assert(Domain::kMaxVcpus <= 64);
    CurrentGuestMemory memory;
    out = VcpuSet{};
    return memory.copy_from_guest(out.words.data(), guest_va, sizeof out.words[0]);
  }
};

struct MmState {
  FrameTable frames;
  DirectMapFrames memory;
  SmpTlb tlb;
  MachineM2P m2p;
  HypervisorSlots slots;
  GuestVcpuMask vcpumask;
};
constinit MmState mm;
// Built in mm_init (they hold references to the objects above).
alignas(PageTableValidator) unsigned char validator_storage[sizeof(PageTableValidator)];
alignas(MmOps) unsigned char ops_storage[sizeof(MmOps)];
constinit std::uint64_t idle_cr3 = 0;  // the boot page tables: no guest mappings

}  // namespace

FrameTable& frame_table() { return mm.frames; }
MmOps& mm_ops() { return *reinterpret_cast<MmOps*>(ops_storage); }

void mm_init(const MemoryMap& map) {
  FrameAllocator& alloc = frame_allocator();
  const std::uint64_t nr_frames = alloc.covered_frames();
  const std::uint64_t bytes = nr_frames * sizeof(PageInfo);
  unsigned order = 0;
  while ((std::uint64_t{4096} << order) < bytes) ++order;
  Result<Mfn> block = alloc.alloc(order);
  if (!block) HV_PANIC("no memory for the frame table (%lu bytes)", bytes);
  idle_cr3 = read_cr3();
  auto* pages = static_cast<PageInfo*>(phys_to_virt(*block << 12));
  __builtin_memset(pages, 0, bytes);
  mm.frames.init(std::span<PageInfo>(pages, nr_frames), alloc, map);
  auto* validator = new (validator_storage) PageTableValidator(mm.frames, mm.memory, mm.tlb, mm.slots);
  mm.frames.set_hooks(validator);
  mm.frames.set_m2p(&mm.m2p);
  validator->set_segdesc_check(check_segdesc_page);
  state().mm = new (ops_storage) MmOps(MmContext{mm.frames, *validator, mm.memory, mm.tlb, mm.m2p, mm.slots, mm.vcpumask});
  for (std::uint64_t i = 0; i < m2p_frames(); ++i) mm.frames.share_xen_frame(m2p_first_mfn() + i, pv::DOMID_XEN, false);
  HV_INFO(mm, "frame table: %lu frames, %lu KiB of descriptors", nr_frames, bytes >> 10);
}

}  // namespace hv::x86

namespace hv::x86 {

void load_idle_root() {
  // (Before mm_init only self-tests run, on tables of their own that are never freed.)
  if (idle_cr3 != 0) asm volatile("mov %0, %%cr3" ::"r"(idle_cr3) : "memory");
}

void relinquish_domain(Domain& domain, std::uint64_t free_frames_before) {
  load_idle_root();  // never run on tables being freed
  LockGuard domain_guard(domain.lock);
  LockGuard memory_guard(mm_ops().lock());
  StaticVector<VcpuMm, Domain::kMaxVcpus> vcpus;
  for (unsigned i = 0; i < domain.vcpu_count(); ++i) {
    destroy_gdt(domain.vcpu(i)->pv, frame_table());
    release_vcpu_info(*domain.vcpu(i), frame_table());
  }
  for (unsigned i = 0; i < domain.vcpu_count(); ++i) (void)vcpus.push_back(domain.vcpu(i)->mm);
  domain.memory.dying = true;
  mm_ops().relinquish(domain.memory, std::span<VcpuMm>(vcpus.begin(), vcpus.size()));
  for (unsigned i = 0; i < domain.vcpu_count(); ++i) domain.vcpu(i)->mm = vcpus[i];
  const std::uint64_t free_now = frame_allocator().free_frames();
  if (domain.memory.tot_pages == 0 && free_now == free_frames_before)
    HV_INFO(mm, "d%u destroyed: all its frames are free again (%lu free), no frame leaked", domain.id(), free_now);
  else
    HV_ERROR(mm, "d%u destroyed with %lu pages still owned; %lu frames free, %lu before it was built",
             domain.id(), domain.memory.tot_pages, free_now, free_frames_before);
  frame_table().detach_domain(domain.memory);
}

}  // namespace hv::x86
