// MemoryMap: the machine's physical memory map as the firmware or loader reported it,
// normalized so that ranges are sorted, never overlap, and any doubt resolves to "not RAM".
#pragma once
#include <cstdint>

#include "static_vector.hpp"

namespace hv {

// E820 type numbers (shared by multiboot2's memory map and PVH's hvm_memmap_table_entry).
enum class MemoryType : std::uint32_t {
  usable = 1,
  reserved = 2,
  acpi_reclaimable = 3,
  acpi_nvs = 4,
  unusable = 5,
  disabled = 6,
  persistent = 7,
};

const char* memory_type_name(MemoryType type);

struct MemoryRange {
  std::uint64_t base;
  std::uint64_t size;
  MemoryType type;
  std::uint64_t end() const { return base + size; }
};

class MemoryMap {
 public:
  static constexpr std::size_t kMaxRanges = 128;

  // Adds a range as reported; empty or wrapping ranges are dropped (clipped at 2^64).
  // Returns false when the table is full.
  [[nodiscard]] bool add(std::uint64_t base, std::uint64_t size, MemoryType type);
  // Sorts and resolves overlaps: where two ranges overlap, the more restrictive type (the
  // higher priority, see memory_map.cpp) wins; adjacent ranges of one type are merged.
  void normalize();

  std::uint64_t total(MemoryType type) const;
  const StaticVector<MemoryRange, kMaxRanges>& ranges() const { return ranges_; }

 private:
  StaticVector<MemoryRange, kMaxRanges> ranges_;
};

}  // namespace hv
