// reservation: XENMEM_increase_reservation, XENMEM_decrease_reservation and
// XENMEM_populate_physmap for PV domains (Xen 4.17 common/memory.c). A domain may never end
// up owning more than max_pages frames, get a frame back while it is still referenced
// (the frame is freed only when its last mapping goes), or keep an M2P entry for a frame it
// gave up. The result is the number of extents done, never an errno: any refusal before the
// first extent returns the starting extent, as Xen does.
#include <limits>

#include <pv/memory.hpp>

#include "guest_memory.hpp"
#include "mm_ops.hpp"

namespace hv {
namespace {

constexpr unsigned kMemopExtentShift = 6;        // MEMOP_EXTENT_SHIFT: continuation encoding
constexpr unsigned kDomUMaxOrder = 9;            // CONFIG_DOMU_MAX_ORDER (PAGETABLE_ORDER)
constexpr unsigned kControlDomainMaxOrder = 18;  // CONFIG_CTLDOM_MAX_ORDER = MAX_ORDER on x86
constexpr unsigned kMaxOrder = 18;               // MAX_ORDER (2 * PAGETABLE_ORDER)
constexpr unsigned kPageShift = 12;
constexpr unsigned kMaxNumaNodes = 64;           // MAX_NUMNODES: one node here, any below is fine

// Xen's max_order(): a control domain may ask for larger extents than a domU.
unsigned max_order(const DomainMemory& caller) {
  return caller.privileged ? kControlDomainMaxOrder : kDomUMaxOrder;
}

unsigned order_from_pages(std::uint64_t pages) {
  unsigned order = 0;
  while (order < 63 && (std::uint64_t{1} << order) < pages) ++order;
  return order;
}

// construct_memop_from_reservation + propagate_node: the frame limit for address_bits
// (0 = none), or false when the flags are refused.
bool memflags_limit(const pv::xen_memory_reservation& r, const DomainMemory& caller,
                    std::uint64_t max_page, Mfn& below) {
  const unsigned bits = pv::XENMEMF_get_address_bits(r.mem_flags);
  below = 0;
  if (bits != 0 && bits < order_from_pages(max_page) + kPageShift) {
    if (bits <= kPageShift) return false;
    below = Mfn{1} << (bits - kPageShift);
  }
  if (r.mem_flags & pv::XENMEMF_vnode) return true;  // no vNUMA layout: nothing to apply
  const unsigned node = pv::XENMEMF_get_node(r.mem_flags);
  if (node == 0xff) return true;  // NUMA_NO_NODE
  if (caller.privileged) return node < kMaxNumaNodes;
  return (r.mem_flags & pv::XENMEMF_exact_node_request) == 0;
}

// guest_handle_subrange_okay(list, first, last) for 8-byte elements.
bool extent_range_ok(std::uint64_t list, std::uint64_t first, std::uint64_t last) {
  const std::uint64_t bytes = (last - first + 1) * sizeof(std::uint64_t);
  return guest_range_ok(list + first * sizeof(std::uint64_t), bytes);
}

struct Walk {
  MmOps& ops;
  GuestMemory& memory;
  DomainMemory& target;
  const pv::xen_memory_reservation& r;
  Mfn below;
  std::uint64_t slot(std::uint64_t i) const { return r.extent_start.p + i * sizeof(std::uint64_t); }
};

std::uint64_t increase(const Walk& w, std::uint64_t i) {
  const bool report = w.r.extent_start.p != 0;
  for (; i < w.r.nr_extents; ++i) {
    Result<Mfn> mfn = w.ops.reservation_alloc(w.target, w.r.extent_order, w.below);
    if (!mfn) break;
    // A PV domain learns the machine frames; if it cannot be told, the extent stays its own.
    if (report && !w.memory.write(w.slot(i), std::uint64_t{*mfn}).ok()) break;
  }
  return i;
}

std::uint64_t populate(const Walk& w, std::uint64_t i, bool on_demand, bool self) {
  for (; i < w.r.nr_extents; ++i) {
    std::uint64_t gpfn = 0;
    if (!w.memory.read(w.slot(i), gpfn).ok()) break;
    if (on_demand) {
      if (self) break;  // populate-on-demand of oneself is refused; of a PV domain a no-op
      continue;
    }
    Result<Mfn> mfn = w.ops.populate_extent(w.target, gpfn, w.r.extent_order, w.below);
    if (!mfn) break;
    if (!w.memory.write(w.slot(i), std::uint64_t{*mfn}).ok()) break;
  }
  return i;
}

std::uint64_t decrease(const Walk& w, std::uint64_t i) {
  for (; i < w.r.nr_extents; ++i) {
    std::uint64_t gmfn = 0;
    if (!w.memory.read(w.slot(i), gmfn).ok()) break;
    // Frames of the extent given back before a failure stay given back (as in Xen).
    bool all = true;
    for (std::uint64_t j = 0; all && j < (std::uint64_t{1} << w.r.extent_order); ++j)
      all = w.ops.remove_page(w.target, gmfn + j).ok();
    if (!all) break;
  }
  return i;
}

}  // namespace

Result<Mfn> MmOps::reservation_alloc(DomainMemory& d, unsigned order, Mfn below) {
  Result<Mfn> block = c_.frames.alloc_domain_frames(d, order, below);
  if (!block) return block;
  // Never hand over what a previous owner left in the frames.
  for (Mfn m = *block; m < *block + (Mfn{1} << order); ++m)
    __builtin_memset(c_.memory.frame(m), 0, 4096);
  return block;
}

Result<Mfn> MmOps::populate_extent(DomainMemory& d, std::uint64_t gpfn, unsigned order,
                                   Mfn below) {
  Result<Mfn> block = reservation_alloc(d, order, below);
  if (!block) return block;
  for (std::uint64_t i = 0; i < (std::uint64_t{1} << order); ++i) c_.m2p.set(*block + i, gpfn + i);
  return block;
}

// guest_remove_page for a PV domain, where the "gmfn" is the machine frame itself: -EINVAL
// outside the frame table, -ENXIO unless `d` owns it. The allocation reference goes; the
// frame itself goes (and tot_pages drops) when nothing else references it.
Status MmOps::remove_page(DomainMemory& d, std::uint64_t gmfn) {
  if (!c_.frames.valid(gmfn)) return Status::error(-pv::XEN_EINVAL);
  if (!c_.frames.get_page(gmfn, d.domid)) return Status::error(-pv::XEN_ENXIO);
  c_.frames.drop_allocation(gmfn);
  const bool freed = c_.frames.page(gmfn).count() == 1;
  c_.frames.put_page(gmfn);
  // Stale translations of a freed frame must not outlive it (Xen's tlbflush timestamps).
  if (freed) c_.tlb.flush_tlb(d.domid, nullptr, kFlushAllVas);
  return kOk;
}

long memory_reservation(MmOps& ops, GuestMemory& memory, DomainMemory& caller, unsigned cmd,
                        std::uint64_t start_extent, std::uint64_t arg, std::uint64_t max_page) {
  pv::xen_memory_reservation r{};
  if (!memory.read(arg, r).ok()) return static_cast<long>(start_extent);
  const auto unchanged = static_cast<long>(start_extent);
  if (r.nr_extents > (std::numeric_limits<unsigned>::max() >> kMemopExtentShift) || start_extent >= r.nr_extents)
    return unchanged;
  DomainMemory* target =
      r.domid == pv::DOMID_SELF ? &caller : ops.context().frames.domain(r.domid);
  if (target == nullptr) return unchanged;
  Mfn below = 0;
  if (!memflags_limit(r, caller, max_page, below)) return unchanged;
  if (target != &caller && !caller.privileged) return unchanged;  // XSM_TARGET
  const bool on_demand =
      cmd == pv::XENMEM_populate_physmap && (r.mem_flags & pv::XENMEMF_populate_on_demand);
  const unsigned limit = on_demand ? kMaxOrder : max_order(caller);
  if (r.extent_order > limit) return unchanged;
  const bool need_list = cmd != pv::XENMEM_increase_reservation || r.extent_start.p != 0;
  if (need_list && !extent_range_ok(r.extent_start.p, start_extent, r.nr_extents - 1))
    return unchanged;
  const Walk w{ops, memory, *target, r, below};
  switch (cmd) {
    case pv::XENMEM_increase_reservation: return static_cast<long>(increase(w, start_extent));
    case pv::XENMEM_decrease_reservation: return static_cast<long>(decrease(w, start_extent));
    default: return static_cast<long>(populate(w, start_extent, on_demand, target == &caller));
  }
}

}  // namespace hv
