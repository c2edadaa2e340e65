// FakeGuestMemory: a guest address space for hypercall tests: one flat buffer at a base
// address; anything outside it (or outside guest_range_ok) faults with -EFAULT.
#pragma once
#include <pv/errno.hpp>
#include <cstring>
#include <vector>

#include "core/guest_memory.hpp"

class FakeGuestMemory final : public hv::GuestMemory {
 public:
  static constexpr std::uint64_t kBase = 0x10000;
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(0x10000, 0);

  hv::Status copy_from_guest(void* dst, std::uint64_t va, std::size_t size) override {
    if (!inside(va, size)) return hv::Status::error(-pv::XEN_EFAULT);
    std::memcpy(dst, bytes.data() + (va - kBase), size);
    return hv::kOk;
  }
  hv::Status copy_to_guest(std::uint64_t va, const void* src, std::size_t size) override {
    if (!inside(va, size)) return hv::Status::error(-pv::XEN_EFAULT);
    std::memcpy(bytes.data() + (va - kBase), src, size);
    return hv::kOk;
  }
  void* at(std::uint64_t va) { return bytes.data() + (va - kBase); }

 private:
  bool inside(std::uint64_t va, std::size_t size) const {
    return hv::guest_range_ok(va, size) && va >= kBase && size <= bytes.size() &&
           va - kBase <= bytes.size() - size;
  }
};
