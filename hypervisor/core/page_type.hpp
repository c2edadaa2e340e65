// PageTableValidator: the x86-64 PV page-table rules (Xen mm.c get_page_from_l?e,
// promote/demote_l?_table, mod_l?_entry). The only code that installs a guest page-table entry.
// It must never let a guest obtain a writable mapping of a page table, descriptor table or
// hypervisor frame, map a frame it does not own (outside the privileged/foreign rules), or
// touch the hypervisor's L4 slots.
#pragma once
#include <cstdint>

#include "frame_table.hpp"
#include "mm_platform.hpp"
#include "pte.hpp"
#include "result.hpp"

namespace hv {

class PageTableValidator final : public PageTypeHooks {
 public:
  // Checks the 512 descriptors of a frame about to become a GDT/LDT page, fixing them up in
  // place as Xen does (descriptor-table code provides it; without one, seg_desc is refused).
  using SegDescCheck = Status (*)(std::uint64_t* descriptors);

  PageTableValidator(FrameTable& frames, MachineMemory& memory, TlbFlusher& tlb, XenL4Slots& xen)
      : frames_(frames), memory_(memory), tlb_(tlb), xen_(xen) {}
  void set_segdesc_check(SegDescCheck check) { segdesc_check_ = check; }

  // PageTypeHooks (called by the frame table on the first/last type reference).
  Status validate(Mfn mfn, PageType type) override;
  void devalidate(Mfn mfn, PageType type) override;
  void flush_before_type_change(pv::domid_t owner) override;

  // References one present L1 entry takes: a general ref on the frame, plus a writable type
  // ref if RW. `pg_owner` is whose frames the entry may name (the caller, or a foreign domain,
  // DOMID_XEN or DOMID_IO for privileged callers). Returns cache-attribute bits to flip (MMIO
  // forced uncached), or Xen's errno: -EINVAL bad flags, -EPERM MMIO without permission,
  // -EBUSY frame not mappable (not owned, or RW on a typed frame), -EACCES cache attributes
  // on hypervisor data.
  [[nodiscard]] Result<pte::Pte> get_page_from_l1e(pte::Pte e, const DomainMemory& l1e_owner,
                                                   pv::domid_t pg_owner);
  void put_page_from_l1e(pte::Pte e);
  // References one present L2/L3/L4 entry (in table `table`) takes: a type ref of the level
  // below on a frame `d` owns, or a read-only linear reference (Xen's opt_pv_linear_pt).
  [[nodiscard]] Status get_page_from_lNe(unsigned level, pte::Pte e, Mfn table,
                                         const DomainMemory& d);
  void put_page_from_lNe(pte::Pte e, Mfn table);

  // Validated replacement of entry `index` of the validated L1 `table`: new references are
  // taken before the write, the old entry's dropped after. `preserve_ad` keeps the A/D bits
  // the hardware set in the old entry (MMU_PT_UPDATE_PRESERVE_AD).
  [[nodiscard]] Status mod_l1_entry(Mfn table, unsigned index, pte::Pte new_entry,
                                    const DomainMemory& pt_dom, pv::domid_t pg_owner,
                                    bool preserve_ad);
  // The same for L2..L4 tables of `d` (entries may only name d's own frames).
  [[nodiscard]] Status mod_lN_entry(unsigned level, Mfn table, unsigned index,
                                    pte::Pte new_entry, const DomainMemory& d, bool preserve_ad);

 private:
  Status promote_l1(Mfn mfn, const DomainMemory& d);
  Status promote_upper(Mfn mfn, unsigned level, const DomainMemory& d);
  bool get_linear_pagetable(unsigned level, pte::Pte e, Mfn table, const DomainMemory& d);
  bool io_permitted(pv::domid_t domid) const;
  bool may_map_for(pv::domid_t mapper, pv::domid_t real_owner) const;
  void write_entry(std::uint64_t* slot, pte::Pte old_entry, pte::Pte new_entry, bool preserve_ad);

  FrameTable& frames_;
  MachineMemory& memory_;
  TlbFlusher& tlb_;
  XenL4Slots& xen_;
  SegDescCheck segdesc_check_ = nullptr;
};

// Page type held by the tables one level below an Ln table (L2 -> L1 ...).
constexpr PageType table_type(unsigned level) { return static_cast<PageType>(level); }

}  // namespace hv
