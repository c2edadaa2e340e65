// memory_map_test: normalizing firmware memory maps, including overlapping and hostile ones.
#include <gtest/gtest.h>

#include <random>

#include "core/memory_map.hpp"

namespace {
using hv::MemoryMap;
using hv::MemoryType;

void expect_sorted_disjoint(const MemoryMap& map) {
  const auto& r = map.ranges();
  for (std::size_t i = 0; i + 1 < r.size(); ++i) {
    EXPECT_LE(r[i].end(), r[i + 1].base) << "range " << i << " overlaps the next";
    EXPECT_FALSE(r[i].end() == r[i + 1].base && r[i].type == r[i + 1].type) << "unmerged at " << i;
  }
}

TEST(MemoryMap, QemuLikeMapIsKeptAsIs) {
  MemoryMap m;
  ASSERT_TRUE(m.add(0, 0x9fc00, MemoryType::usable));
  ASSERT_TRUE(m.add(0x9fc00, 0x400, MemoryType::reserved));
  ASSERT_TRUE(m.add(0xf0000, 0x10000, MemoryType::reserved));
  ASSERT_TRUE(m.add(0x100000, 0x1fee0000, MemoryType::usable));
  m.normalize();
  ASSERT_EQ(m.ranges().size(), 4u);
  EXPECT_EQ(m.total(MemoryType::usable), 0x9fc00u + 0x1fee0000u);
  expect_sorted_disjoint(m);
}

TEST(MemoryMap, ReservedWinsOverlapsAndAdjacentMerge) {
  MemoryMap m;
  ASSERT_TRUE(m.add(0x100000, 0x100000, MemoryType::usable));
  ASSERT_TRUE(m.add(0x180000, 0x10000, MemoryType::reserved));  // hole punched into RAM
  ASSERT_TRUE(m.add(0x200000, 0x100000, MemoryType::usable));    // adjacent: merges
  ASSERT_TRUE(m.add(0x150000, 0x10000, MemoryType::acpi_nvs));
  m.normalize();
  expect_sorted_disjoint(m);
  EXPECT_EQ(m.total(MemoryType::reserved), 0x10000u);
  EXPECT_EQ(m.total(MemoryType::acpi_nvs), 0x10000u);
  EXPECT_EQ(m.total(MemoryType::usable), 0x200000u - 0x20000u);
  EXPECT_EQ(m.ranges()[m.ranges().size() - 1].end(), 0x300000u);
}

TEST(MemoryMap, UnknownTypesAreNeverRam) {
  MemoryMap m;
  ASSERT_TRUE(m.add(0, 0x10000, MemoryType::usable));
  ASSERT_TRUE(m.add(0x8000, 0x1000, static_cast<MemoryType>(0x1234)));
  m.normalize();
  EXPECT_EQ(m.total(MemoryType::usable), 0xf000u);
}

TEST(MemoryMap, WrappingAndEmptyRangesAreClipped) {
  MemoryMap m;
  ASSERT_TRUE(m.add(0xfffffffffffff000ull, 0x10000, MemoryType::reserved));
  ASSERT_TRUE(m.add(0x1000, 0, MemoryType::usable));
  m.normalize();
  ASSERT_EQ(m.ranges().size(), 1u);
  EXPECT_EQ(m.ranges()[0].end(), UINT64_MAX);
}

TEST(MemoryMap, FullTableRefusesMore) {
  MemoryMap m;
  for (std::size_t i = 0; i < MemoryMap::kMaxRanges; ++i)
    ASSERT_TRUE(m.add(i * 0x2000, 0x1000, MemoryType::usable));
  EXPECT_FALSE(m.add(0x10000000, 0x1000, MemoryType::usable));
}

TEST(MemoryMap, RandomOverlapsKeepInvariants) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    MemoryMap m;
    for (int i = 0; i < 20; ++i) {
      std::uint64_t base = (rng() % 64) << 12, size = ((rng() % 16) + 1) << 12;
      ASSERT_TRUE(m.add(base, size, static_cast<MemoryType>(1 + rng() % 7)));
    }
    // Reference: the type of each page after resolution, by brute force.
    auto before = m.ranges();
    m.normalize();
    expect_sorted_disjoint(m);
    for (std::uint64_t page = 0; page < 96; ++page) {
      std::uint64_t addr = page << 12;
      bool ram_expected = false, covered = false, any_other = false;
      for (const auto& r : before)
        if (r.base <= addr && addr < r.end()) {
          covered = true;
          if (r.type == MemoryType::usable) ram_expected = true; else any_other = true;
        }
      ram_expected = ram_expected && !any_other;
      bool ram = false, present = false;
      for (const auto& r : m.ranges())
        if (r.base <= addr && addr < r.end()) { present = true; ram = r.type == MemoryType::usable; }
      EXPECT_EQ(present, covered) << "page " << page;
      EXPECT_EQ(ram, ram_expected) << "page " << page;
    }
  }
}

}  // namespace
