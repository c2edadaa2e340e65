// Domain and Vcpu: the hypervisor's guests. A domain owns vCPUs and (through the frame
// table) memory; its state only moves forward: running -> shut down -> dying -> dead.
// Guests never see these objects, only their own ids and the effects of hypercalls.
//
// Locking (core/spinlock.hpp has the order): a vCPU's own context (regs, pv, mm, runstate,
// placed vcpu_info, ...) is written by the CPU running it, or, while it has never run (not
// yet initialised), by a sibling's hypercall under the domain lock. `state`, `nmi_pending`
// and the domain's shutdown state are atomic: any CPU may wake a vCPU, raise its NMI or crash
// its domain. `timers` belong to the timer locks, `sched` to the scheduler locks, a domain's
// `events` to its event lock, `memory` to the memory lock; the rest of Domain to its lock.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <pv/types.hpp>

#include "frame_table.hpp"
#include "io_port_ranges.hpp"
#include "guest_registers.hpp"
#include "mm_platform.hpp"
#include "runstate.hpp"
#include "scheduler.hpp"
#include "spinlock.hpp"
#include "timer.hpp"

namespace pv {
struct shared_info;
struct vcpu_info;
}  // namespace pv

namespace hv {

// A guest's registered entry point (trap-table vector or callback).
struct GuestEntry {
  std::uint64_t address = 0;  // 0: none registered
  bool mask_events = false;   // deliver like an interrupt gate (set evtchn_upcall_mask)
  std::uint8_t dpl = 0;       // trap table only: who may raise it with `int n`
};

// The PV CPU state the guest sets through hypercalls (Xen's arch_vcpu pv fields).
struct PvCpuState {
  GuestEntry traps[256];  // set_trap_table: the virtual IDT
  GuestEntry event_callback, failsafe_callback, syscall_callback, syscall32_callback,
      sysenter_callback;  // (the NMI callback lives in traps[2], as in Xen)
  std::uint64_t kernel_sp = 0;  // stack_switch: where user->kernel bounces land
  std::uint16_t kernel_ss = 0;
  std::uint64_t fs_base = 0, gs_base_kernel = 0, gs_base_user = 0;
  // Data segment selectors while the vCPU is not running (Xen's save_segments/load_segments);
  // the builder's FLAT_KERNEL_DS at start of day.
  std::uint16_t ds = 0, es = 0, fs = 0, gs = 0;
  bool virtual_ts = false;      // fpu_taskswitch: the guest's CR0.TS
  std::uint8_t iopl = 0;        // physdev_op set_iopl: the guest's virtual IOPL
  // Privileged-op emulation (core/priv_op): the CR4 bits the guest chose (Xen's ctrlreg[4]
  // guest part) and the per-vCPU MSRs Xen keeps in struct vcpu_msrs.
  std::uint64_t guest_cr4 = 0;
  std::uint64_t msr_spec_ctrl = 0, msr_tsc_aux = 0, msr_misc_features_enables = 0;
  // Xen's virtual machine-check architecture (vmce.c): MCG_STATUS and the two guest banks'
  // STATUS/ADDR/MISC (only ever 0: nothing is injected) and, on Intel, CTL2.
  std::uint64_t mcg_status = 0;
  std::uint64_t mc_status[2] = {}, mc_addr[2] = {}, mc_misc[2] = {}, mc_ctl2[2] = {};
  // set_gdt: the guest's descriptor frames (each holding a seg_desc type ref) and entry
  // count; the arch keeps a copy of the frames in GDT pages 0-13 of the CPU running us.
  std::uint64_t gdt_frames[14] = {};
  unsigned gdt_ents = 0;
  // set_debugreg: DR0-3, DR6 and DR7 with Xen's reserved-bit fixups (Xen's initial values).
  std::uint64_t dr[4] = {};
  std::uint64_t dr6 = 0xffff0ff0, dr7 = 0x400;
  // set_debugreg changed them: the arch loads them into the hardware before the vCPU resumes
  // (context switches load them whenever DR7 enables a breakpoint; core/debugreg).
  bool dr_dirty = false;
};

class Domain;
class EventChannels;

enum class VcpuState : std::uint8_t { offline, runnable, blocked };

class Vcpu {
 public:
  constexpr Vcpu(Domain& domain, unsigned id) : domain_(domain), id_(id) { mm.vcpu_id = id; }
  Domain& domain() const { return domain_; }
  unsigned id() const { return id_; }

  GuestRegisters regs{};       // saved state while not running on a CPU
  // offline <-> runnable (VCPUOP_up/down, under the domain lock), runnable -> blocked (the
  // vCPU itself), blocked -> runnable (any waker: wake_from_blocked, so one wake-up wins).
  std::atomic<VcpuState> state{VcpuState::offline};
  // Xen's v->is_initialised: the builder (vCPU 0) or VCPUOP_initialise gave it a context;
  // only then may VCPUOP_up bring it online, and a second VCPUOP_initialise is refused.
  bool initialised = false;
  // Guest kernel vs guest user mode (both run in ring 3) and the two page-table roots, as
  // the memory-management core keeps them (the roots hold type references).
  VcpuMm mm{};
  PvCpuState pv;
  void* arch = nullptr;               // the arch layer's per-vCPU state (FPU area, ...)
  // sched_op yield: on the way back to the guest, run the next runnable vCPU (round robin
  // over every domain) if there is one; cleared by the scheduler.
  bool yield_requested = false;
  // Virtual NMI (core/nmi): VCPUOP_send_nmi sets nmi_pending; delivery sets the NMI bit
  // of async_exception_mask and keeps the previous mask for HYPERVISOR_iret (Xen's
  // arch.nmi_pending, async_exception_mask, async_exception_state(VCPU_TRAP_NMI).old_mask).
  std::atomic<bool> nmi_pending{false};
  std::uint8_t async_exception_mask = 0, nmi_old_mask = 0;
  VcpuRunstate runstate;               // running/runnable/blocked/offline accounting
  std::uint64_t time_area = 0;         // VCPUOP_register_vcpu_time_memory_area (guest VA; 0: none)
  // VCPUOP_register_vcpu_info: the vcpu_info moved into a guest frame (holding a writable
  // type reference), or nullptr while it is still in shared_info.
  pv::vcpu_info* placed_info = nullptr;
  std::uint64_t placed_info_mfn = 0;
  VcpuTimers timers;                   // set_timer_op and VCPUOP_*_timer (core/timer)
  SchedVcpu sched;                     // credit scheduler state (core/scheduler)

  // This vCPU's vcpu_info: where VCPUOP_register_vcpu_info placed it, else in the domain's
  // shared_info page (nullptr before that exists).
  pv::vcpu_info* info() const;

  bool runnable() const;
  // blocked -> runnable, atomically: true for the one caller that made the change.
  bool wake_from_blocked() {
    VcpuState blocked = VcpuState::blocked;
    return state.compare_exchange_strong(blocked, VcpuState::runnable);
  }

 private:
  Domain& domain_;
  unsigned id_;
};

enum class DomainState : std::uint8_t { running, shutdown, dying, dead };

class Domain {
 public:
  static constexpr unsigned kMaxVcpus = 8;

  constexpr Domain(pv::domid_t id, bool privileged) {
    memory.domid = id;
    memory.privileged = privileged;
  }
  pv::domid_t id() const { return memory.domid; }
  bool privileged() const { return memory.privileged; }
  DomainState state() const { return state_.load(std::memory_order_acquire); }
  std::uint32_t shutdown_reason() const {
    const std::uint32_t r = shutdown_reason_.load(std::memory_order_acquire);
    return r == kNoReason ? 0 : r;
  }

  // Records a shutdown request (SCHEDOP_shutdown, a crash); the first reason wins, as in
  // Xen, also when CPUs race.
  void shutdown(std::uint32_t reason);
  bool is_shut_down() const { return state() != DomainState::running; }

  // The domain lock (level 1 of the lock order): the domain's own state below and its vCPUs'
  // contexts for its sibling vCPUs' hypercalls. Held while a trap or hypercall of one of its
  // vCPUs is handled; never with another domain's.
  SpinLock lock;

  // Adds a vCPU stored by the caller; false when full.
  [[nodiscard]] bool add_vcpu(Vcpu& vcpu);
  Vcpu* vcpu(unsigned id) const { return id < vcpu_count_ ? vcpus_[id] : nullptr; }
  unsigned vcpu_count() const { return vcpu_count_; }

  // An unprivileged domain's console_io text waits here until a newline, so each of its lines
  // is printed whole behind its "(dN) " prefix (Xen's pbuf, DOMAIN_PBUF_SIZE 200).
  struct ConsoleLine {
    static constexpr std::size_t kSize = 200;
    char text[kSize] = {};
    std::size_t length = 0;
  };

  char name[32] = {};
  bool console_io_allowed = false;  // may write through console_io (dom0, or by boot option)
  ConsoleLine console_line;
  IoPortRanges io_ports;            // ports the domain may access (Xen's d->arch.ioport_caps)
  std::uint8_t cmos_index = 0;      // the latched RTC index port 0x70 (Xen's arch.cmos_idx)
  std::uint32_t pci_cf8 = 0;        // the emulated PCI CONFIG_ADDRESS (Xen's arch.pci_cf8)
  pv::shared_info* shared_info = nullptr;  // the hypervisor's view of the shared_info page
  EventChannels* events = nullptr;         // its event-channel ports (core/event_channel)
  DomainMemory memory{};                   // id, privilege, page counts, vm_assist bits
  SchedDomain sched;                       // weight, cap, credit accounting (core/scheduler)

 private:
  static constexpr std::uint32_t kNoReason = ~0u;
  std::atomic<DomainState> state_{DomainState::running};
  std::atomic<std::uint32_t> shutdown_reason_{kNoReason};
  Vcpu* vcpus_[kMaxVcpus] = {};
  unsigned vcpu_count_ = 0;
};

}  // namespace hv
