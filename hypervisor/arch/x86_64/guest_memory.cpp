// guest_memory (arch): range check, then hv_copy_guest (usercopy.S) which survives faults.
#include "guest_memory.hpp"

#include <pv/errno.hpp>

extern "C" std::uint64_t hv_copy_guest(void* dst, const void* src, std::size_t n);

namespace hv::x86 {

Status CurrentGuestMemory::copy_from_guest(void* dst, std::uint64_t guest_va, std::size_t size) {
  if (!guest_range_ok(guest_va, size)) return Status::error(-pv::XEN_EFAULT);
  if (hv_copy_guest(dst, reinterpret_cast<const void*>(guest_va), size) != 0)
    return Status::error(-pv::XEN_EFAULT);
  return kOk;
}

Status CurrentGuestMemory::copy_to_guest(std::uint64_t guest_va, const void* src, std::size_t size) {
  if (!guest_range_ok(guest_va, size)) return Status::error(-pv::XEN_EFAULT);
  if (hv_copy_guest(reinterpret_cast<void*>(guest_va), src, size) != 0)
    return Status::error(-pv::XEN_EFAULT);
  return kOk;
}

}  // namespace hv::x86
