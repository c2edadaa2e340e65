// FrameTable: reference and type counting (Xen mm.c get_page/put_page, _get_page_type,
// _put_page_type). Single-threaded for now: callers serialise MM operations (a per-domain lock
// in the arch layer); the packed words keep Xen's layout so cmpxchg loops can come later.
#include "frame_table.hpp"

#include "panic.hpp"
#include "pv/errno.hpp"

namespace hv {
namespace {

constexpr std::uint64_t type_bits(PageType t) {
  return static_cast<std::uint64_t>(t) << PGT_type_shift;
}
constexpr Mfn kLowIoFrames = (1u << 20) >> 12;  // the first MiB is always I/O (Xen does so)

bool ram_frame(const MemoryMap& map, Mfn mfn) {
  const std::uint64_t base = mfn << 12;
  for (const MemoryRange& r : map.ranges()) {
    if (r.type != MemoryType::usable && r.type != MemoryType::unusable) continue;
    if (r.base <= base && base + 4096 <= r.end()) return true;
  }
  return false;
}

}  // namespace

void FrameTable::init(std::span<PageInfo> storage, FrameAllocator& allocator,
                      const MemoryMap& map) {
  pages_ = storage;
  allocator_ = &allocator;
  for (Mfn m = 0; m < pages_.size(); ++m) {
    PageInfo& p = pages_[m];
    p = PageInfo{0, 0, kNoOwner, 0, 0};
    // Anything the map does not call RAM (or "unusable" RAM) is MMIO space: owned by DOMID_IO
    // with a permanent writable type, so it can never become a page table.
    if (m < kLowIoFrames || !ram_frame(map, m)) {
      p.owner = pv::DOMID_IO;
      p.count_info = PGC_allocated | 1;
      p.type_info = type_bits(PageType::writable) | PGT_validated | 1;
    }
  }
}

bool FrameTable::attach_domain(DomainMemory& d) {
  if (domain(d.domid) != nullptr) return false;
  return domains_.push_back(&d);
}

void FrameTable::detach_domain(const DomainMemory& d) {
  for (std::size_t i = 0; i < domains_.size(); ++i)
    if (domains_[i] == &d) domains_.erase(i);
}

DomainMemory* FrameTable::domain(pv::domid_t id) const {
  for (DomainMemory* d : domains_)
    if (d->domid == id) return d;
  return nullptr;
}

Result<Mfn> FrameTable::alloc_domain_frames(DomainMemory& d, unsigned order, Mfn below) {
  HV_ASSERT(domain(d.domid) == &d);
  if (d.dying) return Status::error(-pv::XEN_EINVAL);
  const std::uint64_t n = std::uint64_t{1} << order;
  if (d.tot_pages > d.max_pages || n > d.max_pages - d.tot_pages)
    return Status::error(-pv::XEN_E2BIG);
  Result<Mfn> block = below == 0 ? allocator_->alloc(order) : allocator_->alloc_below(order, below);
  if (!block) return block.status();
  HV_ASSERT(*block + n <= pages_.size());
  // A frame is freed when its last mapping goes, and the guest that dropped it need not have
  // flushed: a pCPU running any guest may still cache a translation to it. Before a freed
  // frame gets a new owner, every such pCPU flushes (Xen does the same with its tlbflush
  // clock; one flush per reuse batch, not one per free).
  if (freed_since_flush_ && hooks_ != nullptr) {
    hooks_->flush_before_type_change(kFlushAnyDomain);
    freed_since_flush_ = false;
  }
  allocator_->split_to_frames(*block, order);  // freed one frame at a time later
  for (Mfn m = *block; m < *block + n; ++m) {
    HV_ASSERT(pages_[m].count_info == 0 && pages_[m].type_count() == 0);
    pages_[m] = PageInfo{PGC_allocated | 1, 0, d.domid, 0, 0};
  }
  d.tot_pages += n;
  return block;
}

void FrameTable::share_xen_frame(Mfn mfn, pv::domid_t with, bool writable) {
  PageInfo& p = pages_[mfn];
  HV_ASSERT(p.owner == kNoOwner && p.count_info == 0);
  p.owner = with;
  p.count_info = PGC_allocated | PGC_xen_heap | 1;
  // The permanent type reference pins it as writable or read-only data forever.
  p.type_info = type_bits(writable ? PageType::writable : PageType::none) | PGT_validated | 1;
}

bool FrameTable::drop_allocation(Mfn mfn) {
  PageInfo& p = pages_[mfn];
  if ((p.count_info & PGC_allocated) == 0) return false;
  p.count_info &= ~PGC_allocated;
  put_page(mfn);
  return true;
}

pv::domid_t FrameTable::get_page_any_owner(Mfn mfn) {
  if (!valid(mfn)) return kNoOwner;
  PageInfo& p = pages_[mfn];
  // Count 0: not allocated. Near the top: the count would wrap.
  if (((p.count_info + 2) & PGC_count_mask) <= 2) return kNoOwner;
  ++p.count_info;
  HV_ASSERT(p.owner != kNoOwner);
  return p.owner;
}

bool FrameTable::get_page(Mfn mfn, pv::domid_t owner) {
  if (owner == kNoOwner) return false;
  pv::domid_t real = get_page_any_owner(mfn);
  if (real == owner) return true;
  if (real != kNoOwner) put_page(mfn);
  return false;
}

void FrameTable::put_page(Mfn mfn) {
  PageInfo& p = pages_[mfn];
  if (p.count() == 0) HV_PANIC("put_page on unreferenced frame %#llx", (unsigned long long)mfn);
  --p.count_info;
  if (p.count() == 0) free_frame(mfn);
}

// The last reference went: the frame returns to the allocator (hypervisor frames stay).
void FrameTable::free_frame(Mfn mfn) {
  PageInfo& p = pages_[mfn];
  if (p.type_count() != 0 || p.linear_pt_count != 0)
    HV_PANIC("freeing frame %#llx with type refs (%#llx)", (unsigned long long)mfn,
             (unsigned long long)p.type_info);
  const bool xen_heap = (p.count_info & PGC_xen_heap) != 0;
  if (!xen_heap) {
    DomainMemory* d = domain(p.owner);
    if (d != nullptr) --d->tot_pages;
  }
  p = PageInfo{0, 0, kNoOwner, 0, 0};
  if (xen_heap) return;
  freed_since_flush_ = true;
  if (m2p_ != nullptr) m2p_->set(mfn, kInvalidM2P);
  allocator_->free(mfn, 0);
}

Status FrameTable::get_page_type(Mfn mfn, PageType type) {
  PageInfo& p = pages_[mfn];
  std::uint64_t x = p.type_info;
  if ((x & PGT_count_mask) == PGT_count_mask) return Status::error(-pv::XEN_EINVAL);
  if ((x & PGT_count_mask) != 0) {
    // More references of the current type only; a frame still being validated (reached again
    // through its own entries) is refused like any other conflict.
    if (p.type() != type || !p.validated()) return Status::error(-pv::XEN_EINVAL);
    p.type_info = x + 1;
    return kOk;
  }
  if (p.type() != type) {
    if (p.type() != PageType::none && hooks_ != nullptr) hooks_->flush_before_type_change(p.owner);
    x = type_bits(type);  // new type: not validated, not pinned
  }
  p.type_info = x + 1;
  if (p.validated()) return kOk;
  if (type == PageType::writable || type == PageType::none) {
    p.type_info |= PGT_validated;
    return kOk;
  }
  // Count 1, not validated: the "validation in progress" state.
  Status rc = hooks_ != nullptr ? hooks_->validate(mfn, type) : Status::error(-pv::XEN_EINVAL);
  if (!rc.ok()) {
    p.type_info = 0;  // as Xen: back to type none, no references
    return rc;
  }
  p.type_info |= PGT_validated;
  return kOk;
}

void FrameTable::put_final_type(Mfn mfn, Mfn from_table) {
  PageInfo& p = pages_[mfn];
  const PageType type = p.type();
  // Clearing "validated" first makes any re-entry during devalidation fail, not recurse.
  p.type_info &= ~(PGT_validated | PGT_pinned);
  hooks_->devalidate(mfn, type);
  if (from_table != kNoTable && pages_[from_table].type() == type) {
    dec_linear_uses(mfn);
    dec_linear_entries(from_table);
  }
  HV_ASSERT(p.linear_pt_count == 0);
  --p.type_info;  // count 1 -> 0; the type itself is kept until someone asks for another
}

void FrameTable::put_page_type(Mfn mfn, Mfn from_table) {
  PageInfo& p = pages_[mfn];
  if (p.type_count() == 0 || !p.validated())
    HV_PANIC("put_page_type on frame %#llx type_info %#llx", (unsigned long long)mfn,
             (unsigned long long)p.type_info);
  if (p.type_count() == 1 && is_page_table(p.type())) {
    put_final_type(mfn, from_table);
    return;
  }
  --p.type_info;
  if (from_table != kNoTable && pages_[from_table].type() == p.type()) {
    dec_linear_uses(mfn);
    dec_linear_entries(from_table);
  }
}

Status FrameTable::get_page_and_type(Mfn mfn, pv::domid_t owner, PageType type) {
  if (!valid(mfn) || !get_page(mfn, owner)) return Status::error(-pv::XEN_EINVAL);
  Status rc = get_page_type(mfn, type);
  if (!rc.ok()) put_page(mfn);
  return rc;
}

void FrameTable::put_page_and_type(Mfn mfn, Mfn from_table) {
  put_page_type(mfn, from_table);
  put_page(mfn);
}

bool FrameTable::get_validated_type(Mfn mfn, PageType type) {
  PageInfo& p = pages_[mfn];
  if (p.type_count() == 0 || p.type_count() == PGT_count_mask) return false;
  if (p.type() != type || !p.validated()) return false;
  ++p.type_info;
  return true;
}

bool FrameTable::test_and_set_pinned(Mfn mfn) {
  PageInfo& p = pages_[mfn];
  HV_ASSERT(p.type_count() != 0);  // only a typed frame can be pinned
  const bool was = p.pinned();
  p.type_info |= PGT_pinned;
  return was;
}

bool FrameTable::test_and_clear_pinned(Mfn mfn) {
  PageInfo& p = pages_[mfn];
  const bool was = p.pinned();
  p.type_info &= ~PGT_pinned;
  return was;
}

bool FrameTable::inc_linear_entries(Mfn table) {
  std::int16_t& c = pages_[table].linear_pt_count;
  if (c < 0 || c == INT16_MAX) return false;  // used linearly elsewhere, or would overflow
  ++c;
  return true;
}

void FrameTable::dec_linear_entries(Mfn table) {
  std::int16_t& c = pages_[table].linear_pt_count;
  HV_ASSERT(c > 0);
  --c;
}

bool FrameTable::inc_linear_uses(Mfn table) {
  std::int16_t& c = pages_[table].linear_pt_count;
  if (c > 0 || c == INT16_MIN) return false;  // holds linear entries itself, or would overflow
  --c;
  return true;
}

void FrameTable::dec_linear_uses(Mfn table) {
  std::int16_t& c = pages_[table].linear_pt_count;
  HV_ASSERT(c < 0);
  ++c;
}

}  // namespace hv
