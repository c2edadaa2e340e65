// debugreg: the portable rules for a PV vCPU's debug registers (Xen's arch.dr/dr6/dr7).
// The guest's DR0-3/DR7 are live in hardware whenever any of its breakpoints is enabled, so
// a #DB can come from guest code or from a hypervisor access to a watched guest address;
// what the hardware reports in DR6 is folded into the guest's virtual DR6 only for the former.
#pragma once
#include <cstdint>

namespace hv {

// DR6 with no condition recorded: reserved bits 4-11 and 16-31 set (Xen's X86_DR6_DEFAULT).
inline constexpr std::uint64_t kDr6Default = 0xffff0ff0;
// DR7's L0-3/G0-3 enables (Xen's DR7_ACTIVE_MASK).
inline constexpr std::uint64_t kDr7ActiveMask = 0xff;
// DR7 with every breakpoint disabled (bit 10 reads as 1).
inline constexpr std::uint64_t kDr7Disabled = 0x400;

constexpr bool dr7_active(std::uint64_t dr7) { return (dr7 & kDr7ActiveMask) != 0; }

// Xen's do_debug for a #DB from guest context: conditions the hardware reported (bits that
// differ from the default: B0-3, BD, BS, BT set; RTM cleared) are added to the guest's DR6;
// bits the guest already had stay, so a handler sees every unacknowledged hit.
constexpr std::uint64_t merge_dr6(std::uint64_t guest_dr6, std::uint64_t hardware_dr6) {
  guest_dr6 |= hardware_dr6 & ~kDr6Default;
  guest_dr6 &= hardware_dr6 | ~kDr6Default;
  return guest_dr6;
}

}  // namespace hv
