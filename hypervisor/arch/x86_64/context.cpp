// context: vCPU switching and the end of the machine when every domain has stopped. A switch
// saves everything of the outgoing vCPU that another domain's vCPU would see or change:
// general registers (guest_frame), FS/GS bases and FPU/SSE/AVX state (save_vcpu_state), and
// loads the incoming one's page-table root, bases, FPU state, virtual TS and GDT copy. The
// rest is per-vCPU already: kernel stack (pv.kernel_sp; TSS rsp0 is the per-CPU frame),
// virtual IOPL, debug registers (kept in pv.dr*, never loaded into hardware yet).
#include "context.hpp"

#include <pv/sched.hpp>

#include "core/log.hpp"
#include "core/panic.hpp"
#include "boot_domains.hpp"
#include "percpu.hpp"
#include "power.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"
#include "time.hpp"

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

}  // namespace

void run_vcpu(Vcpu& vcpu) {
  CpuInfo* info = get_cpu_info();
  HV_ASSERT(vcpu.mm.guest_table != 0);
  info->current = &vcpu;
  info->guest_frame = vcpu.regs;
  info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
  load_guest_root(vcpu);
  load_vcpu_state(vcpu);
  update_vcpu_time(vcpu);  // a fresh pvclock record each time it is scheduled
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
  }
  if (next == nullptr) next = state().domains.next_runnable(current);
  if (next == nullptr) {
    const DomainRegistry& domains = state().domains;
    for (std::size_t i = 0; i < domains.size(); ++i)
      if (!domains.at(i)->is_shut_down())  // blocked vCPUs need timers/events (not yet here)
        HV_PANIC("d%u has no runnable vCPU and nothing can wake it", domains.at(i)->id());
    all_domains_stopped();
  }
  run_vcpu(*next);
}

}  // namespace hv::x86
