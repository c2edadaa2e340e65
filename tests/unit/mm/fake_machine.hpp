// fake_machine: a hosted machine for the PV memory-management core: 1024 frames of RAM in a
// vector, the low 1 MiB and a "hypervisor image" reserved, M2P frames shared read-only by
// DOMID_XEN, counting TLB fakes and three domains (dom0 privileged, d1 and d2 not).
// Shared by the unit tests and the fuzz target; it must never hide a core bug by fixing state.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/frame_allocator.hpp"
#include "core/frame_table.hpp"
#include "core/mm_ops.hpp"
#include "core/mm_platform.hpp"
#include "core/page_type.hpp"
#include "core/pte.hpp"

namespace mmtest {

using hv::Mfn;
using hv::pte::Pte;

inline constexpr Mfn kFrames = 1024;  // 4 MiB: [0, 256) MMIO, [256, 512) hypervisor, rest RAM
inline constexpr Mfn kXenImageFirst = 256;  // [256, 512): hypervisor-private frames
inline constexpr Mfn kXenImageEnd = 512;
inline constexpr Mfn kM2pFirst = 300;       // shared read-only with DOMID_XEN
inline constexpr Mfn kM2pFrames = 4;
inline constexpr Mfn kXenSlotFrame = 400;   // what our fake Xen L4 slots point at
inline constexpr Pte kXenSlotFlags = hv::pte::kPresent | hv::pte::kRw | hv::pte::kAccessed;

// Expected content of hypervisor slot `slot` of a validated L4 (slot 256 may also be empty).
constexpr Pte xen_slot_value(unsigned slot) {
  return hv::pte::make(kXenSlotFrame + (slot - hv::pte::kFirstXenSlot), kXenSlotFlags);
}

class FakeMachine final : public hv::MachineMemory,
                          public hv::TlbFlusher,
                          public hv::M2PTable,
                          public hv::XenL4Slots,
                          public hv::VcpuMaskReader {
 public:
  FakeMachine();
  FakeMachine(const FakeMachine&) = delete;
  // Back to the freshly built state (cheaply: only frames written since are cleared), so a
  // fuzz input behaves the same whether it runs first or after thousands of others.
  void reset();
  FakeMachine& operator=(const FakeMachine&) = delete;

  // MachineMemory / TlbFlusher / M2PTable / XenL4Slots / VcpuMaskReader
  std::uint64_t* frame(Mfn mfn) override;
  void flush_local() override { ++flush_local_count; }
  void invlpg_local(std::uint64_t) override { ++invlpg_local_count; }
  void flush_tlb(pv::domid_t, const hv::VcpuSet* vcpus, std::uint64_t va) override {
    const bool all = va == hv::kFlushAllVas;
    ++(vcpus != nullptr ? (all ? flush_multi_count : invlpg_multi_count)
                        : (all ? flush_domain_count : invlpg_domain_count));
  }
  void flush_cache_all() override { ++cache_flush_count; }
  void set(Mfn mfn, std::uint64_t pfn) override { m2p.at(mfn) = pfn; }
  void init_xen_l4_slots(std::uint64_t* l4, Mfn l4_mfn, pv::domid_t domid, bool ro_mpt) override;
  std::uint64_t ro_mpt_l4e() const override { return xen_slot_value(hv::pte::kRoMptSlot); }
  hv::Status read(std::uint64_t guest_va, hv::VcpuSet& out) override;

  // Test helpers.
  hv::MmCaller caller(hv::DomainMemory& d, unsigned vcpu = 0);
  std::vector<hv::VcpuMm>& vcpus_of(const hv::DomainMemory& d);
  Mfn new_frame(hv::DomainMemory& d);  // zeroed; aborts the test binary if none left
  std::uint64_t& word(Mfn mfn, unsigned index) {
    dirty.at(mfn) = true;
    return mem[mfn][index];
  }
  // Destroys `d` (relinquish) and makes it a fresh, empty domain again.
  void recreate(hv::DomainMemory& d);

  std::vector<std::array<std::uint64_t, 512>> mem;
  std::vector<bool> dirty;  // frames written since the last reset
  std::vector<hv::FrameAllocator::Slot> alloc_slots;
  std::vector<hv::PageInfo> pages;
  std::vector<std::uint64_t> m2p;
  hv::MemoryMap map;
  hv::FrameAllocator allocator;
  hv::FrameTable frames;
  hv::PageTableValidator validator;
  hv::MmOps ops;

  hv::DomainMemory dom0{0, true, false, 0, 1024, 0};
  hv::DomainMemory d1{1, false, false, 0, 512, 0};
  hv::DomainMemory d2{2, false, false, 0, 256, 0};
  std::vector<hv::VcpuMm> vcpus0, vcpus1, vcpus2;
  std::map<std::uint64_t, hv::VcpuSet> guest_masks;  // fake guest memory holding vCPU bitmaps

  unsigned long flush_local_count = 0, invlpg_local_count = 0, flush_multi_count = 0,
                invlpg_multi_count = 0, flush_domain_count = 0, invlpg_domain_count = 0,
                cache_flush_count = 0, xen_slot_inits = 0;
};

// Sends hypervisor log output (panic messages included) to stderr, once per process.
void log_to_stderr();

// The counts, flags and accounting the frame table must hold, recomputed from scratch from
// the page contents, pins and vCPU roots. Returns "" if consistent, else what differs.
std::string check_consistency(FakeMachine& m);

// The part of the frame table a failed operation must leave unchanged (type bits of a frame
// with no type references are excluded: a failed validation resets them, as in Xen).
struct FrameSnapshot {
  std::vector<std::array<std::uint64_t, 4>> rows;
  bool operator==(const FrameSnapshot&) const = default;
};
FrameSnapshot snapshot(const FakeMachine& m);
void snapshot_into(const FakeMachine& m, FrameSnapshot& out);  // reuses out's storage

}  // namespace mmtest
