// PageTableValidator: entry checks and whole-table (de)validation. Recursion is bounded: a
// validation only descends a level (L4 -> L3 -> L2 -> L1), and a linear entry only takes a
// reference on an already-validated table that holds no linear entries itself, so the deepest
// chain (devalidating a root that linearly maps another root) is five tables (XSA-240).
#include "page_type.hpp"

#include "log.hpp"
#include "panic.hpp"
#include "pv/errno.hpp"
#include "pv/mmu.hpp"

namespace hv {
namespace {

using pte::Pte;

Status error(int negative_errno) { return Status::error(negative_errno); }

Pte disallow_mask(unsigned level) {
  switch (level) {
    case 2: return pte::kL2Disallow;
    case 3: return pte::kL3Disallow;
    default: return pte::kL4Disallow;
  }
}

Pte adjust_upper(unsigned level, Pte e) {
  return level == 4 ? pte::adjust_guest_l4e(e) : pte::adjust_guest_l23e(e);
}

bool m2p_strict(const DomainMemory& d) {
  return (d.vm_assist >> pv::VMASST_TYPE_m2p_strict) & 1;
}

}  // namespace

bool PageTableValidator::io_permitted(pv::domid_t domid) const {
  const DomainMemory* d = frames_.domain(domid);
  return d != nullptr && d->privileged;
}

// Xen's xsm_priv_mapping (dummy policy): a domain maps frames it does not own only if it is
// the control domain.
bool PageTableValidator::may_map_for(pv::domid_t mapper, pv::domid_t real_owner) const {
  return mapper == real_owner || io_permitted(mapper);
}

Result<Pte> PageTableValidator::get_page_from_l1e(Pte e, const DomainMemory& l1e_owner,
                                                  pv::domid_t pg_owner) {
  const Pte disallow = l1e_owner.privileged ? pte::kL1DisallowCacheOk : pte::kL1Disallow;
  if ((e & disallow) != 0) return error(-pv::XEN_EINVAL);
  const Mfn mfn = pte::mfn_of(e);
  const bool valid = frames_.valid(mfn);
  const pv::domid_t real = valid ? frames_.get_page_any_owner(mfn) : FrameTable::kNoOwner;

  if (!valid || real == pv::DOMID_IO) {  // MMIO: never reference counted
    if (valid) frames_.put_page(mfn);
    if (pg_owner == pv::DOMID_IO) pg_owner = l1e_owner.domid;
    const int denied = mfn == pte::kInvalidMfn ? -pv::XEN_EINVAL : -pv::XEN_EPERM;
    if (!io_permitted(pg_owner)) return error(denied);
    if (pg_owner != l1e_owner.domid && !io_permitted(l1e_owner.domid)) return error(denied);
    // MMIO must not be mapped cacheable: force UC where the PAT index would cache.
    return pte::cacheable(e) ? ((e & pte::kCacheAttrs) ^ pte::kUncached) : Pte{0};
  }

  if (real != pg_owner) {
    if (real == FrameTable::kNoOwner || pg_owner == l1e_owner.domid ||
        !may_map_for(pg_owner, real)) {
      if (real != FrameTable::kNoOwner) frames_.put_page(mfn);
      return error(-pv::XEN_EBUSY);
    }
  }
  const bool write = (e & pte::kRw) != 0;
  if (write && !frames_.get_page_type(mfn, PageType::writable).ok()) {
    frames_.put_page(mfn);  // a page table, descriptor page or read-only hypervisor frame
    return error(-pv::XEN_EBUSY);
  }
  if ((e & pte::kCacheAttrs) != 0 && (frames_.page(mfn).count_info & PGC_xen_heap) != 0) {
    if (write) frames_.put_page_type(mfn);
    frames_.put_page(mfn);
    return error(-pv::XEN_EACCES);
  }
  return Pte{0};
}

void PageTableValidator::put_page_from_l1e(Pte e) {
  if (!pte::present(e)) return;
  const Mfn mfn = pte::mfn_of(e);
  if (!frames_.valid(mfn) || frames_.page(mfn).owner == pv::DOMID_IO) return;
  if ((e & pte::kRw) != 0) frames_.put_page_and_type(mfn);
  else frames_.put_page(mfn);
}

// Xen's get_lN_linear_pagetable: an Ln entry naming an Ln table. Allowed read-only only, onto
// a validated table of the same level, never from a table that is itself linearly mapped or
// onto one that holds linear entries. A table mapping itself takes no reference at all.
bool PageTableValidator::get_linear_pagetable(unsigned level, Pte e, Mfn table,
                                              const DomainMemory& d) {
  if ((e & pte::kRw) != 0) return false;
  const Mfn target = pte::mfn_of(e);
  if (target == table) return true;
  if (frames_.page(table).owner != d.domid) return false;
  if (!frames_.valid(target) || !frames_.get_page(target, d.domid)) return false;
  if (!frames_.inc_linear_entries(table)) {
    frames_.put_page(target);
    return false;
  }
  if (!frames_.inc_linear_uses(target)) {
    frames_.dec_linear_entries(table);
    frames_.put_page(target);
    return false;
  }
  if (!frames_.get_validated_type(target, table_type(level))) {
    frames_.dec_linear_uses(target);
    frames_.dec_linear_entries(table);
    frames_.put_page(target);
    return false;
  }
  return true;
}

Status PageTableValidator::get_page_from_lNe(unsigned level, Pte e, Mfn table,
                                             const DomainMemory& d) {
  if ((e & disallow_mask(level)) != 0) return error(-pv::XEN_EINVAL);  // incl. PSE (XSA-148)
  Status rc = frames_.get_page_and_type(pte::mfn_of(e), d.domid, table_type(level - 1));
  if (rc.code() == -pv::XEN_EINVAL && get_linear_pagetable(level, e, table, d)) return kOk;
  return rc;
}

void PageTableValidator::put_page_from_lNe(Pte e, Mfn table) {
  if (!pte::present(e) || pte::mfn_of(e) == table) return;  // self-maps hold no reference
  frames_.put_page_and_type(pte::mfn_of(e), table);
}

Status PageTableValidator::promote_l1(Mfn mfn, const DomainMemory& d) {
  std::uint64_t* t = memory_.frame(mfn);
  for (unsigned i = 0; i < pte::kEntries; ++i) {
    Pte e = t[i];
    if (pte::present(e)) {
      Result<Pte> flip = get_page_from_l1e(e, d, d.domid);
      if (!flip) {
        HV_DEBUG(mm, "d%u: L1 %#llx slot %u refused (%d)", d.domid, (unsigned long long)mfn, i,
                 flip.status().code());
        while (i-- > 0) put_page_from_l1e(t[i]);
        return flip.status();
      }
      e ^= *flip;
    }
    t[i] = pte::adjust_guest_l1e(e);
  }
  return kOk;
}

Status PageTableValidator::promote_upper(Mfn mfn, unsigned level, const DomainMemory& d) {
  std::uint64_t* t = memory_.frame(mfn);
  for (unsigned i = 0; i < pte::kEntries; ++i) {
    if (level == 4 && !pte::is_guest_l4_slot(i)) continue;  // overwritten below
    const Pte e = t[i];
    if (pte::present(e)) {
      Status rc = get_page_from_lNe(level, e, mfn, d);
      if (!rc.ok()) {
        HV_DEBUG(mm, "d%u: L%u %#llx slot %u refused (%d)", d.domid, level,
                 (unsigned long long)mfn, i, rc.code());
        while (i-- > 0)
          if (level != 4 || pte::is_guest_l4_slot(i)) put_page_from_lNe(t[i], mfn);
        return rc;
      }
    }
    t[i] = adjust_upper(level, e);
  }
  if (level == 4) xen_.init_xen_l4_slots(t, mfn, d.domid, m2p_strict(d));
  return kOk;
}

Status PageTableValidator::validate(Mfn mfn, PageType type) {
  const DomainMemory* d = frames_.domain(frames_.page(mfn).owner);
  if (d == nullptr) return error(-pv::XEN_EINVAL);  // only domains' frames become tables
  switch (type) {
    case PageType::l1: return promote_l1(mfn, *d);
    case PageType::l2:
    case PageType::l3:
    case PageType::l4: return promote_upper(mfn, static_cast<unsigned>(type), *d);
    case PageType::seg_desc:
      return segdesc_check_ != nullptr ? segdesc_check_(memory_.frame(mfn))
                                       : error(-pv::XEN_EINVAL);
    default: return error(-pv::XEN_EINVAL);
  }
}

void PageTableValidator::devalidate(Mfn mfn, PageType type) {
  const std::uint64_t* t = memory_.frame(mfn);
  if (type == PageType::l1) {
    for (unsigned i = 0; i < pte::kEntries; ++i) put_page_from_l1e(t[i]);
    return;
  }
  for (unsigned i = pte::kEntries; i-- > 0;) {
    if (type == PageType::l4 && !pte::is_guest_l4_slot(i)) continue;
    put_page_from_lNe(t[i], mfn);
  }
}

void PageTableValidator::flush_before_type_change(pv::domid_t owner) {
  tlb_.flush_tlb(owner, nullptr, kFlushAllVas);
}

// Entries are replaced with one 8-byte store; with preserve_ad, a cmpxchg loop keeps A/D bits
// the hardware walker may set concurrently (only those may change under us: MM operations on
// a domain are serialised by the caller).
void PageTableValidator::write_entry(std::uint64_t* slot, Pte old_entry, Pte new_entry,
                                     bool preserve_ad) {
  if (!preserve_ad) {
    __atomic_store_n(slot, new_entry, __ATOMIC_RELEASE);
    return;
  }
  constexpr Pte kAd = pte::kAccessed | pte::kDirty;
  for (;;) {
    Pte expected = old_entry;
    Pte desired = new_entry | (old_entry & kAd);
    if (__atomic_compare_exchange_n(slot, &expected, desired, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return;
    HV_ASSERT(((expected ^ old_entry) & ~kAd) == 0);
    old_entry = expected;
  }
}

Status PageTableValidator::mod_l1_entry(Mfn table, unsigned index, Pte new_entry,
                                        const DomainMemory& pt_dom, pv::domid_t pg_owner,
                                        bool preserve_ad) {
  std::uint64_t* slot = memory_.frame(table) + index;
  const Pte old_entry = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (pte::present(new_entry)) {
    const Pte disallow = pt_dom.privileged ? pte::kL1DisallowCacheOk : pte::kL1Disallow;
    if ((new_entry & disallow) != 0) return error(-pv::XEN_EINVAL);
    new_entry = pte::adjust_guest_l1e(new_entry);
    // Same frame and same safety-relevant flags: nothing to re-reference.
    if (!pte::has_changed(old_entry, new_entry, pte::kFastpathWhitelist)) {
      write_entry(slot, old_entry, new_entry, preserve_ad);
      return kOk;
    }
    Result<Pte> flip = get_page_from_l1e(new_entry, pt_dom, pg_owner);
    if (!flip) return flip.status();
    new_entry ^= *flip;
  }
  write_entry(slot, old_entry, new_entry, preserve_ad);
  put_page_from_l1e(old_entry);
  return kOk;
}

Status PageTableValidator::mod_lN_entry(unsigned level, Mfn table, unsigned index,
                                        Pte new_entry, const DomainMemory& d, bool preserve_ad) {
  if (level == 4 && !pte::is_guest_l4_slot(index)) return error(-pv::XEN_EINVAL);
  std::uint64_t* slot = memory_.frame(table) + index;
  const Pte old_entry = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (pte::present(new_entry)) {
    if ((new_entry & disallow_mask(level)) != 0) return error(-pv::XEN_EINVAL);
    new_entry = adjust_upper(level, new_entry);
    // RW is not whitelisted: toggling it on a linear entry must revalidate (XSA-182).
    if (!pte::has_changed(old_entry, new_entry, pte::kFastpathWhitelist)) {
      write_entry(slot, old_entry, new_entry, preserve_ad);
      return kOk;
    }
    HV_TRY(get_page_from_lNe(level, new_entry, table, d));
  }
  write_entry(slot, old_entry, new_entry, preserve_ad);
  put_page_from_lNe(old_entry, table);
  return kOk;
}

}  // namespace hv
