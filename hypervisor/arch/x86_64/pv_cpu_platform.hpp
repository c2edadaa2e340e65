// pv_cpu_platform: the hardware side of the PV CPU model (core/pv_cpu): page-table root and
// GS swaps on guest mode changes, segment bases, the FPU trap bit, and saving/restoring a
// vCPU's FS/GS bases and FPU/SSE/AVX state when CPUs change hands.
#pragma once
#include "core/hypercall.hpp"

namespace hv::x86 {

class PvCpuPlatform final : public CpuPlatform {
 public:
  void toggle_guest_mode(Vcpu& vcpu) override;
  void set_segment_base(Vcpu& vcpu, unsigned which, std::uint64_t value) override;
  void set_fpu_trap(bool ts) override;
  void load_gdt_copy(const Vcpu& vcpu) override;
  std::uint64_t system_time_ns() override;
};

// Boot: enables FXSR/XSAVE so guests have SSE/AVX, sizes the per-vCPU FPU area.
void fpu_init();

// Gives `vcpu` its arch state (FPU area in its initial state); false when out of slots.
[[nodiscard]] bool arch_vcpu_init(Vcpu& vcpu);

// Saves the running vCPU's FS/GS bases and FPU state / loads them for the incoming one.
void save_vcpu_state(Vcpu& vcpu);
void load_vcpu_state(Vcpu& vcpu);

// The page-table root for the vCPU's current guest mode.
void load_guest_root(const Vcpu& vcpu);
// Copies the vCPU's LDT (the frames MmOps::load_ldt_frames holds) into this CPU's LDT and
// loads it, or unloads the LDT when the vCPU has none.
void load_guest_ldt(const Vcpu& vcpu);
// The hardware CR4 bits a 64-bit PV kernel controls through its virtual CR4 (Xen's
// pv_make_cr4): FSGSBASE, so rd/wr{fs,gs}base work exactly when it enabled them, and TSD.
void load_guest_cr4(const Vcpu& vcpu);

// On every return to the running vCPU, before event upcalls: debug registers set_debugreg
// changed go to the hardware, and a pending, unmasked NMI is bounced to its callback
// (core/nmi). Switches to another vCPU if that crashes the domain.
void resume_pv_cpu(Vcpu& vcpu);

// The hardware side of the guest's debug registers (core/debugreg): DR0-3, DR6 and DR7 as
// the vCPU set them; and reading DR6 after a #DB, leaving it at its default for the next.
void load_debug_registers(const PvCpuState& pv);
std::uint64_t take_hardware_dr6();
std::uint64_t read_dr7();
void write_dr7(std::uint64_t value);

}  // namespace hv::x86
