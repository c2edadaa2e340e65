// MemoryMap: normalizing an untrusted firmware map. Overlaps are resolved by cutting the map
// at every range boundary and giving each piece the most restrictive type that covers it.
#include "memory_map.hpp"

namespace hv {
namespace {

// Higher wins an overlap: anything that is not plain RAM must never be handed out as RAM.
int priority(MemoryType type) {
  switch (type) {
    case MemoryType::usable: return 0;
    case MemoryType::acpi_reclaimable: return 1;
    case MemoryType::persistent: return 2;
    case MemoryType::reserved: return 3;
    case MemoryType::acpi_nvs: return 4;
    case MemoryType::disabled: return 5;
    case MemoryType::unusable: return 6;
  }
  return 3;  // unknown types count as reserved
}

}  // namespace

const char* memory_type_name(MemoryType type) {
  switch (type) {
    case MemoryType::usable: return "usable";
    case MemoryType::reserved: return "reserved";
    case MemoryType::acpi_reclaimable: return "ACPI data";
    case MemoryType::acpi_nvs: return "ACPI NVS";
    case MemoryType::unusable: return "unusable";
    case MemoryType::disabled: return "disabled";
    case MemoryType::persistent: return "persistent";
  }
  return "unknown";
}

bool MemoryMap::add(std::uint64_t base, std::uint64_t size, MemoryType type) {
  if (size == 0) return true;
  // Clip a range that reaches or wraps past 2^64 so that end() stays representable.
  if (size > UINT64_MAX - base) size = UINT64_MAX - base;
  if (size == 0) return true;
  return ranges_.push_back({base, size, type});
}

void MemoryMap::normalize() {
  // Boundaries: every start and end, sorted and deduplicated.
  StaticVector<std::uint64_t, kMaxRanges * 2> cuts;
  auto add_cut = [&cuts](std::uint64_t point) {
    std::size_t i = 0;
    while (i < cuts.size() && cuts[i] < point) ++i;
    if (i < cuts.size() && cuts[i] == point) return;
    (void)cuts.insert(i, point);  // capacity is 2 per range: cannot fail
  };
  for (const auto& r : ranges_) {
    add_cut(r.base);
    add_cut(r.end());
  }
  // Each elementary piece takes the highest-priority type of the ranges covering it.
  StaticVector<MemoryRange, kMaxRanges> result;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    std::uint64_t lo = cuts[i], hi = cuts[i + 1];
    const MemoryRange* best = nullptr;
    for (const auto& r : ranges_) {
      bool covers = r.base <= lo && hi <= r.end() && r.end() != r.base;
      if (covers && (best == nullptr || priority(r.type) > priority(best->type))) best = &r;
    }
    if (best == nullptr) continue;  // a hole
    if (!result.empty() && result[result.size() - 1].type == best->type &&
        result[result.size() - 1].end() == lo) {
      result[result.size() - 1].size += hi - lo;
    } else if (!result.push_back({lo, hi - lo, best->type})) {
      break;  // more pieces than slots: the tail is dropped, i.e. treated as not RAM
    }
  }
  ranges_ = result;
}

std::uint64_t MemoryMap::total(MemoryType type) const {
  std::uint64_t sum = 0;
  for (const auto& r : ranges_)
    if (r.type == type) sum += r.size;
  return sum;
}

}  // namespace hv
