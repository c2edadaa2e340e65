// FrameAllocator: binary buddy system over frame indices. Free blocks of each order sit on a
// doubly-linked list threaded through the per-frame Slots; a block's buddy is found by
// flipping bit `order` of its first frame number, so freeing can coalesce in O(max order).
#include "frame_allocator.hpp"

#include "panic.hpp"
#include "pv/errno.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kPageSize = 4096;

// Frame range [first, last) of `reserved` that a 4 KiB frame can touch (rounded outwards).
struct FrameSpan {
  Mfn first;
  Mfn last;
};
FrameSpan frames_touching(const ReservedRange& r) {
  Mfn first = r.base / kPageSize;
  std::uint64_t end = r.base + r.size;
  if (end < r.base) end = ~std::uint64_t{0};  // clip a wrapping range at 2^64
  Mfn last = end / kPageSize + ((end % kPageSize) != 0 ? 1 : 0);
  return {first, last};
}

}  // namespace

void FrameAllocator::init(std::span<Slot> storage) {
  HV_ASSERT(storage.size() < kNil);
  slots_ = storage;
  for (Slot& s : slots_) s = Slot{kNil, kNil, 0, kUnavailable, 0};
  for (unsigned o = 0; o <= kMaxOrder; ++o) {
    heads_[o] = kNil;
    counts_[o] = 0;
  }
  free_frames_ = 0;
}

void FrameAllocator::push(std::uint32_t index, unsigned order) {
  Slot& s = slots_[index];
  s.state = kFreeHead;
  s.order = static_cast<std::uint8_t>(order);
  s.prev = kNil;
  s.next = heads_[order];
  if (s.next != kNil) slots_[s.next].prev = index;
  heads_[order] = index;
  ++counts_[order];
}

void FrameAllocator::unlink(std::uint32_t index, unsigned order) {
  Slot& s = slots_[index];
  if (s.prev != kNil) slots_[s.prev].next = s.next;
  else heads_[order] = s.next;
  if (s.next != kNil) slots_[s.next].prev = s.prev;
  s.next = s.prev = kNil;
  --counts_[order];
}

void FrameAllocator::mark_allocated(std::uint32_t head, unsigned order) {
  slots_[head].state = kAllocatedHead;
  slots_[head].order = static_cast<std::uint8_t>(order);
}

// Merges the block at `index` with free buddies as far as possible, then lists it.
void FrameAllocator::release(std::uint32_t index, unsigned order) {
  while (order < kMaxOrder) {
    std::uint64_t buddy = std::uint64_t{index} ^ (std::uint64_t{1} << order);
    if (buddy >= slots_.size()) break;
    const Slot& b = slots_[buddy];
    if (b.state != kFreeHead || b.order != order) break;
    unlink(static_cast<std::uint32_t>(buddy), order);
    std::uint32_t low = index < buddy ? index : static_cast<std::uint32_t>(buddy);
    std::uint32_t high = index < buddy ? static_cast<std::uint32_t>(buddy) : index;
    slots_[high].state = kInside;
    index = low;
    ++order;
  }
  push(index, order);
}

void FrameAllocator::add_free_range(Mfn first, std::uint64_t count) {
  HV_ASSERT(first <= slots_.size() && count <= slots_.size() - first);
  for (Mfn m = first; m < first + count; ++m) {
    if (slots_[m].state != kUnavailable) HV_PANIC("frame %#llx added twice", (unsigned long long)m);
    slots_[m].state = kInside;
  }
  Mfn m = first;
  const Mfn end = first + count;
  while (m < end) {
    unsigned order = 0;
    while (order < kMaxOrder && (m & ((Mfn{2} << order) - 1)) == 0 && m + (Mfn{2} << order) <= end)
      ++order;
    mark_allocated(static_cast<std::uint32_t>(m), order);
    free_frames_ += Mfn{1} << order;
    release(static_cast<std::uint32_t>(m), order);
    m += Mfn{1} << order;
  }
}

std::uint64_t FrameAllocator::add_usable(const MemoryMap& map,
                                         std::span<const ReservedRange> reserved) {
  std::uint64_t added = 0;
  for (const MemoryRange& r : map.ranges()) {
    if (r.type != MemoryType::usable) continue;
    Mfn m = (r.base + kPageSize - 1) / kPageSize;  // only whole frames are RAM
    Mfn end = r.end() / kPageSize;
    if (end > slots_.size()) end = slots_.size();
    while (m < end) {
      // Skip past a reserved range covering m, else find where the next one starts.
      Mfn run_end = end;
      bool blocked = false;
      for (const ReservedRange& res : reserved) {
        FrameSpan f = frames_touching(res);
        if (f.first <= m && m < f.last) {
          m = f.last;
          blocked = true;
          break;
        }
        if (f.first > m && f.first < run_end) run_end = f.first;
      }
      if (blocked) continue;
      add_free_range(m, run_end - m);
      added += run_end - m;
      m = run_end;
    }
  }
  return added;
}

// Removes a block able to hold 2^order frames below `limit` and splits it down to `order`.
std::uint32_t FrameAllocator::take_block(unsigned order, Mfn limit) {
  for (unsigned o = order; o <= kMaxOrder; ++o) {
    for (std::uint32_t i = heads_[o]; i != kNil; i = slots_[i].next) {
      if (i + (Mfn{1} << order) > limit) continue;
      unlink(i, o);
      while (o > order) {  // keep the low half, list the high halves
        --o;
        push(i + (std::uint32_t{1} << o), o);
      }
      return i;
    }
  }
  return kNil;
}

Result<Mfn> FrameAllocator::alloc_below(unsigned order, Mfn limit) {
  if (order > kMaxOrder) return Status::error(-pv::XEN_ENOMEM);
  std::uint32_t i = take_block(order, limit);
  if (i == kNil) return Status::error(-pv::XEN_ENOMEM);
  mark_allocated(i, order);
  free_frames_ -= Mfn{1} << order;
  return Mfn{i};
}

Result<Mfn> FrameAllocator::alloc(unsigned order) { return alloc_below(order, ~Mfn{0}); }

bool FrameAllocator::is_allocated(Mfn mfn, unsigned order) const {
  return mfn < slots_.size() && slots_[mfn].state == kAllocatedHead && slots_[mfn].order == order;
}

void FrameAllocator::free(Mfn mfn, unsigned order) {
  if (order > kMaxOrder || !is_allocated(mfn, order))
    HV_PANIC("bad free of frame %#llx order %u", (unsigned long long)mfn, order);
  free_frames_ += Mfn{1} << order;
  release(static_cast<std::uint32_t>(mfn), order);
}

void FrameAllocator::split_to_frames(Mfn mfn, unsigned order) {
  if (order > kMaxOrder || !is_allocated(mfn, order))
    HV_PANIC("bad split of frame %#llx order %u", (unsigned long long)mfn, order);
  for (Mfn m = mfn; m < mfn + (Mfn{1} << order); ++m)
    mark_allocated(static_cast<std::uint32_t>(m), 0);
}

}  // namespace hv
