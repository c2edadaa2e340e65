// scheduler: a proportional-share vCPU scheduler after Xen's credit scheduler (credit1,
// xen/common/sched/credit.c). Every accounting period (30 ms) the pCPUs' time is shared out as
// credit among the active vCPUs by their domains' weights (Xen 4.17 counts a domain's weight
// once per active vCPU, so of two busy domains with equal weights, one with two vCPUs gets
// twice the time of one with one); running burns credit. Each pCPU has a run queue ordered
// BOOST > UNDER (credit left) > OVER (none left), round robin within a priority; an idle
// pCPU, or one with only OVER work, steals better work from the others' queues within the
// vCPUs' affinity. A cap parks a domain's vCPUs once they used their share of the period.
//
// Locking (levels 4 and 6 of the order in spinlock.hpp). Every method may be called from any
// pCPU at once. Callers hold no scheduler lock and may hold domain, memory and event locks,
// never a timer or leaf lock (a timer that wakes a vCPU calls vcpu_wake after dropping its
// timer lock). The scheduler calls nothing that takes a lock.
//  - Each pCPU has a lock (level 4) guarding its run queue, `current` (its writes), slice_end
//    and the SchedVcpu of every vCPU assigned to it (v.sched.cpu == that pCPU). A vCPU is
//    locked as Xen's vcpu_schedule_lock: read v.sched.cpu, lock that pCPU, re-check, retry.
//    v.sched.cpu changes only with the old and the new pCPU's locks held: two are taken in
//    pCPU order, or the second by try_lock (stealing skips a peer whose lock is busy, as Xen's
//    pcpu_schedule_trylock). do_schedule takes its pCPU's lock (and peers' by try_lock);
//    vcpu_insert, vcpu_wake and context_saved take v's pCPU and the pCPU v must move to, if it
//    must; set_affinity v's pCPU and the first pCPU of the new mask; vcpu_remove, vcpu_sleep,
//    vcpu_yield and tickle_target v's pCPU; set_params and get_params only the leaf lock.
//  - The accounting runs at the start of a do_schedule, before its own lock, once due (a
//    lock-free read): it takes every online pCPU's lock in pCPU order, re-checks that it is
//    still due (so one pCPU does it) and may then park, unpark, move and re-sort every queue.
//  - A leaf lock (level 6, acct_lock_) guards the active-domain list, the credit balance and
//    every SchedDomain's active_vcpus, weight and cap: vCPUs start and stop earning credit
//    under their own pCPU's lock, so two pCPUs may change one domain's count at once.
//  - Read without a lock, hence atomic: a pCPU's `current` (current(), tickle, steal) and
//    `tickled` (set by any waker), v.sched.cpu (for the re-check), v.sched.affinity (to find
//    the second pCPU before locking; written under the locks), next_account_, and the hints
//    last_tickle_ and balance_bias_. All relaxed: a stale hint costs a later choice, never
//    safety; the locks order everything that matters.
//  - A vCPU's context is live from the do_schedule that makes it some pCPU's current until
//    context_saved(v), which the arch calls once it has switched v out (registers saved) with
//    no scheduler lock held. Until then no other pCPU picks or steals it (it stays queued),
//    and the pCPU lock that context_saved releases orders the save before any later pick. A
//    current vCPU whose new affinity excludes its pCPU is requeued there by do_schedule and
//    moved by its context_saved.
//  - Lost wake-ups: a vCPU sets itself blocked before its pCPU's do_schedule; a waker wins the
//    blocked -> runnable CAS before vcpu_wake. Both decide under v's pCPU lock, so the later of
//    the two sees the other's state: do_schedule first drops v, and the wake queues it; the
//    wake first finds v running and does nothing, and do_schedule keeps v (runnable again).
// The scheduler never owns vCPUs or domains: a vCPU must be removed (vcpu_remove) before it is
// freed, and stay valid until the pCPU that ran it has been through do_schedule and, if that
// switched it out, context_saved.
//
// Deviations from Xen, all deliberate (see scheduler.cpp for the details):
//  - credit is kept in nanoseconds of pCPU time (Xen: 10 credits per ms); ratios are equal;
//  - there is no per-pCPU 10 ms tick: run time is burned at every do_schedule and, for every
//    running vCPU, at each accounting; slices end at the accounting boundary so new
//    priorities and parking take effect there;
//  - vcpu_insert keeps the vCPU on its current pCPU (Xen picks an idle one): idle pCPUs steal
//    the work, and an idle pCPU asks to be rescheduled every period to look for some;
//  - parked vCPUs are kept off the run queues instead of being paused;
//  - a do_schedule before the slice it gave ends (the caller may call more often than asked)
//    lets the current vCPU run on unless a queued vCPU outranks it; Xen only reschedules
//    when asked to;
//  - no soft affinity, no cache-hot migration delay (Xen's default delay is 0 anyway).
#pragma once
#include <atomic>
#include <cstdint>

#include "intrusive_list.hpp"
#include "spinlock.hpp"

namespace hv {

class Vcpu;
class Domain;

inline constexpr unsigned kSchedMaxCpus = 8;
inline constexpr unsigned kSchedNoCpu = ~0u;

// Xen's CSCHED_PRI_*: larger runs first; only an idle pCPU is `idle`, never a vCPU.
enum class SchedPri : std::int8_t { idle = -64, over = -2, under = -1, boost = 0 };

// Per-vCPU scheduler state (a member of Vcpu), guarded by the lock of pCPU `cpu`; only the
// scheduler writes it, except that the caller may set `cpu` and `affinity` before the first
// vcpu_insert.
struct SchedVcpu {
  std::atomic<unsigned> cpu{0};  // the pCPU whose run queue holds it / that runs it (v->processor)
  std::atomic<std::uint64_t> affinity{~std::uint64_t{0}};  // hard affinity, bit per pCPU
  std::int64_t credit = 0;      // ns of pCPU time it may still use this period (may go < 0)
  std::uint64_t start_time = 0; // run time up to here has been burned
  std::uint64_t picked_at = 0;  // when it last got its pCPU (for the ratelimit)
  SchedPri pri = SchedPri::under;
  bool inserted = false;  // between vcpu_insert and vcpu_remove
  bool active = false;    // earns credit (Xen's active_unit_elem is linked)
  bool parked = false;    // its domain used its cap this period: not run until credit >= 0
  bool yielding = false;  // sched_op yield: goes behind its peers at the next do_schedule
  // Its registers are (or may still be) loaded on the pCPU that last picked it: from that
  // do_schedule until context_saved. No other pCPU may run it meanwhile (Xen's is_running).
  std::atomic<bool> context_live{false};
  bool passed_over = false;  // a pick or steal skipped it while live: context_saved tickles
  ListLink<Vcpu> runq;    // on cpus_[cpu]'s run queue
};

// Per-domain scheduler parameters and accounting (a member of Domain), guarded by the
// scheduler's leaf lock. weight (1-65535) and cap may be written directly while no pCPU
// schedules yet (the boot configuration), else through set_params.
struct SchedDomain {
  std::uint16_t weight = 256;  // Xen's default
  std::uint16_t cap = 0;       // percent of one pCPU; 0 = no cap
  std::uint16_t active_vcpus = 0;  // vCPUs earning credit (Xen's active_unit_count)
  ListLink<Domain> active;         // on the list of domains earning credit
};

ListLink<Vcpu>& sched_runq_link(Vcpu& v);
ListLink<Domain>& sched_active_link(Domain& d);

class Scheduler {
 public:
  static constexpr std::uint64_t kTimeSliceNs = 30'000'000;  // sched_credit_tslice_ms 30
  static constexpr std::uint64_t kPeriodNs = kTimeSliceNs;   // Xen accounts every tslice
  static constexpr std::uint64_t kRatelimitNs = 1'000'000;   // sched_ratelimit_us 1000
  static constexpr std::uint64_t kMinTimerNs = 100'000;      // XEN_SYSCTL_SCHED_RATELIMIT_MIN

  // pCPUs 0..n-1 take part (called once at boot before any other call, n >= 1; clamped to
  // 1..kSchedMaxCpus).
  void set_online_cpus(unsigned n);
  unsigned online_cpus() const { return ncpus_; }

  // A vCPU joins (domain built / VCPUOP_up): placed on a run queue when runnable(). A `cpu`
  // the caller left out of range means the first allowed pCPU.
  void vcpu_insert(Vcpu& v, std::uint64_t now);
  // A vCPU leaves for good or goes offline (VCPUOP_down, domain shutdown/teardown): off every
  // queue; if it is running somewhere, that CPU's next do_schedule will not pick it again.
  void vcpu_remove(Vcpu& v);
  // v became runnable (woken from blocked): queued (BOOST when it had credit); returns the
  // pCPU that should reschedule now (an idle one, or one whose current vCPU has lower
  // priority), or kSchedNoCpu.
  unsigned vcpu_wake(Vcpu& v, std::uint64_t now);
  // v blocked (sched_op block/poll): the caller's next do_schedule on its CPU switches away;
  // if queued, it is dequeued.
  void vcpu_sleep(Vcpu& v);
  // The pCPU that should reschedule now so that queued `v` runs soon (what vcpu_wake returns),
  // or kSchedNoCpu; e.g. after vcpu_insert of a vCPU brought up by VCPUOP_up, which itself
  // tickles nobody (as Xen's insert; an idle pCPU would otherwise find it within a period).
  unsigned tickle_target(const Vcpu& v);
  // sched_op yield: v goes behind the other runnable vCPUs of its priority (and, as in Xen,
  // behind one of lower priority if there is one) at its CPU's next do_schedule.
  void vcpu_yield(Vcpu& v);

  // next == nullptr: idle; slice_ns: when to call do_schedule again at the latest.
  struct Decision {
    Vcpu* next;
    std::uint64_t slice_ns;
  };
  // Called on `cpu` whenever it must choose (its slice ended, its vCPU blocked or yielded, a
  // wake named it): burns `current`'s run time, runs the periodic accounting when due, keeps
  // `current` for the ratelimit or the rest of its slice if nothing outranks it, else
  // requeues it (if still runnable) and picks the next vCPU: the local queue first, then
  // work stolen from other pCPUs when the best local one is not UNDER or better.
  // current == nullptr: the CPU was idle (an idle pCPU is still given a slice, to look for
  // work to steal). `current` must be what this pCPU's previous do_schedule chose: the first
  // vCPU a pCPU runs comes from do_schedule(cpu, nullptr, now). When `next` is not
  // `current`, the caller switches `current` out and then calls context_saved(*current)
  // before its next do_schedule. Takes every pCPU's lock when the accounting is due, else
  // `cpu`'s (plus, by try_lock, a peer's while stealing).
  Decision do_schedule(unsigned cpu, Vcpu* current, std::uint64_t now);
  // The arch has switched `v` out (its registers are saved): other pCPUs may run it now. If v
  // may no longer run on its pCPU (its affinity changed while it ran), it moves to an allowed
  // one. Returns the pCPU to reschedule (an idler, or one v outranks) when queued v was moved
  // or passed over by a pick while live, else kSchedNoCpu.
  unsigned context_saved(Vcpu& v);

  // XEN_DOMCTL_SCHEDOP_putinfo as Xen's csched_dom_cntl: weight 0 keeps the weight, cap
  // 0xffff keeps the cap; every other value is taken (range checks are libxl's). Returns 0.
  long set_params(Domain& d, std::uint16_t weight, std::uint16_t cap);
  void get_params(const Domain& d, std::uint16_t& weight, std::uint16_t& cap) const;
  // Hard affinity; -EINVAL if no online pCPU is in the mask. A queued vCPU that may no
  // longer run where it waits moves at once; a running one at its CPU's next do_schedule.
  long set_affinity(Vcpu& v, std::uint64_t cpumask);

  // What `cpu` runs (nullptr: idle), as of its last do_schedule; lock-free, so only a hint
  // unless called on `cpu` itself.
  Vcpu* current(unsigned cpu) const {
    return cpu < ncpus_ ? cpus_[cpu].current.load(std::memory_order_relaxed) : nullptr;
  }

 private:
  using RunQueue = IntrusiveList<Vcpu, sched_runq_link>;
  using DomainList = IntrusiveList<Domain, sched_active_link>;
  struct Cpu {
    SpinLock lock;  // level 4: everything below and the SchedVcpu of the vCPUs assigned here
    RunQueue runq;
    std::atomic<Vcpu*> current{nullptr};
    std::atomic<bool> tickled{false};  // a wake asked it to reschedule: not an idler for the next
    std::uint64_t slice_end = 0;  // when the slice of its last choice ends
  };
  // The locks of pCPUs `cpu` (a vCPU's) and `other` (one lock if equal) held for a scope.
  struct Held {
    Held(Scheduler& s, unsigned a, unsigned b) : sched(s), cpu(a), other(b) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { sched.unlock_cpus(cpu, other); }
    Scheduler& sched;
    const unsigned cpu, other;
  };

  // scheduler.cpp: locking a vCPU's pCPU (and the one it moves to).
  void lock_cpus(unsigned a, unsigned b);
  void unlock_cpus(unsigned a, unsigned b);
  unsigned lock_vcpu_cpus(const Vcpu& v, unsigned other);
  Held lock_vcpu(const Vcpu& v);
  Held lock_vcpu_and(const Vcpu& v, unsigned other);
  unsigned home(const Vcpu& v, unsigned cpu) const;
  Held lock_home(const Vcpu& v);
  void move(Vcpu& v, unsigned to);
  // scheduler.cpp: queues, picking, stealing.
  std::uint64_t online_mask() const;
  bool allowed(const Vcpu& v, unsigned cpu) const;
  unsigned first_allowed(const Vcpu& v) const;
  bool is_running(const Vcpu& v) const;
  void runq_insert(Vcpu& v);
  void runq_remove(Vcpu& v);
  unsigned tickle(const Vcpu& v);
  bool pickable(Vcpu& v, unsigned cpu, const Vcpu* current);
  Vcpu* steal(unsigned cpu, SchedPri than);
  Vcpu* pick(unsigned cpu, const Vcpu* current);
  void charge(Vcpu& v, std::uint64_t now);
  std::uint64_t keep_slice(const Vcpu& current, unsigned cpu, std::uint64_t now) const;
  std::uint64_t slice_until_account(std::uint64_t now) const;
  // scheduler_account.cpp: the periodic credit accounting; acct_start/stop need acct_lock_.
  void acct_start(Vcpu& v);
  void acct_stop(Vcpu& v);
  void maybe_account(std::uint64_t now);
  void account();
  std::int64_t account_domain(Domain& d, std::int64_t credit_fair, std::int64_t credit_cap);
  void park(Vcpu& v);
  void unpark(Vcpu& v);
  void runq_sort(unsigned cpu);

  unsigned ncpus_ = 1;  // written once at boot, before any other CPU calls in
  Cpu cpus_[kSchedMaxCpus];
  mutable SpinLock acct_lock_;        // level 6 (leaf): the two below and every SchedDomain
  DomainList active_domains_;         // Xen's prv->active_sdom
  std::int64_t credit_balance_ = 0;   // credit left over at the last accounting
  std::atomic<std::uint64_t> next_account_{0};  // 0: the clock has not been seen yet
  std::atomic<unsigned> balance_bias_{0};       // where the last steal found work
  std::atomic<unsigned> last_tickle_{0};        // which idler the last wake asked for
};

}  // namespace hv
