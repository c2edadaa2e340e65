// frame_allocator_test: the buddy allocator hands out aligned, disjoint blocks, never reserved
// frames, coalesces on free, and panics on frees of blocks it did not hand out.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "core/frame_allocator.hpp"
#include "fake_machine.hpp"
#include "pv/errno.hpp"

namespace {

using hv::FrameAllocator;
using hv::Mfn;

struct Allocator {
  explicit Allocator(std::uint64_t frames) : slots(frames) { a.init(slots); }
  std::vector<FrameAllocator::Slot> slots;
  FrameAllocator a;
};

TEST(FrameAllocator, FreeRangeCoalescesIntoMaximalBlocks) {
  Allocator t(1 << 12);
  t.a.add_free_range(0, 1 << 12);
  EXPECT_EQ(t.a.free_frames(), 4096u);
  EXPECT_EQ(t.a.free_blocks(12), 1u);  // one 16 MiB block
  t.a.add_free_range(0, 0);
  EXPECT_EQ(FrameAllocator::metadata_bytes(10), 120u);
}

TEST(FrameAllocator, UnalignedRangeSplitsIntoAlignedBlocks) {
  Allocator t(64);
  t.a.add_free_range(3, 37);  // 3, 4-7, 8-15, 16-31, 32-39
  EXPECT_EQ(t.a.free_frames(), 37u);
  EXPECT_EQ(t.a.free_blocks(0), 1u);
  EXPECT_EQ(t.a.free_blocks(2), 1u);
  EXPECT_EQ(t.a.free_blocks(3), 2u);
  EXPECT_EQ(t.a.free_blocks(4), 1u);
  hv::Result<Mfn> big = t.a.alloc(4);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, 16u);
}

TEST(FrameAllocator, AllocReturnsAlignedDisjointBlocksAndFreeRestoresEverything) {
  Allocator t(1024);
  t.a.add_free_range(0, 1024);
  std::vector<std::pair<Mfn, unsigned>> got;
  std::vector<bool> used(1024);
  for (unsigned order : {0u, 3u, 1u, 5u, 0u, 9u, 2u, 4u}) {
    hv::Result<Mfn> r = t.a.alloc(order);
    ASSERT_TRUE(r.ok()) << "order " << order;
    EXPECT_EQ(*r % (Mfn{1} << order), 0u) << "misaligned";
    for (Mfn m = *r; m < *r + (Mfn{1} << order); ++m) {
      EXPECT_FALSE(used[m]) << "frame " << m << " handed out twice";
      used[m] = true;
    }
    got.emplace_back(*r, order);
  }
  for (auto [m, o] : got) t.a.free(m, o);
  EXPECT_EQ(t.a.free_frames(), 1024u);
  EXPECT_EQ(t.a.free_blocks(10), 1u);
}

TEST(FrameAllocator, ExhaustionReportsEnomem) {
  Allocator t(16);
  t.a.add_free_range(0, 16);
  EXPECT_EQ(t.a.alloc(5).status().code(), -pv::XEN_ENOMEM);     // bigger than everything
  EXPECT_EQ(t.a.alloc(19).status().code(), -pv::XEN_ENOMEM);    // beyond kMaxOrder
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(t.a.alloc(0).ok());
  EXPECT_EQ(t.a.alloc(0).status().code(), -pv::XEN_ENOMEM);
  EXPECT_EQ(t.a.free_frames(), 0u);
}

TEST(FrameAllocator, AllocBelowLimitOnlyUsesLowFrames) {
  Allocator t(4096);
  t.a.add_free_range(1024, 3072);
  EXPECT_EQ(t.a.alloc_below(0, 1024).status().code(), -pv::XEN_ENOMEM);
  hv::Result<Mfn> r = t.a.alloc_below(2, 1100);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(*r, 1024u);
  EXPECT_LE(*r + 4, 1100u);
  hv::Result<Mfn> big = t.a.alloc_below(10, 2048);
  EXPECT_FALSE(big.ok()) << "the only block below 2048 is partly used";
}

TEST(FrameAllocator, UsableMapMinusReservedRanges) {
  hv::MemoryMap map;
  ASSERT_TRUE(map.add(0, 0x9fc00, hv::MemoryType::usable));
  ASSERT_TRUE(map.add(0x100000, 0x700000, hv::MemoryType::usable));  // 1 MiB .. 8 MiB
  ASSERT_TRUE(map.add(0x800000, 0x100000, hv::MemoryType::reserved));
  map.normalize();
  Allocator t(4096);  // covers 16 MiB, only 8 MiB is RAM
  const hv::ReservedRange reserved[] = {{0, 0x100000}, {0x200800, 0x1000}};  // low MiB, image
  std::uint64_t added = t.a.add_usable(map, reserved);
  EXPECT_EQ(added, 0x700u - 2);  // 1..8 MiB minus two frames touched by the unaligned image
  std::vector<bool> seen(4096);
  while (true) {
    hv::Result<Mfn> r = t.a.alloc(0);
    if (!r.ok()) break;
    EXPECT_GE(*r, 0x100u);
    EXPECT_LT(*r, 0x800u);
    EXPECT_NE(*r, 0x200u);
    EXPECT_NE(*r, 0x201u);
    EXPECT_FALSE(seen[*r]);
    seen[*r] = true;
  }
}

TEST(FrameAllocator, SplitLetsFramesBeFreedOneByOne) {
  Allocator t(64);
  t.a.add_free_range(0, 64);
  hv::Result<Mfn> r = t.a.alloc(3);
  ASSERT_TRUE(r.ok());
  t.a.split_to_frames(*r, 3);
  for (Mfn m = *r; m < *r + 8; ++m) EXPECT_TRUE(t.a.is_allocated(m, 0));
  for (Mfn m = *r; m < *r + 8; ++m) t.a.free(m, 0);
  EXPECT_EQ(t.a.free_blocks(6), 1u);
}

TEST(FrameAllocator, RandomizedAgainstModel) {
  Allocator t(2048);
  t.a.add_free_range(5, 2000);
  std::mt19937_64 rng(42);
  std::map<Mfn, unsigned> live;
  std::vector<bool> used(2048);
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      unsigned order = static_cast<unsigned>(rng() % 6);
      hv::Result<Mfn> r = t.a.alloc(order);
      if (!r.ok()) continue;
      for (Mfn m = *r; m < *r + (Mfn{1} << order); ++m) {
        ASSERT_GE(m, 5u);
        ASSERT_LT(m, 2005u);
        ASSERT_FALSE(used[m]);
        used[m] = true;
      }
      live[*r] = order;
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      for (Mfn m = it->first; m < it->first + (Mfn{1} << it->second); ++m) used[m] = false;
      t.a.free(it->first, it->second);
      live.erase(it);
    }
  }
  std::uint64_t in_use = 0;
  for (auto [m, o] : live) in_use += Mfn{1} << o;
  EXPECT_EQ(t.a.free_frames() + in_use, 2000u);
}

TEST(FrameAllocatorDeathTest, DoubleFreePanics) {
  mmtest::log_to_stderr();
  Allocator t(64);
  t.a.add_free_range(0, 64);
  hv::Result<Mfn> r = t.a.alloc(0);
  ASSERT_TRUE(r.ok());
  t.a.free(*r, 0);
  EXPECT_DEATH(t.a.free(*r, 0), "bad free");
}

TEST(FrameAllocatorDeathTest, FreeOfNeverAllocatedOrWrongOrderPanics) {
  mmtest::log_to_stderr();
  Allocator t(64);
  t.a.add_free_range(0, 32);
  EXPECT_DEATH(t.a.free(40, 0), "bad free");   // never available
  EXPECT_DEATH(t.a.free(8, 0), "bad free");    // free, inside a block
  hv::Result<Mfn> r = t.a.alloc(2);
  ASSERT_TRUE(r.ok());
  EXPECT_DEATH(t.a.free(*r, 1), "bad free");   // wrong order
  EXPECT_DEATH(t.a.free(*r + 1, 0), "bad free");  // tail of an allocated block
  EXPECT_DEATH(t.a.add_free_range(0, 1), "added twice");
}

}  // namespace
