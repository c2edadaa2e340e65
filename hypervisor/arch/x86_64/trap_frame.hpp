// trap_frame: the register frame entry.S builds on every entry (pushed in reverse): the
// portable GuestRegisters layout, so a guest's frame is its saved state as is.
#pragma once
#include "core/guest_registers.hpp"

namespace hv::x86 {

using TrapFrame = GuestRegisters;

// Builds the IDT and loads it (boot CPU); idt_load loads the same table on another CPU.
void idt_init();
void idt_load();

}  // namespace hv::x86
