// FrameTable: one descriptor per machine frame (Xen's struct page_info): owner, general
// reference count and type. It must never let a frame hold two types at once (in particular
// "page table" and "writable"), change type while typed references exist, or be freed or
// change owner while referenced. Frames change owner or type only here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "frame_allocator.hpp"
#include "memory_map.hpp"
#include "mm_platform.hpp"
#include "pv/types.hpp"
#include "result.hpp"
#include "static_vector.hpp"

namespace hv {

// A frame's type (Xen's PGT_* numbering, so dumps compare directly).
enum class PageType : std::uint8_t {
  none = 0,
  l1 = 1,
  l2 = 2,
  l3 = 3,
  l4 = 4,
  seg_desc = 5,
  writable = 7,
};
constexpr bool is_page_table(PageType t) { return t >= PageType::l1 && t <= PageType::l4; }

// What the memory-management core needs to know about a domain. The Domain object (later)
// owns one; nothing here allocates.
struct DomainMemory {
  pv::domid_t domid = 0;
  bool privileged = false;       // control domain: I/O memory, foreign and DOMID_XEN mappings
  bool dying = false;            // set before relinquish(); no new frames are assigned
  std::uint64_t tot_pages = 0;   // frames owned (allocated, or freed but still referenced)
  std::uint64_t max_pages = 0;   // tot_pages never exceeds this
  std::uint64_t vm_assist = 0;   // bit n = VMASST_TYPE n enabled
};

// count_info: flags in the top bits, general reference count below.
inline constexpr std::uint64_t PGC_allocated = std::uint64_t{1} << 63;  // the owner's own ref
inline constexpr std::uint64_t PGC_xen_heap = std::uint64_t{1} << 62;   // hypervisor data
inline constexpr std::uint64_t PGC_count_mask = 0xffff'ffff;
// type_info: type in the top 3 bits, flags, then the type reference count.
inline constexpr unsigned PGT_type_shift = 61;
inline constexpr std::uint64_t PGT_type_mask = std::uint64_t{7} << PGT_type_shift;
inline constexpr std::uint64_t PGT_pinned = std::uint64_t{1} << 59;
inline constexpr std::uint64_t PGT_validated = std::uint64_t{1} << 58;
inline constexpr std::uint64_t PGT_count_mask = 0xffff'ffff;

struct PageInfo {
  std::uint64_t count_info;
  std::uint64_t type_info;
  pv::domid_t owner;              // domid, DOMID_XEN, DOMID_IO, or kNoOwner
  std::int16_t linear_pt_count;   // >0: linear entries this table holds; <0: linear uses of it
  std::uint32_t pad;

  PageType type() const { return static_cast<PageType>(type_info >> PGT_type_shift); }
  std::uint64_t type_count() const { return type_info & PGT_count_mask; }
  std::uint64_t count() const { return count_info & PGC_count_mask; }
  bool validated() const { return (type_info & PGT_validated) != 0; }
  bool pinned() const { return (type_info & PGT_pinned) != 0; }
};
static_assert(sizeof(PageInfo) == 24);

// Validation of a frame's contents when it first gets a page-table (or descriptor) type, and
// the reverse when its last type reference goes. page_type.cpp implements it; the frame table
// only decides *when*.
class PageTypeHooks {
 public:
  // Checks every entry and takes the references they imply; on failure takes none.
  virtual Status validate(Mfn mfn, PageType type) = 0;
  // Drops every reference the entries took.
  virtual void devalidate(Mfn mfn, PageType type) = 0;
  // Called before a frame owned by `owner` changes type: stale TLB entries for its old use
  // (writable mappings above all) must be gone before the new type is usable (XSA-241).
  virtual void flush_before_type_change(pv::domid_t owner) = 0;

 protected:
  ~PageTypeHooks() = default;
};

class FrameTable {
 public:
  static constexpr pv::domid_t kNoOwner = pv::DOMID_INVALID;  // free or hypervisor-private
  static constexpr Mfn kNoTable = ~Mfn{0};
  static constexpr std::size_t kMaxDomains = 256;

  // Covers frames [0, storage.size()). Frames the map does not call RAM (and the low 1 MiB,
  // as Xen does) become DOMID_IO frames; everything else starts unowned with no references.
  // `allocator` must already hold the usable frames; freed frames return to it.
  void init(std::span<PageInfo> storage, FrameAllocator& allocator, const MemoryMap& map);
  void set_hooks(PageTypeHooks* hooks) { hooks_ = hooks; }
  // The M2P entry of every frame a domain gives back is invalidated when it is freed (Xen's
  // free_heap_pages), so no stale gpfn outlives the frame's ownership.
  void set_m2p(M2PTable* m2p) { m2p_ = m2p; }
  static constexpr std::uint64_t kInvalidM2P = ~std::uint64_t{0};

  // The domains whose frames this table may account (for tot_pages and lookups by id).
  [[nodiscard]] bool attach_domain(DomainMemory& d);
  void detach_domain(const DomainMemory& d);
  DomainMemory* domain(pv::domid_t id) const;

  bool valid(Mfn mfn) const { return mfn < pages_.size(); }
  std::uint64_t nr_frames() const { return pages_.size(); }
  PageInfo& page(Mfn mfn) { return pages_[mfn]; }
  const PageInfo& page(Mfn mfn) const { return pages_[mfn]; }

  // Allocates 2^order frames for `d` (each owned, allocation reference held, type none),
  // all below machine frame `below` unless it is 0 (XENMEMF_address_bits).
  // -EINVAL if d is dying, -E2BIG over max_pages, -ENOMEM if no memory.
  [[nodiscard]] Result<Mfn> alloc_domain_frames(DomainMemory& d, unsigned order, Mfn below = 0);
  // Gives a hypervisor frame to `with` (DOMID_XEN: readable by privileged domains, e.g. the
  // M2P) with a permanent type: writable (shared_info) or none (read-only sharing).
  void share_xen_frame(Mfn mfn, pv::domid_t with, bool writable);
  // Drops the owner's allocation reference (domain teardown, balloon): the frame is freed as
  // soon as no mapping references it any more. False if it had none.
  bool drop_allocation(Mfn mfn);

  // General references (Xen get_page/put_page). get_page fails unless `owner` owns the frame.
  [[nodiscard]] bool get_page(Mfn mfn, pv::domid_t owner);
  // Takes a reference whoever owns the frame; returns the owner, kNoOwner if unallocated.
  pv::domid_t get_page_any_owner(Mfn mfn);
  void put_page(Mfn mfn);

  // Type references (Xen get_page_type/put_page_type). The caller holds a general reference.
  // -EINVAL on a type conflict; a validation failure's errno otherwise.
  [[nodiscard]] Status get_page_type(Mfn mfn, PageType type);
  // `from_table`: the page-table frame whose entry held this reference, so a linear
  // (same-level) reference also releases its linear-use accounting.
  void put_page_type(Mfn mfn, Mfn from_table = kNoTable);
  // get_page + get_page_type: -EINVAL if not owned by `owner`.
  [[nodiscard]] Status get_page_and_type(Mfn mfn, pv::domid_t owner, PageType type);
  void put_page_and_type(Mfn mfn, Mfn from_table = kNoTable);
  // One more type reference on a frame already validated as `type`, never validating it
  // (linear page tables may only point at tables that are complete).
  [[nodiscard]] bool get_validated_type(Mfn mfn, PageType type);

  // The pin flag (MMUEXT_PIN_*): the pin owns one general and one type reference.
  // Each returns the previous state.
  bool test_and_set_pinned(Mfn mfn);
  bool test_and_clear_pinned(Mfn mfn);

  // Linear page-table accounting (Xen inc/dec_linear_entries/uses): a table that holds linear
  // entries may not itself be linearly mapped, and vice versa, which rules out loops.
  [[nodiscard]] bool inc_linear_entries(Mfn table);
  void dec_linear_entries(Mfn table);
  [[nodiscard]] bool inc_linear_uses(Mfn table);
  void dec_linear_uses(Mfn table);

 private:
  void free_frame(Mfn mfn);
  void put_final_type(Mfn mfn, Mfn from_table);

  std::span<PageInfo> pages_;
  FrameAllocator* allocator_ = nullptr;
  PageTypeHooks* hooks_ = nullptr;
  bool freed_since_flush_ = false;  // a frame was freed; flush every guest pCPU before reuse
  M2PTable* m2p_ = nullptr;
  StaticVector<DomainMemory*, kMaxDomains> domains_;
};

}  // namespace hv
