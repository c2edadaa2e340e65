// IoPortRanges: the I/O ports a domain may access directly (Xen's ioport_caps rangeset):
// sorted, disjoint, non-adjacent inclusive ranges. Fixed capacity: a permit that would need
// more ranges than fit fails and changes nothing, so permissions never silently widen.
#pragma once
#include <cstdint>

namespace hv {

class IoPortRanges {
 public:
  static constexpr unsigned kMaxRanges = 32;

  // Adds [first, last]; false (nothing changed) when the set would need too many ranges.
  [[nodiscard]] bool permit(std::uint16_t first, std::uint16_t last);
  // Removes [first, last]; false (nothing changed) when splitting a range does not fit.
  [[nodiscard]] bool deny(std::uint16_t first, std::uint16_t last);
  // Whether every port of [first, last] is permitted (Xen ioports_access_permitted).
  bool permitted(unsigned first, unsigned last) const;
  unsigned count() const { return count_; }

 private:
  struct Range {
    std::uint32_t first, last;
  };
  Range ranges_[kMaxRanges] = {};
  unsigned count_ = 0;
};

// The hardware domain's ports, as Xen's dom0_setup_permissions grants them: all, except the
// PICs, the PIT and port 0x61, PCI config data (0xcfc-0xcff; 0xcf8 is emulated), the ACPI PM
// timer when the hypervisor knows one (`pm_timer_port`, 0: none) and the hypervisor's own
// 16550 (8 ports from `serial_base`, as Xen's ns16550 driver takes them away). False when
// the set cannot hold them.
[[nodiscard]] bool grant_hardware_domain_ports(IoPortRanges& ports, std::uint16_t pm_timer_port,
                                               std::uint16_t serial_base);

}  // namespace hv
