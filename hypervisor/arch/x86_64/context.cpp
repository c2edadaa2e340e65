// context: vCPU switching and the end of the machine when every domain has stopped. A switch
// saves everything of the outgoing vCPU that another domain's vCPU would see or change:
// general registers (guest_frame), FS/GS bases and FPU/SSE/AVX state (save_vcpu_state), and
// loads the incoming one's page-table root, bases, FPU state, virtual TS and GDT copy. The
// rest is per-vCPU already: kernel stack (pv.kernel_sp; TSS rsp0 is the per-CPU frame),
// virtual IOPL, debug registers (kept in pv.dr*, never loaded into hardware yet).
#include "context.hpp"

#include <pv/mmu.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>

#include "core/log.hpp"
#include "core/panic.hpp"
#include "boot_domains.hpp"
#include "guest_memory.hpp"
#include "percpu.hpp"
#include "power.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"
#include "time.hpp"
#include "timer_irq.hpp"

extern "C" [[noreturn]] void hv_enter_frame(hv::GuestRegisters* frame);

namespace hv::x86 {
namespace {

// Every domain has shut down: tear them all down (each checked for leaks) and power off,
// with a failure status if any domain crashed (DomainRegistry::run_failed).
[[noreturn]] void all_domains_stopped() {
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i)
    HV_INFO(sched, "d%u stopped, reason %u", domains.at(i)->id(), domains.at(i)->shutdown_reason());
  const bool failed = domains.run_failed();
  HV_INFO(sched, "all domains have stopped%s: machine shutdown", failed ? " (a domain crashed)" : "");
  destroy_boot_domains();
  power_off(failed ? ExitStatus::failure : ExitStatus::success);
}

int runstate_of(const Vcpu& vcpu) {
  if (vcpu.domain().is_shut_down()) return pv::RUNSTATE_offline;
  switch (vcpu.state) {
    case VcpuState::runnable: return pv::RUNSTATE_runnable;
    case VcpuState::blocked: return pv::RUNSTATE_blocked;
    case VcpuState::offline: break;
  }
  return pv::RUNSTATE_offline;
}

// The guest's copies of its runstate and time record (VCPUOP_register_runstate_memory_area,
// VCPUOP_register_vcpu_time_memory_area) live at kernel addresses: written through the
// kernel root even when the vCPU resumes in user mode (Xen defers to the next kernel entry;
// writing now gives the guest the same values sooner).
void publish_guest_copies(Vcpu& vcpu) {
  if (vcpu.runstate.guest_area == 0 && vcpu.time_area == 0) return;
  if (!vcpu.mm.kernel_mode) asm volatile("mov %0, %%cr3" ::"r"(vcpu.mm.guest_table << 12) : "memory");
  CurrentGuestMemory memory;
  update_runstate_area(vcpu.runstate, memory,
                       (vcpu.domain().memory.vm_assist >> pv::VMASST_TYPE_runstate_update_flag) & 1);
  if (vcpu.time_area != 0 && vcpu.info() != nullptr) (void)memory.write(vcpu.time_area, vcpu.info()->time);
  if (!vcpu.mm.kernel_mode) load_guest_root(vcpu);
}

}  // namespace

void run_vcpu(Vcpu& vcpu) {
  CpuInfo* info = get_cpu_info();
  HV_ASSERT(vcpu.mm.guest_table != 0);
  info->current = &vcpu;
  info->guest_frame = vcpu.regs;
  info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
  load_guest_root(vcpu);
  load_guest_ldt(vcpu);  // before the data selectors, which may name LDT entries
  load_guest_cr4(vcpu);
  load_vcpu_state(vcpu);
  update_vcpu_time(vcpu);  // a fresh pvclock record each time it is scheduled
  runstate_change(vcpu.runstate, pv::RUNSTATE_running, system_time_ns());
  publish_guest_copies(vcpu);
  timer_switch_in(vcpu);  // its periodic timer runs while it is scheduled (Xen)
  resume_pv_cpu(vcpu);  // (switches away instead if that crashes the domain)
  deliver_events_on_resume(vcpu);  // (switches away instead if that crashes the domain)
  hv_enter_frame(&info->guest_frame);
}

void reschedule_if_needed() {
  CpuInfo* info = get_cpu_info();
  Vcpu* current = info->current;
  // A yield gives the CPU to the next runnable vCPU in round-robin order over every domain;
  // when that is the yielding vCPU itself, it simply goes on.
  const bool yielding = current != nullptr && current->yield_requested;
  if (current != nullptr) current->yield_requested = false;
  Vcpu* next = nullptr;
  if (current != nullptr && current->runnable()) {
    next = yielding ? state().domains.next_runnable(current) : current;
    if (next == current) {
      info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
      return;
    }
  }
  if (current != nullptr) {
    current->regs = info->guest_frame;
    save_vcpu_state(*current);
    timer_switch_out(*current);
    runstate_change(current->runstate, runstate_of(*current), system_time_ns());
  }
  if (next == nullptr) next = state().domains.next_runnable(current);
  // Nothing runnable: halt until a timer wakes a blocked vCPU, as long as one is armed.
  while (next == nullptr && timer_can_wake_someone()) {
    idle_until_timer();
    next = state().domains.next_runnable(current);
  }
  if (next == nullptr) {
    const DomainRegistry& domains = state().domains;
    // Blocked vCPUs wait for events; with no timer armed only a running vCPU could send one.
    for (std::size_t i = 0; i < domains.size(); ++i) {
      const Domain& d = *domains.at(i);
      if (d.is_shut_down()) continue;
      for (unsigned v = 0; v < d.vcpu_count(); ++v)
        if (d.vcpu(v)->state == VcpuState::blocked) HV_ERROR(sched, "d%uv%u is blocked", d.id(), v);
      HV_PANIC("d%u has no runnable vCPU and nothing can wake it (blocked vCPUs above)", d.id());
    }
    all_domains_stopped();
  }
  run_vcpu(*next);
}

}  // namespace hv::x86
