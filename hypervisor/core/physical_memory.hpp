// PhysicalMemory: how portable code reads machine memory it was told about (boot loader
// structures, ACPI tables). The kernel answers through its direct map; tests with a fake.
// A reader never returns a pointer to a range it cannot vouch for.
#pragma once
#include <cstddef>
#include <cstdint>


namespace hv {

class PhysicalMemory {
 public:
  // A pointer to `size` readable bytes at `paddr`, or nullptr if any part is unmapped.
  virtual const void* view(std::uint64_t paddr, std::uint64_t size) const = 0;

  // Copies a plain object out (no alignment assumptions); false when unreadable.
  template <typename T>
  bool read(std::uint64_t paddr, T& out) const {
    const void* p = view(paddr, sizeof(T));
    if (p == nullptr) return false;
    __builtin_memcpy(&out, p, sizeof(T));
    return true;
  }

  // Copies a NUL-terminated string of at most size-1 chars into buf (always terminated).
  // Returns false when the string is unreadable.
  bool read_string(std::uint64_t paddr, char* buf, std::size_t size) const;

 protected:
  ~PhysicalMemory() = default;
};

}  // namespace hv
