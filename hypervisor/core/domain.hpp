// Domain and Vcpu: the hypervisor's guests. A domain owns vCPUs and (through the frame
// table) memory; its state only moves forward: running -> shut down -> dying -> dead.
// Guests never see these objects, only their own ids and the effects of hypercalls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <pv/types.hpp>

#include "guest_registers.hpp"

namespace hv {

class Domain;

enum class VcpuState : std::uint8_t { offline, runnable, blocked };

class Vcpu {
 public:
  constexpr Vcpu(Domain& domain, unsigned id) : domain_(domain), id_(id) {}
  Domain& domain() const { return domain_; }
  unsigned id() const { return id_; }

  GuestRegisters regs{};       // saved state while not running on a CPU
  bool kernel_mode = true;     // PV: guest kernel vs guest user (both run in ring 3)
  VcpuState state = VcpuState::offline;
  std::uint64_t kernel_root_mfn = 0;  // kernel page-table root (CR3 in guest kernel mode)
  std::uint64_t user_root_mfn = 0;    // user page-table root (0: none)

  bool runnable() const;

 private:
  Domain& domain_;
  unsigned id_;
};

enum class DomainState : std::uint8_t { running, shutdown, dying, dead };

class Domain {
 public:
  static constexpr unsigned kMaxVcpus = 8;

  constexpr Domain(pv::domid_t id, bool privileged) : id_(id), privileged_(privileged) {}
  pv::domid_t id() const { return id_; }
  bool privileged() const { return privileged_; }
  DomainState state() const { return state_; }
  std::uint32_t shutdown_reason() const { return shutdown_reason_; }

  // Records a shutdown request (SCHEDOP_shutdown); the first reason wins, as in Xen.
  void shutdown(std::uint32_t reason);
  bool is_shut_down() const { return state_ != DomainState::running; }

  // Adds a vCPU stored by the caller; false when full.
  [[nodiscard]] bool add_vcpu(Vcpu& vcpu);
  Vcpu* vcpu(unsigned id) const { return id < vcpu_count_ ? vcpus_[id] : nullptr; }
  unsigned vcpu_count() const { return vcpu_count_; }

  char name[32] = {};
  bool console_io_allowed = false;  // may write through console_io (dom0, or by boot option)

 private:
  pv::domid_t id_;
  bool privileged_;
  DomainState state_ = DomainState::running;
  std::uint32_t shutdown_reason_ = 0;
  Vcpu* vcpus_[kMaxVcpus] = {};
  unsigned vcpu_count_ = 0;
};

}  // namespace hv
