// power: ending the machine. ACPI S5 as a real machine does, or QEMU's isa-debug-exit port
// when the `debug_exit=PORT` boot option asks for it (tests get an exit status that way).
#pragma once
#include <cstdint>

#include "core/acpi.hpp"

namespace hv::x86 {

// Status values written to the debug-exit port; QEMU exits with (value << 1) | 1.
enum class ExitStatus : std::uint8_t { success = 0x10, failure = 0x11 };

void power_init(const acpi::PowerOff& acpi, std::uint16_t debug_exit_port);
[[noreturn]] void power_off(ExitStatus status);

}  // namespace hv::x86
