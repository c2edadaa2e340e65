// timer_irq: see timer_irq.hpp. Each CPU has its own queue of vCPU timers and its own local
// APIC timer, armed for the earlier of the queue's first deadline and the end of the CPU's
// scheduling slice. The hypervisor runs with interrupts off; the timer interrupt arrives only
// while a guest runs (its RFLAGS.IF is always set) or while the CPU halts in
// idle_until_interrupt. From a guest it is entered like an exception without error code, with
// the guest's registers in the per-CPU frame, and leaves through the same resume path.
#include "timer_irq.hpp"

#include <pv/event_channel.hpp>

#include "apic.hpp"
#include "context.hpp"
#include "core/event_channel.hpp"
#include "core/hypercall.hpp"
#include "core/panic.hpp"
#include "ipi.hpp"
#include "percpu.hpp"
#include "pv_cpu_platform.hpp"
#include "smp.hpp"
#include "state.hpp"
#include "time.hpp"

namespace hv::x86 {
namespace {

unsigned owner_of(const TimerQueue& q) {
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu)
    if (&state().cpus[cpu].timers == &q) return cpu;
  HV_PANIC("a timer queue that belongs to no CPU");
}

// A queue's earliest deadline changed. Only a CPU can program its own APIC: another CPU's
// queue (a timer of a vCPU that last ran there) is re-armed by that CPU when the event-check
// IPI makes it look.
void queue_changed(TimerQueue& q) {
  const unsigned cpu = owner_of(q);
  if (cpu == this_cpu()) rearm_cpu_timer();
  else send_ipi(cpu, HV_VECTOR_EVENT_CHECK);
}

// Fires every due timer of this CPU, asks for a new scheduling decision when the slice is
// over, and re-arms the APIC (also when the interrupt came early: the same deadline again).
void fire_due() {
  CpuSchedState& cs = state().cpus[this_cpu()];
  const std::uint64_t now = system_time_ns();
  EventChannelOps events{state().domains};
  (void)fire_due_timers(cs.timers, now, send_timer_event, &events);
  if (now >= cs.slice_end) cs.need_resched = true;
  rearm_cpu_timer();
}

}  // namespace

void timer_init() {
  apic_init();
  for (CpuSchedState& cs : state().cpus) cs.timers.set_hook(queue_changed);
}

void rearm_cpu_timer() {
  const CpuSchedState& cs = state().cpus[this_cpu()];
  const std::uint64_t deadline = cs.timers.earliest() < cs.slice_end ? cs.timers.earliest() : cs.slice_end;
  if (deadline == kNoDeadline) {
    apic_timer_arm(~std::uint64_t{0});
    return;
  }
  const std::uint64_t now = system_time_ns();
  apic_timer_arm(deadline > now ? deadline - now : 0);
}

void timer_switch_out(Vcpu& v) { timers_switch_out(v); }

void timer_switch_in(Vcpu& v) {
  EventChannelOps events{state().domains};
  timers_switch_in(v, state().cpus[this_cpu()].timers, system_time_ns(), send_timer_event, &events);
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

void idle_until_interrupt() {
  // sti's one-instruction shadow makes "sti; hlt" atomic: an interrupt already pending (a
  // wake-up IPI sent since the idle loop looked for work) is taken at the hlt and ends it,
  // never lost.
  asm volatile("sti; hlt; cli" ::: "memory");
  fire_due();
}

void resume_after_interrupt() {
  CpuInfo* info = get_cpu_info();
  reschedule_if_needed();  // returns only if this vCPU goes on running
  resume_pv_cpu(*info->current);  // a kicked NMI
  deliver_events_on_resume(*info->current);
}

}  // namespace hv::x86

// entry.S, vector HV_VECTOR_APIC_TIMER. From the idle loop (ring 0) only the EOI is needed:
// idle_until_interrupt fires the timers. From a guest the frame is the per-CPU guest frame.
extern "C" void hv_timer_interrupt(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  apic_eoi();
  if (interrupted_vcpu(f) == nullptr) return;
  fire_due();
  // The current vCPU may be told of its own timer: a fresh time record first, so the time it
  // reads is never before the deadline it was woken for (pvclock rounds down).
  update_vcpu_time(*get_cpu_info()->current);
  resume_after_interrupt();
}
