// scheduler: run queues, wake-up, picking and work stealing after Xen's credit1
// (csched_unit_wake, __runq_tickle, csched_schedule, csched_load_balance); the periodic
// credit accounting is in scheduler_account.cpp. See scheduler.hpp for the model and the
// deviations from Xen.
#include "scheduler.hpp"

#include <bit>
#include <pv/errno.hpp>

#include "domain.hpp"

namespace hv {

ListLink<Vcpu>& sched_runq_link(Vcpu& v) { return v.sched.runq; }
ListLink<Domain>& sched_active_link(Domain& d) { return d.sched.active; }

void Scheduler::set_online_cpus(unsigned n) {
  ncpus_ = n < 1 ? 1 : (n > kSchedMaxCpus ? kSchedMaxCpus : n);
}

std::uint64_t Scheduler::online_mask() const { return (std::uint64_t{1} << ncpus_) - 1; }

bool Scheduler::allowed(const Vcpu& v, unsigned cpu) const {
  return cpu < ncpus_ && ((v.sched.affinity >> cpu) & 1) != 0;
}

// An affinity without an online pCPU (only possible if set before vcpu_insert) means pCPU 0.
unsigned Scheduler::first_allowed(const Vcpu& v) const {
  std::uint64_t usable = v.sched.affinity & online_mask();
  return usable == 0 ? 0 : static_cast<unsigned>(std::countr_zero(usable));
}

bool Scheduler::is_running(const Vcpu& v) const {
  return v.sched.cpu < ncpus_ && cpus_[v.sched.cpu].current == &v;
}

// Xen's __runq_insert: behind every vCPU of its priority or better; a yielding vCPU also
// behind one of lower priority, if there is one.
void Scheduler::runq_insert(Vcpu& v) {
  RunQueue& q = cpus_[v.sched.cpu].runq;
  Vcpu* pos = q.front();
  while (pos != nullptr && pos->sched.pri >= v.sched.pri) pos = RunQueue::next(*pos);
  if (v.sched.yielding && pos != nullptr) pos = RunQueue::next(*pos);
  q.insert_before(pos, v);
}

void Scheduler::runq_remove(Vcpu& v) {
  if (RunQueue::linked(v)) cpus_[v.sched.cpu].runq.remove(v);
}

void Scheduler::vcpu_insert(Vcpu& v, std::uint64_t now) {
  SchedVcpu& s = v.sched;
  if (s.inserted) return;
  s.inserted = true;
  s.yielding = false;
  s.pri = s.credit < 0 ? SchedPri::over : SchedPri::under;  // a down/up keeps its debt
  s.start_time = now;
  if (!allowed(v, s.cpu) && !is_running(v)) s.cpu = first_allowed(v);
  // Still running after a remove: its pCPU's next do_schedule requeues it.
  if (v.runnable() && !RunQueue::linked(v) && !is_running(v)) runq_insert(v);
}

void Scheduler::vcpu_remove(Vcpu& v) {
  SchedVcpu& s = v.sched;
  if (!s.inserted) return;
  s.inserted = false;
  s.parked = false;
  s.yielding = false;
  runq_remove(v);
  if (s.active) acct_stop(v);
  // If it is some pCPU's current, that pCPU keeps the pointer (so nobody else runs it
  // meanwhile) until its do_schedule, which drops it.
}

unsigned Scheduler::vcpu_wake(Vcpu& v, std::uint64_t) {
  SchedVcpu& s = v.sched;
  if (!s.inserted || s.parked || !v.runnable() || RunQueue::linked(v) || is_running(v))
    return kSchedNoCpu;
  if (!allowed(v, s.cpu)) s.cpu = first_allowed(v);
  // Xen boosts a waking vCPU that has credit, so I/O-bound vCPUs preempt CPU hogs; running
  // a while (charge) takes the boost away again. Unparking never boosts.
  if (s.pri == SchedPri::under) s.pri = SchedPri::boost;
  runq_insert(v);
  return tickle(v);
}

// Xen's __runq_tickle (hard affinity only): an idle pCPU that may run v (v's own first; an
// idler elsewhere steals it), else v's pCPU if v outranks what runs there.
unsigned Scheduler::tickle(const Vcpu& v) {
  const unsigned cpu = v.sched.cpu;
  const Vcpu* cur = cpus_[cpu].current;
  unsigned target = kSchedNoCpu;
  if (cur == nullptr) {
    target = cpu;
  } else {
    for (unsigned i = 1; i <= ncpus_ && target == kSchedNoCpu; ++i) {
      unsigned c = (last_tickle_ + i) % ncpus_;
      if (cpus_[c].current == nullptr && !cpus_[c].tickled && allowed(v, c)) target = last_tickle_ = c;
    }
    if (target == kSchedNoCpu && v.sched.pri > cur->sched.pri) target = cpu;
  }
  if (target != kSchedNoCpu) cpus_[target].tickled = true;
  return target;
}

unsigned Scheduler::tickle_target(const Vcpu& v) { return v.sched.runq.linked ? tickle(v) : kSchedNoCpu; }

void Scheduler::vcpu_sleep(Vcpu& v) { runq_remove(v); }

void Scheduler::vcpu_yield(Vcpu& v) { v.sched.yielding = true; }

// Xen's csched_runq_steal over every busy peer (csched_load_balance): the first queued vCPU
// that outranks `than` and may run on `cpu`. Idle peers are skipped: they pick their own.
Vcpu* Scheduler::steal(unsigned cpu, SchedPri than) {
  for (unsigned i = 1; i <= ncpus_; ++i) {
    const unsigned peer = (balance_bias_ + i) % ncpus_;
    if (peer == cpu || cpus_[peer].current == nullptr) continue;
    for (Vcpu* v = cpus_[peer].runq.front(); v != nullptr && v->sched.pri > than; v = RunQueue::next(*v)) {
      if (!allowed(*v, cpu)) continue;
      cpus_[peer].runq.remove(*v);
      v->sched.cpu = cpu;
      balance_bias_ = peer;
      return v;
    }
  }
  return nullptr;
}

// The head of the local queue when it has credit (UNDER or BOOST), else better work from a
// peer, else the local head or idle. A queued vCPU that stopped being runnable without a
// vcpu_sleep (its domain shut down) is dropped, as Xen's loop over unit_runnable_state.
Vcpu* Scheduler::pick(unsigned cpu) {
  RunQueue& q = cpus_[cpu].runq;
  for (;;) {
    Vcpu* next = q.front();
    if (next == nullptr || next->sched.pri <= SchedPri::over) {
      Vcpu* stolen = steal(cpu, next != nullptr ? next->sched.pri : SchedPri::idle);
      if (stolen != nullptr) next = stolen;
    }
    if (next == nullptr) return nullptr;
    if (RunQueue::linked(*next)) q.remove(*next);
    if (next->runnable()) return next;
  }
}

// Xen's csched_unit_acct at a tick: a vCPU found running loses its boost, pays for its run
// time and earns credit from the next accounting on.
void Scheduler::charge(Vcpu& v, std::uint64_t now) {
  SchedVcpu& s = v.sched;
  if (s.pri == SchedPri::boost) s.pri = SchedPri::under;
  if (now > s.start_time) {
    s.credit -= static_cast<std::int64_t>(now - s.start_time);
    s.start_time = now;
  }
  if (!s.active) acct_start(v);
}

// How long `current` keeps `cpu` without a new choice (0: choose now). Xen's ratelimit: it
// keeps its pCPU for kRatelimitNs unless it yields, blocks or may no longer run here. Beyond
// Xen, a call before its slice ends (the caller may call more often than needed) lets it run
// on unless a queued vCPU outranks it.
std::uint64_t Scheduler::keep_slice(const Vcpu& current, unsigned cpu, std::uint64_t now) const {
  const SchedVcpu& s = current.sched;
  const Cpu& c = cpus_[cpu];
  if (c.current != &current || !s.inserted || s.yielding || s.parked || !current.runnable() ||
      !allowed(current, cpu))
    return 0;
  std::uint64_t left = 0;
  if (now - s.picked_at < kRatelimitNs) {
    left = kRatelimitNs - (now - s.picked_at);
  } else {
    const Vcpu* head = c.runq.front();
    if (now < c.slice_end && (head == nullptr || head->sched.pri <= s.pri)) left = c.slice_end - now;
  }
  return left == 0 ? 0 : (left < kMinTimerNs ? kMinTimerNs : left);
}

Scheduler::Decision Scheduler::do_schedule(unsigned cpu, Vcpu* current, std::uint64_t now) {
  if (cpu >= ncpus_) return {nullptr, kTimeSliceNs};
  Cpu& c = cpus_[cpu];
  c.tickled = false;
  if (current != nullptr && current->sched.inserted) charge(*current, now);
  maybe_account(now);
  if (current != nullptr) {
    if (std::uint64_t left = keep_slice(*current, cpu, now); left != 0) return {current, left};
  }
  if (current != nullptr && current->sched.inserted && current->runnable() && !current->sched.parked &&
      !RunQueue::linked(*current)) {
    if (!allowed(*current, cpu)) current->sched.cpu = first_allowed(*current);
    runq_insert(*current);
  }
  if (current != nullptr) current->sched.yielding = false;
  Vcpu* next = pick(cpu);
  c.current = next;
  if (next != nullptr) {
    next->sched.cpu = cpu;
    next->sched.start_time = now;
    if (next != current) next->sched.picked_at = now;
  }
  const std::uint64_t slice = slice_until_account(now);
  c.slice_end = now + slice;
  return {next, slice};
}

// A slice ends at the next accounting at the latest, so the priorities (and parking) it sets
// take effect there; an idle pCPU also wakes then, to look for work to steal.
std::uint64_t Scheduler::slice_until_account(std::uint64_t now) const {
  std::uint64_t slice = kTimeSliceNs;
  if (next_account_ > now && next_account_ - now < slice) slice = next_account_ - now;
  return slice < kMinTimerNs ? kMinTimerNs : slice;
}

long Scheduler::set_affinity(Vcpu& v, std::uint64_t cpumask) {
  if ((cpumask & online_mask()) == 0) return -pv::XEN_EINVAL;
  v.sched.affinity = cpumask;
  if (allowed(v, v.sched.cpu) || is_running(v)) return 0;
  const bool queued = RunQueue::linked(v);
  runq_remove(v);
  v.sched.cpu = first_allowed(v);
  if (queued) runq_insert(v);
  return 0;
}

}  // namespace hv
