// trap_frame: the register frame entry.S builds on every entry (pushed in reverse): the
// portable GuestRegisters layout, so a guest's frame is its saved state as is.
#pragma once
#include "core/guest_registers.hpp"

namespace hv::x86 {

using TrapFrame = GuestRegisters;

void idt_init();

}  // namespace hv::x86
