// context: which vCPU runs on this CPU. The credit scheduler (core/scheduler) decides; this
// file carries the decisions out. A switch saves everything of the outgoing vCPU that another
// vCPU would see or change: general registers (guest_frame), FS/GS bases and FPU/SSE/AVX state
// (save_vcpu_state), and loads the incoming one's page-table root, LDT, CR4 bits, bases, FPU
// state, virtual TS and GDT copy. The rest is per-vCPU already: kernel stack (pv.kernel_sp;
// TSS rsp0 is the per-CPU frame), virtual IOPL, debug registers.
//
// Nothing here holds a lock across a switch: the scheduler locks its own run queues
// (core/scheduler), the timer queues theirs, and a vCPU's registers are this CPU's alone
// while it is `current` here. A vCPU switched out stays unrunnable elsewhere until its state
// is saved (Scheduler::context_saved). No lock is ever held by a CPU that runs guest code.
#include "context.hpp"

#include <atomic>
#include <pv/mmu.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>

#include "core/log.hpp"
#include "core/panic.hpp"
#include "core/vcpu_kick.hpp"
#include "boot_domains.hpp"
#include "guest_memory.hpp"
#include "ipi.hpp"
#include "mm.hpp"
#include "percpu.hpp"
#include "power.hpp"
#include "pv_cpu_platform.hpp"
#include "smp.hpp"
#include "state.hpp"
#include "time.hpp"
#include "timer_irq.hpp"

extern "C" [[noreturn]] void hv_enter_frame(hv::GuestRegisters* frame);

namespace hv::x86 {
namespace {

// The CPU that runs `v` now (its registers are in that CPU's frame), or kSchedNoCpu.
unsigned running_cpu(const Vcpu& v) {
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu)
    if (cpu_online(cpu) && current_of(cpu) == &v) return cpu;
  return kSchedNoCpu;
}

// Makes `cpu` look at its state soon: at once when it is this CPU (on the way out of the
// hypervisor), by an event-check IPI otherwise. `resched`: it must also choose again.
void poke_cpu(unsigned cpu, bool resched) {
  if (resched) state().cpus[cpu].need_resched.store(true);
  if (cpu != this_cpu()) send_ipi(cpu, HV_VECTOR_EVENT_CHECK);
}

void vcpu_woken(Vcpu& v) {
  const unsigned cpu = state().scheduler.vcpu_wake(v, system_time_ns());
  if (cpu != kSchedNoCpu) poke_cpu(cpu, true);
}

// Something is pending for `v`: if it runs on another CPU that CPU must deliver it now;
// if it can no longer run there (down, domain shut down), switch it out.
void vcpu_kicked(Vcpu& v) {
  const unsigned cpu = running_cpu(v);
  if (cpu != kSchedNoCpu && cpu != this_cpu()) poke_cpu(cpu, !v.runnable());
}

constinit const VcpuNotifier notifier{vcpu_woken, vcpu_kicked};

bool every_domain_stopped() {
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i)
    if (!domains.at(i)->is_shut_down()) return false;
  return true;
}

// Set by the one CPU that tears the machine down; every other CPU that finds all domains
// stopped parks instead, and the teardown begins only once all of them have (no timer or
// idle loop may look at a domain being freed).
constinit std::atomic<bool> teardown_started{false};
constinit std::atomic<unsigned> parked_cpus{0};

// A CPU with nothing left to do: it still answers TLB-flush requests until power-off.
[[noreturn]] void park_cpu() {
  parked_cpus.fetch_add(1);
  for (;;) {
    service_ipi_requests();
    asm volatile("sti; hlt; cli" ::: "memory");
  }
}

// Every domain has shut down: once no other CPU runs any vCPU, tear them all down (each
// checked for leaks) and power off, with a failure status if any domain crashed.
[[noreturn]] void all_domains_stopped() {
  if (teardown_started.exchange(true)) park_cpu();
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu)
    if (cpu != this_cpu() && cpu_online(cpu)) poke_cpu(cpu, true);  // (a halted one wakes too)
  const std::uint64_t give_up = system_time_ns() + 5'000'000'000;
  while (parked_cpus.load() + 1 < cpu_online_count()) {
    if (system_time_ns() > give_up) HV_PANIC("another CPU has not parked 5 s after every domain stopped");
    spin_relax();  // (serves their flush requests while they switch out)
  }
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i)
    HV_INFO(sched, "d%u stopped, reason %u", domains.at(i)->id(), domains.at(i)->shutdown_reason());
  const bool failed = domains.run_failed();
  HV_INFO(sched, "all domains have stopped%s: machine shutdown", failed ? " (a domain crashed)" : "");
  destroy_boot_domains();
  power_off(failed ? ExitStatus::failure : ExitStatus::success);
}

// No vCPU can run anywhere and nothing armed can wake one: the machine is stuck. Read without
// any lock, so a snapshot may catch another CPU between popping a timer and waking its vCPU:
// stuck_for_good() looks again a second later before anybody is declared stuck.
bool nothing_can_ever_run() {
  for (unsigned cpu = 0; cpu < HV_MAX_CPUS; ++cpu)
    if (cpu_online(cpu) && current_of(cpu) != nullptr) return false;
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const Domain& d = *domains.at(i);
    for (unsigned v = 0; v < d.vcpu_count(); ++v)
      if (d.vcpu(v)->runnable()) return false;
  }
  return !timer_can_wake_someone();
}

bool stuck_for_good() {
  if (!nothing_can_ever_run()) return false;
  const std::uint64_t until = system_time_ns() + 1'000'000'000;
  while (system_time_ns() < until) {
    spin_relax();
    if (!nothing_can_ever_run() || state().cpus[this_cpu()].need_resched.load()) return false;
  }
  return true;
}

[[noreturn]] void report_stuck() {
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const Domain& d = *domains.at(i);
    if (d.is_shut_down()) continue;
    for (unsigned v = 0; v < d.vcpu_count(); ++v)
      if (d.vcpu(v)->state == VcpuState::blocked) HV_ERROR(sched, "d%uv%u is blocked", d.id(), v);
    HV_PANIC("d%u has no runnable vCPU and nothing can wake it (blocked vCPUs above)", d.id());
  }
  all_domains_stopped();
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
                       (__atomic_load_n(&vcpu.domain().memory.vm_assist, __ATOMIC_RELAXED) >> pv::VMASST_TYPE_runstate_update_flag) & 1);
  if (vcpu.time_area != 0 && vcpu.info() != nullptr) (void)memory.write(vcpu.time_area, vcpu.info()->time);
  if (!vcpu.mm.kernel_mode) load_guest_root(vcpu);
}

// The current vCPU leaves this CPU: its state goes back into the Vcpu. A vCPU whose domain
// has shut down is taken off the run queues, and every other CPU running one of its siblings
// is told to switch it out too.
void switch_out(CpuInfo& info, Vcpu& v, std::uint64_t now) {
  v.regs = info.guest_frame;
  save_vcpu_state(v);
  timer_switch_out(v);
  runstate_change(v.runstate, runstate_of(v), now);
  set_current(info, nullptr);
  // Its state is all in the Vcpu now: another CPU may run it (it may have been queued, even
  // stolen, since do_schedule chose against it).
  const unsigned tickle = state().scheduler.context_saved(v);
  if (tickle != kSchedNoCpu) poke_cpu(tickle, true);
  Domain& d = v.domain();
  if (!d.is_shut_down()) return;
  for (unsigned i = 0; i < d.vcpu_count(); ++i) {
    Vcpu& sibling = *d.vcpu(i);
    state().scheduler.vcpu_remove(sibling);
    const unsigned cpu = running_cpu(sibling);
    if (cpu != kSchedNoCpu) poke_cpu(cpu, true);
  }
}

// Arms this CPU's scheduling decision: when the slice ends the timer interrupt asks for a new
// one. An idle CPU gets a slice too, so it wakes at the next accounting to look for work to
// steal (the scheduler's contract).
void set_slice(std::uint64_t now, const Scheduler::Decision& d) {
  state().cpus[this_cpu()].slice_end = now + d.slice_ns;
  rearm_cpu_timer();
}

// Chooses again on this CPU. Returns only when the current vCPU goes on running.
void schedule() {
  CpuInfo* info = get_cpu_info();
  CpuSchedState& cs = state().cpus[this_cpu()];
  Vcpu* current = info->current;
  const std::uint64_t now = system_time_ns();
  cs.need_resched.store(false);
  if (current != nullptr && current->yield_requested) {
    current->yield_requested = false;
    if (current->runnable()) state().scheduler.vcpu_yield(*current);
  }
  const Scheduler::Decision d = state().scheduler.do_schedule(this_cpu(), current, now);
  set_slice(now, d);
  if (current != nullptr && d.next == current) return;
  if (current != nullptr) switch_out(*info, *current, now);
  if (d.next != nullptr) run_vcpu(*d.next);
  idle_loop();
}

}  // namespace

void context_init() {
  set_vcpu_notifier(&notifier);
  state().scheduler.set_online_cpus(cpu_online_count());  // (before domains pin their vCPUs)
}

namespace {
// Set once by the boot CPU when the domains exist; the APs wait for it.
constinit std::atomic<bool> scheduling_started{false};
}  // namespace

void start_scheduling() {
  Scheduler& sched = state().scheduler;
  const std::uint64_t now = system_time_ns();
  const DomainRegistry& domains = state().domains;
  for (std::size_t i = 0; i < domains.size(); ++i)
    for (unsigned v = 0; v < domains.at(i)->vcpu_count(); ++v) sched.vcpu_insert(*domains.at(i)->vcpu(v), now);
  scheduling_started.store(true, std::memory_order_release);
  for (unsigned cpu = 1; cpu < HV_MAX_CPUS; ++cpu)
    if (cpu_online(cpu)) send_ipi(cpu, HV_VECTOR_EVENT_CHECK);
  idle_loop();
}

void ap_schedule_loop() {
  while (!scheduling_started.load(std::memory_order_acquire)) {
    service_ipi_requests();
    asm volatile("sti; hlt; cli" ::: "memory");  // until the boot CPU's event-check IPI
  }
  idle_loop();
}

void run_vcpu(Vcpu& vcpu) {
  CpuInfo* info = get_cpu_info();
  HV_ASSERT(vcpu.mm.guest_table != 0);
  HV_ASSERT(running_cpu(vcpu) == kSchedNoCpu);
  // Published before the pending events are looked at below (a sequentially consistent
  // store): a CPU that sets an event bit and then finds us not running yet knows we will see
  // the bit; one that finds us running sends the IPI.
  set_current(*info, &vcpu);
  info->guest_frame = vcpu.regs;
  info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
  load_guest_root(vcpu);
  load_guest_ldt(vcpu);  // before the data selectors, which may name LDT entries
  load_guest_cr4(vcpu);
  load_vcpu_state(vcpu);
  update_vcpu_time(vcpu);  // a fresh pvclock record each time it is scheduled
  runstate_change(vcpu.runstate, pv::RUNSTATE_running, system_time_ns());
  publish_guest_copies(vcpu);
  timer_switch_in(vcpu);  // its timers follow it to this CPU (Xen migrates them)
  resume_pv_cpu(vcpu);  // (switches away instead if that crashes the domain)
  deliver_events_on_resume(vcpu);  // (switches away instead if that crashes the domain)
  hv_enter_frame(&info->guest_frame);
}

void reschedule_if_needed() {
  CpuInfo* info = get_cpu_info();
  Vcpu* current = info->current;
  const bool keep = current != nullptr && current->runnable() && !current->yield_requested &&
                    !state().cpus[this_cpu()].need_resched.load();
  if (!keep) schedule();
  info->guest_frame.rflags = sanitize_guest_rflags(info->guest_frame.rflags);
}

void idle_loop() {
  CpuInfo* info = get_cpu_info();
  HV_ASSERT(info->current == nullptr);
  load_idle_root();  // no guest's translations stay cached on an idle CPU (TLB shootdowns skip it)
  for (;;) {
    if (every_domain_stopped()) all_domains_stopped();
    const std::uint64_t now = system_time_ns();
    state().cpus[this_cpu()].need_resched.store(false);
    const Scheduler::Decision d = state().scheduler.do_schedule(this_cpu(), nullptr, now);
    set_slice(now, d);
    if (d.next != nullptr) run_vcpu(*d.next);
    if (stuck_for_good()) report_stuck();
    idle_until_interrupt();  // unlocks while halted; fires due timers after
  }
}

}  // namespace hv::x86
