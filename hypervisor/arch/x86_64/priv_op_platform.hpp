// priv_op_platform: the hardware side of privileged-instruction emulation (core/priv_op):
// MSR and port access, control registers, XCR0, the guest's CPUID view.
#pragma once
#include "core/priv_op.hpp"

namespace hv::x86 {

class PrivOpHardware final : public PrivOpPlatform {
 public:
  bool read_msr_safe(std::uint32_t msr, std::uint64_t& value) override;
  bool write_msr_safe(std::uint32_t msr, std::uint64_t value) override;
  std::uint64_t read_tsc() override;
  std::uint64_t read_cr0() override;
  std::uint64_t read_cr4() override;
  std::uint64_t read_efer() override;
  std::uint64_t read_fs_base() override;
  std::uint64_t read_gs_base() override;
  std::uint64_t read_xcr0() override;
  bool write_xcr0(std::uint64_t value) override;
  CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf) override;
  void wbinvd() override;
  std::uint32_t port_in(std::uint16_t port, unsigned bytes) override;
  void port_out(std::uint16_t port, unsigned bytes, std::uint32_t value) override;
};

}  // namespace hv::x86
