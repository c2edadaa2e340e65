// hypercall: the table from Xen hypercall numbers to their handlers. Each handler gets the
// calling vCPU, a guest-memory accessor and the raw argument registers, and returns the
// value for the guest's %rax (>= 0, or a negative Xen errno). Unknown numbers: -ENOSYS.
#pragma once
#include <cstdint>

#include "domain.hpp"
#include "guest_memory.hpp"

namespace hv {
class MmOps;
class EventChannelOps;
}

namespace hv {

// Facts about the running hypervisor that hypercalls report (xen_version and friends).
struct HypervisorInfo {
  const char* cmdline = "";
  std::uint64_t max_page = 0;        // highest machine frame + 1 (XENMEM_maximum_ram_page)
  std::uint64_t m2p_first_mfn = 0;   // the M2P table: machine-contiguous frames
  std::uint64_t m2p_frames = 0;
  const MemoryMap* machine_map = nullptr;  // the host memory map (XENMEM_machine_memory_map)
};

// The CPU effects of PV state changes, implemented by the arch layer (and faked in tests).
class CpuPlatform {
 public:
  // Flips vcpu.kernel_mode and makes the hardware follow: page-table root, GS bases.
  virtual void toggle_guest_mode(Vcpu& vcpu) = 0;
  // set_segment_base on the live hardware: SEGBASE_FS / _GS_USER / _GS_KERNEL with a base
  // already checked canonical, or SEGBASE_GS_USER_SEL with a selector (a faulting selector
  // loads the null selector, as Xen does).
  virtual void set_segment_base(Vcpu& vcpu, unsigned which, std::uint64_t value) = 0;
  // Makes the hardware CR0.TS follow the guest's virtual TS.
  virtual void set_fpu_trap(bool ts) = 0;
  // Copies the vCPU's validated GDT frames (vcpu.pv.gdt_frames) into the running CPU's GDT
  // pages 0-13 after set_gdt or update_descriptor changed them.
  virtual void load_gdt_copy(const Vcpu& vcpu) = 0;
  // Xen's NOW(): nanoseconds of system time (the PV clock's time base).
  virtual std::uint64_t system_time_ns() = 0;

 protected:
  ~CpuPlatform() = default;
};

struct HypercallContext {
  Vcpu& vcpu;
  GuestMemory& memory;
  const HypervisorInfo& info;
  GuestRegisters& regs;  // the calling vCPU's registers, live (iret rewrites them)
  CpuPlatform& cpu;
  MmOps* mm = nullptr;  // the PV memory-management operations (nullptr: -ENOSYS)
  bool in_multicall = false;
  EventChannelOps* events = nullptr;  // event_channel_op and sched_op block/poll (nullptr: -ENOSYS)
};

struct HypercallArgs {
  std::uint64_t a1, a2, a3, a4, a5;
};

using HypercallHandler = long (*)(HypercallContext&, const HypercallArgs&);

// Runs the handler; the memory hypercalls (needs_memory_lock) with the memory lock held
// (MmOps::lock). The caller holds the calling vCPU's domain lock.
long dispatch_hypercall(HypercallContext& ctx, std::uint64_t number, const HypercallArgs& args);
bool needs_memory_lock(std::uint64_t number, const HypercallArgs& args);

// Handlers, one file per ABI area (hc_<area>.cpp).
long do_console_io(HypercallContext& ctx, const HypercallArgs& args);
long do_xen_version(HypercallContext& ctx, const HypercallArgs& args);
long do_sched_op(HypercallContext& ctx, const HypercallArgs& args);
long do_set_trap_table(HypercallContext& ctx, const HypercallArgs& args);
long do_stack_switch(HypercallContext& ctx, const HypercallArgs& args);
long do_set_callbacks(HypercallContext& ctx, const HypercallArgs& args);
long do_callback_op(HypercallContext& ctx, const HypercallArgs& args);
long do_iret(HypercallContext& ctx, const HypercallArgs& args);
long do_set_segment_base(HypercallContext& ctx, const HypercallArgs& args);
long do_fpu_taskswitch(HypercallContext& ctx, const HypercallArgs& args);
long do_vm_assist(HypercallContext& ctx, const HypercallArgs& args);
long do_multicall(HypercallContext& ctx, const HypercallArgs& args);
long do_physdev_op(HypercallContext& ctx, const HypercallArgs& args);
long do_mmu_update(HypercallContext& ctx, const HypercallArgs& args);
long do_mmuext_op(HypercallContext& ctx, const HypercallArgs& args);
long do_update_va_mapping(HypercallContext& ctx, const HypercallArgs& args);
long do_update_va_mapping_otherdomain(HypercallContext& ctx, const HypercallArgs& args);
long do_memory_op(HypercallContext& ctx, const HypercallArgs& args);
long do_set_gdt(HypercallContext& ctx, const HypercallArgs& args);
long do_update_descriptor(HypercallContext& ctx, const HypercallArgs& args);
long do_set_debugreg(HypercallContext& ctx, const HypercallArgs& args);
long do_get_debugreg(HypercallContext& ctx, const HypercallArgs& args);
long do_event_channel_op(HypercallContext& ctx, const HypercallArgs& args);
long do_event_channel_op_compat(HypercallContext& ctx, const HypercallArgs& args);
long do_vcpu_op(HypercallContext& ctx, const HypercallArgs& args);
long do_set_timer_op(HypercallContext& ctx, const HypercallArgs& args);
// VCPUOP_set/stop_periodic_timer and _singleshot_timer for vCPU `v` (hc_timer.cpp).
long vcpu_timer_op(HypercallContext& ctx, unsigned cmd, Vcpu& v, std::uint64_t arg);
// VIRQ_TIMER for `v`; `events` is the EventChannelOps to raise it with (nullptr: none).
void send_timer_event(Vcpu& v, void* events);
// Drops the reference VCPUOP_register_vcpu_info took on the vCPU's vcpu_info frame (teardown).
void release_vcpu_info(Vcpu& v, FrameTable& frames);

}  // namespace hv
