// FakePhysicalMemory: a sparse machine memory for tests of loader and firmware parsers.
// Only bytes that a test placed are readable, so a parser that strays gets nullptr.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "core/physical_memory.hpp"

class FakePhysicalMemory final : public hv::PhysicalMemory {
 public:
  void place(std::uint64_t paddr, const void* data, std::size_t size) {
    auto& block = blocks_[paddr];
    block.assign(static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + size);
  }
  template <typename T>
  void place(std::uint64_t paddr, const T& value) { place(paddr, &value, sizeof value); }
  void place_string(std::uint64_t paddr, const char* s) { place(paddr, s, std::strlen(s) + 1); }

  const void* view(std::uint64_t paddr, std::uint64_t size) const override {
    auto it = blocks_.upper_bound(paddr);
    if (it == blocks_.begin()) return nullptr;
    --it;
    std::uint64_t offset = paddr - it->first;
    if (offset > it->second.size() || size > it->second.size() - offset) return nullptr;
    return it->second.data() + offset;
  }

 private:
  std::map<std::uint64_t, std::vector<std::uint8_t>> blocks_;
};
