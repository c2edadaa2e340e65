// power: power off through the debug-exit port (tests) or ACPI S5; halt if neither works.
#include "power.hpp"

#include "core/log.hpp"
#include "core/panic.hpp"
#include "io.hpp"

namespace hv::x86 {

struct PowerState {
  acpi::PowerOff acpi;
  std::uint16_t debug_exit_port = 0;
};
constinit static PowerState power;  // set once at boot

void power_init(const acpi::PowerOff& acpi_info, std::uint16_t debug_exit_port) {
  power.acpi = acpi_info;
  power.debug_exit_port = debug_exit_port;
}

void power_off(ExitStatus status) {
  if (power.debug_exit_port != 0) {
    HV_INFO(boot, "exiting through debug port %#x with status %#x", power.debug_exit_port,
            static_cast<unsigned>(status));
    outb(power.debug_exit_port, static_cast<std::uint8_t>(status));
  }
  if (power.acpi.valid) {
    HV_INFO(boot, "powering off (ACPI S5)");
    constexpr std::uint16_t kSlpEn = 1u << 13;
    outw(power.acpi.pm1a_cnt, static_cast<std::uint16_t>((power.acpi.slp_typa << 10) | kSlpEn));
    if (power.acpi.pm1b_cnt != 0)
      outw(power.acpi.pm1b_cnt, static_cast<std::uint16_t>((power.acpi.slp_typb << 10) | kSlpEn));
    // The chipset acts asynchronously; give it a moment (a few billion TSC ticks, i.e. about
    // a second on any machine) before concluding that S5 did not happen.
    for (std::uint64_t start = rdtsc(); rdtsc() - start < 3'000'000'000ull;) asm volatile("pause");
  }
  HV_ERROR(boot, "power off failed; halting");
  halt_forever();
}

}  // namespace hv::x86

namespace hv {
// After a panic the machine stays up for inspection (as Xen's `noreboot`), except under test,
// where the debug-exit port reports the failure at once.
void platform_stop_after_panic() {
  if (x86::power.debug_exit_port != 0)
    x86::outb(x86::power.debug_exit_port, static_cast<std::uint8_t>(x86::ExitStatus::failure));
  x86::halt_forever();
}
}  // namespace hv
