// timer_irq: see timer_irq.hpp. The hypervisor runs with interrupts off; the timer interrupt
// arrives only while a guest runs (its RFLAGS.IF is always set) or while the CPU idles in
// idle_until_timer. From a guest it is entered like an exception without error code, with
// the guest's registers in the per-CPU frame, and leaves through the same resume path.
#include "timer_irq.hpp"

#include <pv/event_channel.hpp>

#include "apic.hpp"
#include "context.hpp"
#include "core/event_channel.hpp"
#include "core/hypercall.hpp"
#include "core/panic.hpp"
#include "percpu.hpp"
#include "state.hpp"
#include "time.hpp"

namespace hv::x86 {
namespace {

TimerQueue boot_cpu_queue;  // one CPU for now: the queue of CPU 0

// The queue's earliest deadline changed: arm the APIC for it.
void reprogram(TimerQueue& q) {
  if (q.empty()) {
    apic_timer_arm(~std::uint64_t{0});
    return;
  }
  const std::uint64_t now = system_time_ns();
  const std::uint64_t deadline = q.earliest();
  apic_timer_arm(deadline > now ? deadline - now : 0);
}

// Fires every due timer, then re-arms the APIC for whatever is left (also when the interrupt
// came early: nothing was due and the same deadline is armed again).
void run_timers() {
  EventChannelOps events{state().domains};
  (void)fire_due_timers(boot_cpu_queue, system_time_ns(), send_timer_event, &events);
  reprogram(boot_cpu_queue);
}

}  // namespace

void timer_init() {
  apic_init();
  boot_cpu_queue.set_hook(reprogram);
}

TimerQueue& cpu_timer_queue() { return boot_cpu_queue; }

void timer_switch_out(Vcpu& v) { timers_switch_out(v); }

void timer_switch_in(Vcpu& v) {
  EventChannelOps events{state().domains};
  timers_switch_in(v, boot_cpu_queue, system_time_ns(), send_timer_event, &events);
}

bool timer_can_wake_someone() {
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const Domain& d = *domains.at(i);
    if (d.is_shut_down()) continue;
    for (unsigned v = 0; v < d.vcpu_count(); ++v)
      if (timers_armed(d.vcpu(v)->timers)) return true;
  }
  return false;
}

void idle_until_timer() {
  // sti's one-instruction shadow makes "sti; hlt" atomic: an interrupt already pending is
  // taken at the hlt and ends it, never lost between the two.
  asm volatile("sti; hlt; cli" ::: "memory");
  run_timers();
}

}  // namespace hv::x86

// entry.S, vector HV_VECTOR_APIC_TIMER. From the idle loop (ring 0) only the EOI is needed:
// idle_until_timer fires the timers. From a guest the frame is the per-CPU guest frame.
extern "C" void hv_timer_interrupt(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  apic_eoi();
  if ((f->cs & 3) != 3) return;
  CpuInfo* info = get_cpu_info();
  if (info->current == nullptr || f != &info->guest_frame)
    HV_PANIC("timer interrupt from a guest without a current vCPU frame");
  run_timers();
  // The current vCPU may be told of its own timer: a fresh time record first, so the time it
  // reads is never before the deadline it was woken for (pvclock rounds down).
  update_vcpu_time(*info->current);
  reschedule_if_needed();  // returns only if this vCPU goes on running
  deliver_events_on_resume(*info->current);
}
