// FrameAllocator: a buddy allocator of 4 KiB machine frames, fed from the usable RAM of the
// memory map. It must never hand out a frame twice, a reserved frame, or accept back a block
// it did not hand out (a double free is a hypervisor bug and panics).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "memory_map.hpp"
#include "result.hpp"

namespace hv {

using Mfn = std::uint64_t;  // machine frame number (machine address >> 12)

// A machine-address range [base, base + size) the allocator must never hand out.
struct ReservedRange {
  std::uint64_t base;
  std::uint64_t size;
};

class FrameAllocator {
 public:
  static constexpr unsigned kMaxOrder = 18;  // largest block: 2^18 frames = 1 GiB

  // Per-frame metadata, kept in storage the caller provides (one Slot per frame covered).
  // Only the first frame of a block ("head") carries meaning; the rest are `inside`.
  struct Slot {
    std::uint32_t next;   // free-list links (frame indices), kNil at the ends
    std::uint32_t prev;
    std::uint8_t order;   // block order, valid at a head
    std::uint8_t state;   // State below
    std::uint16_t pad;
  };
  static_assert(sizeof(Slot) == 12);

  // Bytes of metadata needed to cover frames [0, nr_frames).
  static constexpr std::size_t metadata_bytes(std::uint64_t nr_frames) {
    return static_cast<std::size_t>(nr_frames) * sizeof(Slot);
  }

  // Covers frames [0, storage.size()); every frame starts out unavailable. Frame numbers must
  // fit the 32-bit links, so at most 2^32 - 1 frames (16 TiB).
  void init(std::span<Slot> storage);

  // Hands every usable frame of `map` inside the covered range to the allocator, except those
  // touching any `reserved` range. Returns the number of frames added.
  std::uint64_t add_usable(const MemoryMap& map, std::span<const ReservedRange> reserved);

  // Hands frames [first, first + count) to the allocator (they must be unavailable so far).
  void add_free_range(Mfn first, std::uint64_t count);

  // A naturally aligned block of 2^order frames, or -ENOMEM.
  [[nodiscard]] Result<Mfn> alloc(unsigned order);
  // Like alloc, but the whole block lies below machine frame `limit` (for DMA-style needs).
  [[nodiscard]] Result<Mfn> alloc_below(unsigned order, Mfn limit);
  // Returns a block obtained from alloc*(order). Panics on anything else.
  void free(Mfn mfn, unsigned order);
  // Turns an allocated block of 2^order frames into 2^order allocated order-0 blocks, so that
  // its frames can be freed one by one (a domain's memory is freed a frame at a time).
  void split_to_frames(Mfn mfn, unsigned order);

  std::uint64_t free_frames() const { return free_frames_; }
  std::uint64_t free_blocks(unsigned order) const {
    return order <= kMaxOrder ? counts_[order] : 0;
  }
  std::uint64_t covered_frames() const { return slots_.size(); }
  // True if `mfn` is the head of a block currently handed out with this order.
  bool is_allocated(Mfn mfn, unsigned order) const;

 private:
  enum State : std::uint8_t { kUnavailable = 0, kFreeHead = 1, kAllocatedHead = 2, kInside = 3 };
  static constexpr std::uint32_t kNil = 0xffffffffu;

  void push(std::uint32_t index, unsigned order);
  void unlink(std::uint32_t index, unsigned order);
  void mark_allocated(std::uint32_t head, unsigned order);
  std::uint32_t take_block(unsigned order, Mfn limit);
  void release(std::uint32_t index, unsigned order);

  std::span<Slot> slots_;
  std::uint32_t heads_[kMaxOrder + 1] = {};
  std::uint64_t counts_[kMaxOrder + 1] = {};
  std::uint64_t free_frames_ = 0;
};

}  // namespace hv
