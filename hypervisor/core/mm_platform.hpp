// mm_platform: the hardware effects the memory-management core needs, as small interfaces the
// kernel implements (direct map, TLB shootdown, the M2P table, its own L4 slots) and tests
// fake. None of them may be reachable by a guest except through the checks in mm_ops.
#pragma once
#include <array>
#include <cstdint>

#include "frame_allocator.hpp"
#include "pv/types.hpp"
#include "result.hpp"

namespace hv {

// Access to the contents of machine frames the frame table covers (the kernel answers through
// its direct map). The pointer stays valid for the rest of the hypercall.
class MachineMemory {
 public:
  // The 512 eight-byte words of frame `mfn` (the caller checked the frame is RAM).
  virtual std::uint64_t* frame(Mfn mfn) = 0;

 protected:
  ~MachineMemory() = default;
};

// A set of vCPU ids of one domain (Xen reads the guest's bitmap up to max_vcpus).
struct VcpuSet {
  static constexpr unsigned kMaxVcpus = 128;
  std::array<std::uint64_t, kMaxVcpus / 64> words{};
  void set(unsigned id) { words[id / 64] |= std::uint64_t{1} << (id % 64); }
  bool test(unsigned id) const { return (words[id / 64] >> (id % 64)) & 1; }
};

// flush_tlb's `va` for a flush of every non-global translation rather than one page's.
inline constexpr std::uint64_t kFlushAllVas = ~std::uint64_t{0};
// flush_tlb's domid for "whichever domain": every pCPU running any vCPU.
inline constexpr pv::domid_t kFlushAnyDomain = pv::DOMID_ANY;

class TlbFlusher {
 public:
  // Non-global TLB entries of the calling vCPU's pCPU.
  virtual void flush_local() = 0;
  virtual void invlpg_local(std::uint64_t va) = 0;
  // The one call for every flush beyond the caller's own pCPU (MMUEXT_*_MULTI/_ALL,
  // update_va_mapping with UVMF_MULTI/UVMF_ALL, page-type changes, freed frames, teardown):
  // drops the translation of `va` (kFlushAllVas: every non-global one) on every pCPU where
  // a vCPU of `domid` named in `vcpus` may have cached it (nullptr: any vCPU of the domain,
  // Xen's dirty_cpumask). The caller's pCPU is included when it runs such a vCPU.
  virtual void flush_tlb(pv::domid_t domid, const VcpuSet* vcpus, std::uint64_t va) = 0;
  // Write back and invalidate caches on every pCPU (MMUEXT_FLUSH_CACHE*, privileged only).
  virtual void flush_cache_all() = 0;

 protected:
  ~TlbFlusher() = default;
};

// The global machine-to-phys table (read-only to guests at MACH2PHYS_VIRT_START).
class M2PTable {
 public:
  virtual void set(Mfn mfn, std::uint64_t pfn) = 0;

 protected:
  ~M2PTable() = default;
};

// The hypervisor's own entries in slots 256..271 of every 64-bit PV root table.
class XenL4Slots {
 public:
  // Writes every slot 256..271 of `l4` (the frame `l4_mfn`), clobbering whatever the guest
  // left there; slot 256 (RO M2P) is filled only if `ro_mpt`, else left empty.
  virtual void init_xen_l4_slots(std::uint64_t* l4, Mfn l4_mfn, pv::domid_t domid,
                                 bool ro_mpt) = 0;
  // The entry mapping the read-only M2P (for slot 256), installed/removed on base-pointer
  // loads according to VMASST_TYPE_m2p_strict.
  virtual std::uint64_t ro_mpt_l4e() const = 0;

 protected:
  ~XenL4Slots() = default;
};

// Copies a guest's vCPU bitmap (unsigned long words, up to the domain's max_vcpus) from the
// guest virtual address given in a *_MULTI operation; -EFAULT if unreadable.
class VcpuMaskReader {
 public:
  virtual Status read(std::uint64_t guest_va, VcpuSet& out) = 0;

 protected:
  ~VcpuMaskReader() = default;
};

// Per-vCPU paging state the MM hypercalls read and change.
struct VcpuMm {
  unsigned vcpu_id = 0;
  bool kernel_mode = true;         // guest kernel (true) or user (false) context
  Mfn guest_table = 0;             // kernel root (L4) mfn; 0 = none. Holds a type+general ref
  Mfn guest_table_user = 0;        // user root mfn; 0 = none. Holds a type+general ref
  std::uint64_t ldt_base = 0;      // SET_LDT arguments (validated, loaded lazily by arch)
  std::uint32_t ldt_ents = 0;
  bool ldt_dirty = false;          // arch must reload the LDT before returning to the guest
  // The loaded LDT's frames, each holding a seg_desc type reference as Xen's shadow LDT
  // mapping does (0: that page is not a usable descriptor page; its selectors fault).
  Mfn ldt_frames[16] = {};
  bool reload_cr3 = false;         // arch must load the current root before returning
};

}  // namespace hv
