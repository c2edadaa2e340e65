// guest_memory: the address-range rule shared by every guest memory accessor.
#include "guest_memory.hpp"

#include <pv/arch_x86_64.hpp>

namespace hv {

bool guest_range_ok(std::uint64_t va, std::size_t size) {
  if (size == 0) return true;
  std::uint64_t last = va + size - 1;
  if (last < va) return false;  // wraps
  auto canonical = [](std::uint64_t a) { return a < 0x0000800000000000ull || a >= 0xFFFF800000000000ull; };
  // Both ends canonical and on the same side of the hole means the whole range is.
  if (!canonical(va) || !canonical(last) || ((va ^ last) >> 63) != 0) return false;
  return last < pv::HYPERVISOR_VIRT_START || va >= pv::HYPERVISOR_VIRT_END;
}

}  // namespace hv
