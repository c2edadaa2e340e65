// idt: the interrupt descriptor table. Every vector enters through entry.S; NMI, #DF and #MC
// use their own stacks (IST) so they never run on a stack a guest chose; #BP and #OF are
// DPL 3 (a guest's int3/into reach us directly, as in Xen); everything else is DPL 0, so a
// guest's `int n` faults (#GP) instead of entering.
#include <cstdint>

#include "apic.hpp"
#include "layout.hpp"
#include "trap_frame.hpp"

extern "C" const std::uint64_t exception_stub_table[32];
extern "C" void apic_timer_stub();
extern "C" void apic_spurious_stub();
extern "C" void ipi_ping_stub();
extern "C" void ipi_call_stub();
extern "C" void ipi_event_check_stub();
extern "C" void ipi_flush_stub();

namespace hv::x86 {
namespace {

struct [[gnu::packed]] IdtGate {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t type_attr;
  std::uint16_t offset_mid;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

struct [[gnu::packed]] DescriptorPointer {
  std::uint16_t limit;
  std::uint64_t base;
};

constinit IdtGate idt[256] = {};

std::uint8_t ist_for(int vector) {
  switch (vector) {
    case 2: return 1;   // NMI
    case 8: return 2;   // #DF
    case 18: return 3;  // #MC
    default: return 0;
  }
}

IdtGate gate(std::uint64_t handler, std::uint8_t ist, std::uint8_t dpl) {
  return IdtGate{static_cast<std::uint16_t>(handler), HV_SEL_CODE64, ist,
                 static_cast<std::uint8_t>(0x8E | (dpl << 5)),  // present 64-bit interrupt gate
                 static_cast<std::uint16_t>(handler >> 16), static_cast<std::uint32_t>(handler >> 32), 0};
}

}  // namespace

void idt_init() {
  for (int v = 0; v < 32; ++v) {
    std::uint8_t dpl = (v == 3 || v == 4) ? 3 : 0;
    idt[v] = gate(exception_stub_table[v], ist_for(v), dpl);
  }
  // APIC interrupts and IPIs: DPL 0, so a guest's `int 0xf0` is a #GP like any other vector.
  idt[HV_VECTOR_APIC_TIMER] = gate(reinterpret_cast<std::uint64_t>(apic_timer_stub), 0, 0);
  idt[HV_VECTOR_SPURIOUS] = gate(reinterpret_cast<std::uint64_t>(apic_spurious_stub), 0, 0);
  idt[HV_VECTOR_PING] = gate(reinterpret_cast<std::uint64_t>(ipi_ping_stub), 0, 0);
  idt[HV_VECTOR_CALL] = gate(reinterpret_cast<std::uint64_t>(ipi_call_stub), 0, 0);
  idt[HV_VECTOR_EVENT_CHECK] = gate(reinterpret_cast<std::uint64_t>(ipi_event_check_stub), 0, 0);
  idt[HV_VECTOR_FLUSH] = gate(reinterpret_cast<std::uint64_t>(ipi_flush_stub), 0, 0);
  idt_load();
}

// Every CPU uses the one table; it is complete before the first AP starts.
void idt_load() {
  DescriptorPointer ptr{sizeof idt - 1, reinterpret_cast<std::uint64_t>(idt)};
  asm volatile("lidt %0" ::"m"(ptr));
}

}  // namespace hv::x86
