// balloon: memory_op reservation changes as Linux's balloon driver makes them (Xen 4.17
// common/memory.c). The guest gives frames back with XENMEM_decrease_reservation (machine
// frames for PV) and sees current_reservation drop and their M2P entries go invalid; a frame
// still mapped is given back but stays counted until the mapping goes; a frame given back
// twice is refused (0 extents done). XENMEM_populate_physmap brings memory back at the same
// pfns (M2P points at them, the new frames are writable and read back), and
// XENMEM_increase_reservation stops at max_pages, returning the extents done.
// On Xen the test needs dom0's max_pages near its size (guest_test passes dom0_mem=...,max:).
#include <pv/hypercall.hpp>
#include <pv/memory.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr unsigned kFrames = 4;
constexpr std::uint64_t kInvalidM2P = ~std::uint64_t{0};
constexpr std::uint64_t kMaxHeadroom = 256;  // larger: max_pages is effectively unlimited

long reservation_of_self(unsigned cmd) {
  pv::domid_t self = pv::DOMID_SELF;
  return guest::hypercall<pv::hypercall::memory_op>(cmd, reinterpret_cast<std::uint64_t>(&self));
}
long current() { return reservation_of_self(pv::XENMEM_current_reservation); }

long reserve(unsigned cmd, std::uint64_t* list, std::uint64_t n, unsigned order = 0) {
  pv::xen_memory_reservation r{};
  r.extent_start.p = reinterpret_cast<std::uint64_t>(list);
  r.nr_extents = n;
  r.extent_order = order;
  r.domid = pv::DOMID_SELF;
  return guest::hypercall<pv::hypercall::memory_op>(cmd, reinterpret_cast<std::uint64_t>(&r));
}

void expect(const char* what, long got, long want) {
  if (got != want) fail("%s: got %ld, expected %ld", what, got, want);
  print("ok: %s = %ld\n", what, got);
}

// Gives back kFrames unmapped frames plus one still mapped; returns their pfns.
void give_back(std::uint64_t (&pfns)[kFrames + 1]) {
  const long before = current();
  std::uint64_t mfns[kFrames];
  for (unsigned i = 0; i < kFrames; ++i) {
    mfns[i] = mm::alloc_frame();
    pfns[i] = mm::mfn_to_pfn(mfns[i]);
  }
  std::uint64_t list[kFrames];
  for (unsigned i = 0; i < kFrames; ++i) list[i] = mfns[i];
  expect("decrease_reservation(4 unmapped frames)", reserve(pv::XENMEM_decrease_reservation, list, kFrames), kFrames);
  expect("current_reservation drop", before - current(), kFrames);
  for (unsigned i = 0; i < kFrames; ++i)
    if (mm::mfn_to_pfn(mfns[i]) != kInvalidM2P) fail("M2P[%#lx] = %#lx after decrease", mfns[i], mm::mfn_to_pfn(mfns[i]));
  print("ok: the given-back frames' M2P entries are invalid\n");
  list[0] = mfns[0];
  expect("decrease_reservation(a frame given back already)", reserve(pv::XENMEM_decrease_reservation, list, 1), 0);

  // A frame still mapped: given back (counted as done) but freed only when unmapped.
  const std::uint64_t mapped = mm::alloc_frame();
  pfns[kFrames] = mm::mfn_to_pfn(mapped);
  void* va = mm::map_window(mapped, mm::PTE_P | mm::PTE_RW | mm::PTE_A | mm::PTE_D);
  if (va == nullptr) fail("cannot map frame %#lx", mapped);
  const long mid = current();
  list[0] = mapped;
  expect("decrease_reservation(a mapped frame)", reserve(pv::XENMEM_decrease_reservation, list, 1), 1);
  expect("current_reservation while still mapped", current(), mid);
  mm::unmap_window(va);
  expect("current_reservation after the unmap", current(), mid - 1);
}

// Populates the pfns again; the new frames' M2P entries name them and they hold data.
void populate(const std::uint64_t (&pfns)[kFrames + 1]) {
  const long before = current();
  std::uint64_t list[kFrames + 1];
  for (unsigned i = 0; i <= kFrames; ++i) list[i] = pfns[i];
  expect("populate_physmap(5 pfns)", reserve(pv::XENMEM_populate_physmap, list, kFrames + 1), kFrames + 1);
  expect("current_reservation rise", current() - before, kFrames + 1);
  for (unsigned i = 0; i <= kFrames; ++i) {
    if (mm::mfn_to_pfn(list[i]) != pfns[i]) fail("M2P[%#lx] = %#lx, want pfn %#lx", list[i], mm::mfn_to_pfn(list[i]), pfns[i]);
    auto* p = static_cast<volatile std::uint64_t*>(mm::map_window(list[i], mm::PTE_P | mm::PTE_RW | mm::PTE_A | mm::PTE_D));
    if (p == nullptr) fail("cannot map populated frame %#lx", list[i]);
    const std::uint64_t pattern = 0xba11000000 + i;
    p[0] = pattern;
    p[511] = ~pattern;
    if (p[0] != pattern || p[511] != ~pattern) fail("populated frame %#lx does not hold data", list[i]);
    mm::unmap_window(const_cast<std::uint64_t*>(p));
  }
  print("ok: populated frames map pfn -> mfn in the M2P and hold data\n");
}

// Asks for more than max_pages allows (after making 3 pages of room): exactly the headroom
// is granted, then given back.
void increase_past_max() {
  std::uint64_t room[3];
  for (std::uint64_t& f : room) f = mm::alloc_frame();
  expect("decrease_reservation(3 frames of room)", reserve(pv::XENMEM_decrease_reservation, room, 3), 3);
  const long cur = current(), max = reservation_of_self(pv::XENMEM_maximum_reservation);
  print("current %ld pages, maximum %ld pages\n", cur, max);
  std::uint64_t order19[1] = {};
  expect("increase_reservation(order 19 > max order 18)", reserve(pv::XENMEM_increase_reservation, order19, 1, 19), 0);
  if (max < cur) fail("maximum_reservation %ld below current %ld", max, cur);
  const std::uint64_t headroom = static_cast<std::uint64_t>(max - cur);
  if (headroom > kMaxHeadroom) fail("max_pages %ld leaves %lu pages of headroom: cannot test the limit", max, headroom);
  static std::uint64_t list[kMaxHeadroom + 3];
  expect("increase_reservation(headroom + 3)", reserve(pv::XENMEM_increase_reservation, list, headroom + 3), static_cast<long>(headroom));
  expect("current_reservation at max", current(), max);
  if (headroom != 0)
    expect("decrease_reservation(the new frames)", reserve(pv::XENMEM_decrease_reservation, list, headroom), static_cast<long>(headroom));
  expect("current_reservation back", current(), cur);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  std::uint64_t pfns[kFrames + 1];
  give_back(pfns);
  populate(pfns);
  increase_past_max();
}
