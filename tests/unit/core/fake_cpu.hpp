// FakeCpu: records what the PV CPU model asks of the hardware (mode toggles, segment bases,
// the FPU trap) so tests can check it.
#pragma once
#include <vector>

#include "core/hypercall.hpp"

class FakeCpu final : public hv::CpuPlatform {
 public:
  int toggles = 0;
  std::vector<std::pair<unsigned, std::uint64_t>> segment_writes;
  bool fpu_trap = false;

  void toggle_guest_mode(hv::Vcpu& vcpu) override {
    vcpu.mm.kernel_mode = !vcpu.mm.kernel_mode;
    ++toggles;
  }
  void set_segment_base(hv::Vcpu&, unsigned which, std::uint64_t value) override {
    segment_writes.emplace_back(which, value);
  }
  void set_fpu_trap(bool ts) override { fpu_trap = ts; }
  int gdt_loads = 0;
  void load_gdt_copy(const hv::Vcpu&) override { ++gdt_loads; }
  std::uint64_t now_ns = 1000;
  std::uint64_t system_time_ns() override { return now_ns; }
};
