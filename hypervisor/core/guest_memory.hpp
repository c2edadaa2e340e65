// GuestMemory: the one way hypercall handlers touch guest memory. Addresses are guest
// virtual addresses in the current guest address space; every access is range-checked
// (canonical, outside the hypervisor's reserved range) and survives a fault (-EFAULT).
#pragma once
#include <cstddef>
#include <cstdint>

#include "result.hpp"

namespace hv {

class GuestMemory {
 public:
  virtual Status copy_from_guest(void* dst, std::uint64_t guest_va, std::size_t size) = 0;
  virtual Status copy_to_guest(std::uint64_t guest_va, const void* src, std::size_t size) = 0;

  template <typename T>
  Status read(std::uint64_t guest_va, T& out) { return copy_from_guest(&out, guest_va, sizeof(T)); }
  template <typename T>
  Status write(std::uint64_t guest_va, const T& value) { return copy_to_guest(guest_va, &value, sizeof(T)); }

 protected:
  ~GuestMemory() = default;
};

// True when [va, va+size) is canonical and entirely outside the hypervisor's range, i.e. a
// range a guest may name. The arch's accessors check this before touching anything.
bool guest_range_ok(std::uint64_t va, std::size_t size);

}  // namespace hv
