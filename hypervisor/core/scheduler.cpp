// scheduler: run queues, wake-up, picking and work stealing after Xen's credit1
// (csched_unit_wake, __runq_tickle, csched_schedule, csched_load_balance), and the pCPU locks
// that make them safe on every pCPU at once; the periodic credit accounting is in
// scheduler_account.cpp. See scheduler.hpp for the model, the locking and the deviations.
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

// Two pCPU locks in pCPU order (level 4's rule); the same pCPU twice is one lock.
void Scheduler::lock_cpus(unsigned a, unsigned b) {
  lock_pair(cpus_[a < b ? a : b].lock, cpus_[a < b ? b : a].lock);
}

void Scheduler::unlock_cpus(unsigned a, unsigned b) {
  unlock_pair(cpus_[a < b ? a : b].lock, cpus_[a < b ? b : a].lock);
}

// Xen's vcpu_schedule_lock: v.sched.cpu may change until that pCPU's lock is held (every change
// holds it), so it is re-checked under the lock. Also locks `other` (kSchedNoCpu: none), in
// pCPU order. Returns v's pCPU.
unsigned Scheduler::lock_vcpu_cpus(const Vcpu& v, unsigned other) {
  for (;;) {
    const unsigned cpu = v.sched.cpu.load(std::memory_order_relaxed);
    const unsigned second = other == kSchedNoCpu ? cpu : other;
    lock_cpus(cpu, second);
    if (v.sched.cpu.load(std::memory_order_relaxed) == cpu) return cpu;
    unlock_cpus(cpu, second);
  }
}

Scheduler::Held Scheduler::lock_vcpu(const Vcpu& v) {
  const unsigned cpu = lock_vcpu_cpus(v, kSchedNoCpu);
  return {*this, cpu, cpu};
}

Scheduler::Held Scheduler::lock_vcpu_and(const Vcpu& v, unsigned other) {
  return {*this, lock_vcpu_cpus(v, other), other};
}

// Where v belongs: its pCPU while allowed there, else the first allowed one.
unsigned Scheduler::home(const Vcpu& v, unsigned cpu) const {
  return allowed(v, cpu) ? cpu : first_allowed(v);
}

// v's pCPU and v's home, both locked. The home is guessed from the lock-free pCPU and affinity
// and re-checked under the locks, which freeze both.
Scheduler::Held Scheduler::lock_home(const Vcpu& v) {
  for (;;) {
    const unsigned to = home(v, v.sched.cpu.load(std::memory_order_relaxed));
    const unsigned cpu = lock_vcpu_cpus(v, to);
    if (home(v, cpu) == to) return {*this, cpu, to};
    unlock_cpus(cpu, to);
  }
}

// v to pCPU `to`, queued there if it was queued (both pCPUs' locks held).
void Scheduler::move(Vcpu& v, unsigned to) {
  const bool queued = RunQueue::linked(v);
  runq_remove(v);
  v.sched.cpu.store(to, std::memory_order_relaxed);
  if (queued) runq_insert(v);
}

std::uint64_t Scheduler::online_mask() const { return (std::uint64_t{1} << ncpus_) - 1; }

bool Scheduler::allowed(const Vcpu& v, unsigned cpu) const {
  return cpu < ncpus_ && ((v.sched.affinity.load(std::memory_order_relaxed) >> cpu) & 1) != 0;
}

// An affinity without an online pCPU (only possible if set before vcpu_insert) means pCPU 0.
unsigned Scheduler::first_allowed(const Vcpu& v) const {
  std::uint64_t usable = v.sched.affinity.load(std::memory_order_relaxed) & online_mask();
  return usable == 0 ? 0 : static_cast<unsigned>(std::countr_zero(usable));
}

// Some pCPU's `current` is v (a current vCPU never changes pCPU, so it is v's own).
bool Scheduler::is_running(const Vcpu& v) const {
  const unsigned cpu = v.sched.cpu.load(std::memory_order_relaxed);
  return cpu < ncpus_ && cpus_[cpu].current.load(std::memory_order_relaxed) == &v;
}

// Xen's __runq_insert: behind every vCPU of its priority or better; a yielding vCPU also
// behind one of lower priority, if there is one.
void Scheduler::runq_insert(Vcpu& v) {
  RunQueue& q = cpus_[v.sched.cpu.load(std::memory_order_relaxed)].runq;
  Vcpu* pos = q.front();
  while (pos != nullptr && pos->sched.pri >= v.sched.pri) pos = RunQueue::next(*pos);
  if (v.sched.yielding && pos != nullptr) pos = RunQueue::next(*pos);
  q.insert_before(pos, v);
}

void Scheduler::runq_remove(Vcpu& v) {
  if (RunQueue::linked(v)) cpus_[v.sched.cpu.load(std::memory_order_relaxed)].runq.remove(v);
}

void Scheduler::vcpu_insert(Vcpu& v, std::uint64_t now) {
  // Only the caller can have put an offline pCPU here (the scheduler assigns online ones), so
  // no other pCPU knows v yet and it may be corrected before locking.
  if (v.sched.cpu.load(std::memory_order_relaxed) >= ncpus_)
    v.sched.cpu.store(first_allowed(v), std::memory_order_relaxed);
  const Held held = lock_home(v);
  SchedVcpu& s = v.sched;
  if (s.inserted) return;
  s.inserted = true;
  s.yielding = false;
  s.pri = s.credit < 0 ? SchedPri::over : SchedPri::under;  // a down/up keeps its debt
  // ... and earns at once, to pay it off. In Xen a vCPU stops earning only once it has more
  // credit than it uses (never in debt; a VCPUOP_down there does not remove it), and only
  // earning lifts an OVER vCPU: one left idle in debt would otherwise wait for a run to
  // start earning (charge), which it never gets while UNDER work is queued — starved for
  // good. Earning also lets the next accounting park it again if its domain is over its cap.
  if (s.credit < 0 && !s.active) {
    LockGuard acct(acct_lock_);
    acct_start(v);
  }
  s.start_time = now;
  if (held.other != held.cpu && !is_running(v)) move(v, held.other);
  // Still running after a remove: its pCPU's next do_schedule requeues it.
  if (v.runnable() && !RunQueue::linked(v) && !is_running(v)) runq_insert(v);
}

void Scheduler::vcpu_remove(Vcpu& v) {
  const Held held = lock_vcpu(v);
  SchedVcpu& s = v.sched;
  if (!s.inserted) return;
  s.inserted = false;
  s.parked = false;
  s.yielding = false;
  runq_remove(v);
  if (s.active) {
    LockGuard acct(acct_lock_);
    acct_stop(v);
  }
  // If it is some pCPU's current, that pCPU keeps the pointer (so nobody else runs it
  // meanwhile) until its do_schedule, which drops it.
}

// Decided under v's pCPU lock, as do_schedule's requeue of a blocking vCPU: see "Lost wake-ups"
// in scheduler.hpp.
unsigned Scheduler::vcpu_wake(Vcpu& v, std::uint64_t) {
  const Held held = lock_home(v);
  SchedVcpu& s = v.sched;
  if (!s.inserted || s.parked || !v.runnable() || RunQueue::linked(v) || is_running(v)) return kSchedNoCpu;
  if (held.other != held.cpu) move(v, held.other);
  // Xen boosts a waking vCPU that has credit, so I/O-bound vCPUs preempt CPU hogs; running
  // a while (charge) takes the boost away again. Unparking never boosts.
  if (s.pri == SchedPri::under) s.pri = SchedPri::boost;
  runq_insert(v);
  return tickle(v);
}

// Xen's __runq_tickle (hard affinity only): an idle pCPU that may run v (v's own first; an
// idler elsewhere steals it), else v's pCPU if v outranks what runs there. Called with v's
// pCPU locked; the other pCPUs' `current` and `tickled` are hints read without their locks.
unsigned Scheduler::tickle(const Vcpu& v) {
  const unsigned cpu = v.sched.cpu.load(std::memory_order_relaxed);
  const Vcpu* cur = cpus_[cpu].current.load(std::memory_order_relaxed);
  unsigned target = kSchedNoCpu;
  if (cur == nullptr) {
    target = cpu;
  } else {
    const unsigned last = last_tickle_.load(std::memory_order_relaxed);
    for (unsigned i = 1; i <= ncpus_ && target == kSchedNoCpu; ++i) {
      const unsigned c = (last + i) % ncpus_;
      if (cpus_[c].current.load(std::memory_order_relaxed) == nullptr &&
          !cpus_[c].tickled.load(std::memory_order_relaxed) && allowed(v, c))
        target = c;
    }
    if (target != kSchedNoCpu) last_tickle_.store(target, std::memory_order_relaxed);
    if (target == kSchedNoCpu && v.sched.pri > cur->sched.pri) target = cpu;
  }
  if (target != kSchedNoCpu) cpus_[target].tickled.store(true, std::memory_order_relaxed);
  return target;
}

unsigned Scheduler::tickle_target(const Vcpu& v) {
  const Held held = lock_vcpu(v);
  return v.sched.runq.linked ? tickle(v) : kSchedNoCpu;
}

void Scheduler::vcpu_sleep(Vcpu& v) {
  const Held held = lock_vcpu(v);
  runq_remove(v);
}

void Scheduler::vcpu_yield(Vcpu& v) {
  const Held held = lock_vcpu(v);
  v.sched.yielding = true;
}

// Whether `cpu` may take queued v now: allowed there, and its context not live elsewhere
// (`current` is live on `cpu` itself: keeping it needs no switch). A live vCPU passed over is
// noted, so that its context_saved has a pCPU look again.
bool Scheduler::pickable(Vcpu& v, unsigned cpu, const Vcpu* current) {
  if (!allowed(v, cpu)) return false;
  if (&v == current || !v.sched.context_live.load(std::memory_order_acquire)) return true;
  v.sched.passed_over = true;
  return false;
}

// Xen's csched_runq_steal over every busy peer (csched_load_balance): the first queued vCPU
// that outranks `than` and may run on `cpu`. Idle peers are skipped: they pick their own. Only
// `cpu`'s lock is held, so a peer's is taken out of order, by try_lock: a busy peer is skipped
// (as Xen's pcpu_schedule_trylock) rather than waited for.
Vcpu* Scheduler::steal(unsigned cpu, SchedPri than) {
  const unsigned bias = balance_bias_.load(std::memory_order_relaxed);
  for (unsigned i = 1; i <= ncpus_; ++i) {
    const unsigned peer = (bias + i) % ncpus_;
    Cpu& p = cpus_[peer];
    if (peer == cpu || p.current.load(std::memory_order_relaxed) == nullptr || !p.lock.try_lock()) continue;
    Vcpu* found = p.runq.front();
    while (found != nullptr && found->sched.pri > than && !pickable(*found, cpu, nullptr))
      found = RunQueue::next(*found);
    if (found != nullptr && found->sched.pri > than) {
      p.runq.remove(*found);
      found->sched.cpu.store(cpu, std::memory_order_relaxed);
      balance_bias_.store(peer, std::memory_order_relaxed);
    } else {
      found = nullptr;
    }
    p.lock.unlock();
    if (found != nullptr) return found;
  }
  return nullptr;
}

// The first pickable local vCPU when it has credit (UNDER or BOOST), else better work from a
// peer, else that local one or idle. A queued vCPU that stopped being runnable without a
// vcpu_sleep (its domain shut down) is dropped, as Xen's loop over unit_runnable_state.
Vcpu* Scheduler::pick(unsigned cpu, const Vcpu* current) {
  RunQueue& q = cpus_[cpu].runq;
  for (;;) {
    Vcpu* next = q.front();
    while (next != nullptr && !pickable(*next, cpu, current)) next = RunQueue::next(*next);
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
  if (!s.active) {
    LockGuard acct(acct_lock_);
    acct_start(v);
  }
}

// How long `current` keeps `cpu` without a new choice (0: choose now). Xen's ratelimit: it
// keeps its pCPU for kRatelimitNs unless it yields, blocks or may no longer run here. Beyond
// Xen, a call before its slice ends (the caller may call more often than needed) lets it run
// on unless a queued vCPU outranks it.
std::uint64_t Scheduler::keep_slice(const Vcpu& current, unsigned cpu, std::uint64_t now) const {
  const SchedVcpu& s = current.sched;
  const Cpu& c = cpus_[cpu];
  if (c.current.load(std::memory_order_relaxed) != &current || !s.inserted || s.yielding || s.parked ||
      !current.runnable() || !allowed(current, cpu))
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

// A `current` that may no longer run here is requeued here all the same: it is still live
// here, and its context_saved moves it to an allowed pCPU (this one holds no other's lock).
Scheduler::Decision Scheduler::do_schedule(unsigned cpu, Vcpu* current, std::uint64_t now) {
  if (cpu >= ncpus_) return {nullptr, kTimeSliceNs};
  maybe_account(now);
  Cpu& c = cpus_[cpu];
  LockGuard own(c.lock);
  c.tickled.store(false, std::memory_order_relaxed);
  if (current != nullptr && current->sched.inserted) charge(*current, now);
  if (current != nullptr) {
    if (std::uint64_t left = keep_slice(*current, cpu, now); left != 0) return {current, left};
  }
  if (current != nullptr && current->sched.inserted && current->runnable() && !current->sched.parked &&
      !RunQueue::linked(*current))
    runq_insert(*current);
  if (current != nullptr) current->sched.yielding = false;
  Vcpu* next = pick(cpu, current);
  c.current.store(next, std::memory_order_relaxed);
  if (next != nullptr) {
    next->sched.context_live.store(true, std::memory_order_relaxed);
    next->sched.start_time = now;
    if (next != current) next->sched.picked_at = now;
  }
  const std::uint64_t slice = slice_until_account(now);
  c.slice_end = now + slice;
  return {next, slice};
}

// v left its pCPU. The lock orders the arch's register save before any later pick of v: the
// picker holds v's pCPU lock, taken after this release (or after a move that took it).
unsigned Scheduler::context_saved(Vcpu& v) {
  const Held held = lock_home(v);
  SchedVcpu& s = v.sched;
  // Picked again on the pCPU that switched it out (not the contract): still live there.
  if (is_running(v)) return kSchedNoCpu;
  s.context_live.store(false, std::memory_order_release);
  const bool moved = held.other != held.cpu;
  if (moved) move(v, held.other);
  const bool missed = s.passed_over;
  s.passed_over = false;
  return RunQueue::linked(v) && (moved || missed) ? tickle(v) : kSchedNoCpu;
}

// A slice ends at the next accounting at the latest, so the priorities (and parking) it sets
// take effect there; an idle pCPU also wakes then, to look for work to steal.
std::uint64_t Scheduler::slice_until_account(std::uint64_t now) const {
  std::uint64_t slice = kTimeSliceNs;
  const std::uint64_t due = next_account_.load(std::memory_order_relaxed);
  if (due > now && due - now < slice) slice = due - now;
  return slice < kMinTimerNs ? kMinTimerNs : slice;
}

// Locks v's pCPU and the first pCPU of the new mask (v's home under it) before the change.
long Scheduler::set_affinity(Vcpu& v, std::uint64_t cpumask) {
  const std::uint64_t usable = cpumask & online_mask();
  if (usable == 0) return -pv::XEN_EINVAL;
  const Held held = lock_vcpu_and(v, static_cast<unsigned>(std::countr_zero(usable)));
  v.sched.affinity.store(cpumask, std::memory_order_relaxed);
  if (!allowed(v, held.cpu) && !is_running(v)) move(v, held.other);
  return 0;
}

}  // namespace hv
