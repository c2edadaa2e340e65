// context: vCPU switching and the end of the machine when every domain has stopped.
#include "context.hpp"

#include <pv/sched.hpp>

#include "core/log.hpp"
#include "core/panic.hpp"
#include "dom0.hpp"
#include "percpu.hpp"
#include "power.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"
#include "time.hpp"

extern "C" [[noreturn]] void hv_enter_frame(hv::GuestRegisters* frame);

namespace hv::x86 {
namespace {

// Every domain has shut down: power off, reporting the first privileged domain's reason
// (for test runs: success when dom0 powered off, failure when it crashed).
[[noreturn]] void all_domains_stopped() {
  const DomainRegistry& domains = state().domains;
  std::uint32_t reason = pv::SHUTDOWN_poweroff;
  for (std::size_t i = 0; i < domains.size(); ++i)
    if (domains.at(i)->privileged()) { reason = domains.at(i)->shutdown_reason(); break; }
  HV_INFO(sched, "all domains have stopped (reason %u): machine shutdown", reason);
  destroy_dom0();
  power_off(reason == pv::SHUTDOWN_crash || reason == pv::SHUTDOWN_watchdog ? ExitStatus::failure
                                                                            : ExitStatus::success);
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
  if (current != nullptr && current->runnable()) {
    info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
    return;
  }
  if (current != nullptr) {
    current->regs = info->guest_frame;
    save_vcpu_state(*current);
  }
  Vcpu* next = state().domains.next_runnable(current);
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
