// scheduler_account: the credit scheduler's periodic accounting (Xen's csched_acct), the
// active lists it walks, caps (parking) and the domctl parameters. Every period the online
// pCPUs' time is handed out as credit to the vCPUs that ran recently, by domain weight; a
// domain never earns more than its vCPUs could use (or its cap allows), and what it cannot
// use goes to the others. It runs with every pCPU's lock held (scheduler.hpp, "Locking").
#include "domain.hpp"
#include "scheduler.hpp"

namespace hv {
namespace {

constexpr std::int64_t kPeriod = static_cast<std::int64_t>(Scheduler::kPeriodNs);

// Xen rounds every share up, (a + b - 1) / b; operands here are never negative.
std::int64_t div_up(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

// Xen's __csched_unit_acct_start: the vCPU (and its domain) earn credit again. The caller holds
// v's pCPU lock and acct_lock_ (pCPUs share the domain's count and the list), as for acct_stop.
void Scheduler::acct_start(Vcpu& v) {
  Domain& d = v.domain();
  v.sched.active = true;
  ++d.sched.active_vcpus;
  if (!DomainList::linked(d)) active_domains_.push_front(d);
}

void Scheduler::acct_stop(Vcpu& v) {
  Domain& d = v.domain();
  v.sched.active = false;
  --d.sched.active_vcpus;
  if (d.sched.active_vcpus == 0) active_domains_.remove(d);
}

// Runs the accounting once its time has come. Every running vCPU pays first, so the period's
// run time is all on the books (Xen's 10 ms ticks do that, less exactly). A clock that jumped
// more than a period starts a new rhythm instead of paying out the missed periods.
// Called before the caller's own pCPU lock: whether it is due is read without a lock, then
// every pCPU is locked in pCPU order and it is checked again, so of the pCPUs that found it due
// only the first accounts.
void Scheduler::maybe_account(std::uint64_t now) {
  std::uint64_t due = next_account_.load(std::memory_order_relaxed);
  if (due == 0) {
    next_account_.compare_exchange_strong(due, now + kPeriodNs, std::memory_order_relaxed);
    return;
  }
  if (now < due) return;
  for (unsigned cpu = 0; cpu < ncpus_; ++cpu) cpus_[cpu].lock.lock();
  due = next_account_.load(std::memory_order_relaxed);
  if (now >= due) {
    for (unsigned cpu = 0; cpu < ncpus_; ++cpu) {
      Vcpu* running = cpus_[cpu].current.load(std::memory_order_relaxed);
      if (running != nullptr && running->sched.inserted) charge(*running, now);
    }
    account();
    const std::uint64_t next = now - due < kPeriodNs ? due + kPeriodNs : now + kPeriodNs;
    next_account_.store(next, std::memory_order_relaxed);
  }
  for (unsigned cpu = ncpus_; cpu-- > 0;) cpus_[cpu].lock.unlock();
}

// Xen's csched_acct, share by share (names as there). The total weight (Xen's prv->weight,
// kept up to date there) is summed here, so a weight written straight into Domain::sched
// cannot leave a stale total behind.
void Scheduler::account() {
  LockGuard acct(acct_lock_);
  std::int64_t weight_total = 0;
  for (Domain* d = active_domains_.front(); d != nullptr; d = DomainList::next(*d))
    weight_total += std::int64_t{d->sched.weight} * d->sched.active_vcpus;
  std::int64_t credit_total = kPeriod * ncpus_;
  // Credit overspent last period (negative balance) is paid out again, to converge to 0.
  if (credit_balance_ < 0) credit_total -= credit_balance_;
  if (weight_total == 0) {
    credit_balance_ = 0;
    return;
  }
  std::int64_t weight_left = weight_total, credit_balance = 0;
  bool credit_xtra = false;
  for (Domain* d = active_domains_.front(); d != nullptr;) {
    Domain* next = DomainList::next(*d);
    const SchedDomain& sd = d->sched;
    const std::int64_t n = sd.active_vcpus, weight = sd.weight;
    weight_left -= weight * n;
    // At most what its active vCPUs can use in a period (more while the balance is negative).
    std::int64_t credit_peak = n * kPeriod;
    if (credit_balance_ < 0) credit_peak += div_up(-credit_balance_ * weight * n, weight_total);
    std::int64_t credit_cap = 0;
    if (sd.cap != 0) {
      credit_cap = div_up(sd.cap * kPeriod, 100);
      if (credit_cap < credit_peak) credit_peak = credit_cap;
      credit_cap = div_up(credit_cap, n);  // per vCPU, as Xen (its FIXME included)
    }
    std::int64_t credit_fair = div_up(credit_total * weight * n, weight_total);
    if (credit_fair < credit_peak) {
      credit_xtra = true;
    } else {
      // What this domain cannot use is shared among the domains after it.
      if (weight_left != 0) credit_total += div_up((credit_fair - credit_peak) * weight_total, weight_left);
      // Domains that could use extra move to the front, to get it in later periods.
      if (credit_xtra) {
        active_domains_.remove(*d);
        active_domains_.push_front(*d);
      }
      credit_fair = credit_peak;
    }
    credit_balance += account_domain(*d, div_up(credit_fair, n), credit_cap);
    d = next;
  }
  credit_balance_ = credit_balance;
  for (unsigned cpu = 0; cpu < ncpus_; ++cpu) runq_sort(cpu);
}

// Pays `credit_fair` to each active vCPU of `d` and sets its priority; returns their credit.
std::int64_t Scheduler::account_domain(Domain& d, std::int64_t credit_fair, std::int64_t credit_cap) {
  std::int64_t total = 0;
  for (unsigned i = 0; i < d.vcpu_count(); ++i) {
    Vcpu* v = d.vcpu(i);
    if (v == nullptr || !v->sched.active) continue;
    SchedVcpu& s = v->sched;
    s.credit += credit_fair;
    if (s.credit < 0) {
      s.pri = SchedPri::over;
      if (d.sched.cap != 0 && s.credit < -credit_cap && !s.parked) park(*v);
      if (s.credit < -kPeriod) s.credit = -kPeriod;  // debt is bounded
    } else {
      s.pri = SchedPri::under;
      if (s.parked) unpark(*v);
      // A vCPU that does not use its credit stops earning; it keeps half, to start ahead.
      if (s.credit > kPeriod) {
        acct_stop(*v);
        s.credit /= 2;
      }
    }
    total += s.credit;
  }
  return total;
}

// A capped domain's vCPU that overspent: off the queues until its credit is back to >= 0; if
// it is running, its pCPU's do_schedule (at this accounting boundary) drops it.
void Scheduler::park(Vcpu& v) {
  v.sched.parked = true;
  runq_remove(v);
}

// Queued again without a boost (Xen clears PARKED after the unpause for that reason). An idle
// pCPU finds it within a period (its idle slice ends at the next accounting).
void Scheduler::unpark(Vcpu& v) {
  v.sched.parked = false;
  if (v.sched.inserted && v.runnable() && !RunQueue::linked(v) && !is_running(v)) {
    const unsigned cpu = v.sched.cpu.load(std::memory_order_relaxed);
    if (!allowed(v, cpu)) move(v, first_allowed(v));  // every pCPU's lock is held
    runq_insert(v);
  }
}

// Xen's csched_runq_sort: vCPUs with credit move ahead of those without, each group keeping
// its order (O(n), after every accounting).
void Scheduler::runq_sort(unsigned cpu) {
  RunQueue& q = cpus_[cpu].runq;
  Vcpu* last_under = nullptr;
  for (Vcpu* v = q.front(); v != nullptr;) {
    Vcpu* next = RunQueue::next(*v);
    if (v->sched.pri >= SchedPri::under) {
      if (RunQueue::prev(*v) != last_under) {
        q.remove(*v);
        q.insert_before(last_under != nullptr ? RunQueue::next(*last_under) : q.front(), *v);
      }
      last_under = v;
    }
    v = next;
  }
}

long Scheduler::set_params(Domain& d, std::uint16_t weight, std::uint16_t cap) {
  LockGuard acct(acct_lock_);
  SchedDomain& s = d.sched;
  if (weight != 0) s.weight = weight;
  if (cap != 0xffff) s.cap = cap;
  return 0;
}

void Scheduler::get_params(const Domain& d, std::uint16_t& weight, std::uint16_t& cap) const {
  LockGuard acct(acct_lock_);
  weight = d.sched.weight;
  cap = d.sched.cap;
}

}  // namespace hv
