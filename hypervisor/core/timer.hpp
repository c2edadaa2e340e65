// timer: per-vCPU one-shot, periodic and poll-timeout timers (Xen's v->singleshot_timer,
// v->periodic_timer and v->poll_timer) on a per-CPU deadline queue, earliest first. Expiry
// times are absolute system time in ns (Xen's s_time_t, NOW()). Guest input (set_timer_op,
// VCPUOP_set_*_timer, SCHEDOP_poll's timeout) is checked here with Xen's rules. The queue is
// intrusive (each Timer is its own link), so it never fills and never holds a timer twice.
//
// Locking (level 5 of core/spinlock.hpp's order). Each TimerQueue's `lock` guards its list,
// its size and earliest deadline, and the queue fields (`expires`, `next`, `kind`, `owner`)
// of the Timers linked on it. Which queue that is, is `Timer::on`: it goes from null to a
// queue only by compare-and-swap under that queue's lock (so a timer is on one queue at
// most) and back to null only under the same lock. A timer moves from queue A to queue B
// in two steps, never holding two queue locks: off A under A's lock, then onto B under B's
// lock; in between it is on no queue (timers_armed may say false for that moment, and A
// cannot fire it). A vCPU's periodic state has its own lock, taken before a queue lock
// (see VcpuTimers). The hook is always called with no timer lock held.
//
// Callers: every function here takes the timer locks it needs and releases them before it
// returns, so its caller holds no timer lock (queue or periodic) and may hold locks of
// levels 1-4, except that a function given a TimerEventFn, or one that may wake a poller
// (timer_set_poll, fire_due_timers), may take event and scheduler locks (3, 4) with no
// timer lock held: its caller holds none of those it would need (in practice the domain
// lock at most; timer_set_poll's caller may hold the poller's own event lock).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spinlock.hpp"

namespace hv {

class Vcpu;
class TimerQueue;

enum class TimerKind : std::uint8_t { singleshot, periodic, poll };

struct Timer {
  // The queue it is linked on, or null. Read without a lock to find the queue to lock;
  // re-checked under that lock, since the timer may have moved meanwhile.
  std::atomic<TimerQueue*> on{nullptr};
  // Guarded by the lock of the queue `on` names (written by whoever claimed it for that
  // queue, read by that queue's pop and take).
  std::uint64_t expires = 0;  // absolute system time (ns)
  TimerKind kind = TimerKind::singleshot;
  Vcpu* owner = nullptr;
  Timer* next = nullptr;
  // Callbacks popped off a queue and not yet finished (fire_due_timers), so teardown can
  // wait for them (timers_kill): a popped timer is no longer on any queue.
  std::atomic<unsigned> in_flight{0};

  // A snapshot: another CPU may arm, fire or move it the next moment.
  bool queued() const { return on.load(std::memory_order_acquire) != nullptr; }
};

// A vCPU's timers. The periodic one runs only while the vCPU is scheduled (Xen stops it
// when the vCPU is switched out and re-arms it when switched in); the others also run while
// it is blocked, which is what they are for.
//
// Writers: the singleshot and poll timers are armed and stopped by the vCPU's own hypercalls
// on the CPU running it, moved by timers_switch_in on the CPU it is switched in on, and
// popped by whichever CPU's queue holds them. The periodic state (the periodic timer,
// `periodic_period`, `periodic_last_event`) is changed by the vCPU's own CPU (switch in and
// out, its hypercalls), by a sibling's VCPUOP_*_periodic_timer from another CPU, and by the
// firing CPU's re-arm, always under `periodic_lock` (Xen's periodic_timer_lock). `queue` is
// written only by timers_switch_in (the vCPU's new CPU) and read by any of them.
// `periodic_armed_at` names the periodic timer's latest arming, so a callback for an older
// one (its timer re-armed or stopped after it was popped, e.g. by a switch-out on another
// CPU) re-arms nothing. As in Xen, a sibling's VCPUOP_set_periodic_timer for a vCPU that is
// not running arms it on the vCPU's last CPU, where it fires until the next switch-in.
struct VcpuTimers {
  Timer singleshot;
  Timer periodic;
  Timer poll;  // SCHEDOP_poll's timeout
  // Level 5, before any queue lock: one queue lock at a time may be taken inside it, never
  // the reverse; never held while an event is sent (that takes levels 3 and 4).
  SpinLock periodic_lock;
  std::uint64_t periodic_period = 0;      // ns; 0 = off
  std::uint64_t periodic_last_event = 0;  // system time of the last periodic event
  std::uint64_t periodic_armed_at = 0;    // the periodic timer's expiry; 0 = stopped
  std::atomic<TimerQueue*> queue{nullptr};  // the queue of the CPU it last ran on
};

// Whether any timer of the vCPU is armed (something can still wake it while blocked). A
// lock-free snapshot; a timer being moved between queues or being re-armed after firing is
// briefly on none.
inline bool timers_armed(const VcpuTimers& t) {
  return t.singleshot.queued() || t.periodic.queued() || t.poll.queued();
}

// Xen arms every PV vCPU's periodic timer at 100 Hz (pv/domain.c); Linux stops it.
inline constexpr std::uint64_t kDefaultPeriodNs = 10'000'000;

// The CPU's timers in deadline order. The hook (installed by the arch before a second CPU
// starts) is told, with no timer lock held, after every change that moved the earliest
// deadline, by whichever CPU made it, so the owning CPU can reprogram its hardware; it reads
// earliest() for the latest value, so a hook call that comes late is still right. Removing
// due timers (pop_due) does not call it: the owning CPU reprograms after firing.
class TimerQueue {
 public:
  using Hook = void (*)(TimerQueue&);

  SpinLock lock;  // level 5; see the top of this file for what it guards

  void set_hook(Hook h) { hook_.store(h, std::memory_order_release); }
  // (Re)arms `t` at `expires` on this queue, taking it off whichever queue held it (Xen's
  // set_timer: a past expiry fires at the next check). Takes the queue locks, one at a time.
  void set(Vcpu& owner, TimerKind kind, Timer& t, std::uint64_t expires);
  // Takes `t` off this queue if it is here; returns whether it was.
  bool stop(Timer& t);
  // Moves `t`, if it is armed on another queue, here with the same expiry (Xen's
  // migrate_timer). If it is re-armed by someone else while in transit, that arming wins.
  void migrate(Timer& t);
  // Lock-free snapshots, updated under the lock with every change.
  bool empty() const { return size() == 0; }
  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  std::uint64_t earliest() const { return earliest_.load(std::memory_order_acquire); }

  struct Due {
    Vcpu* vcpu;
    TimerKind kind;
    Timer* timer;  // its in_flight count was raised: the caller lowers it when done
    std::uint64_t expires;
  };
  // Removes the earliest timer if it has expired at `now` and returns it, else {nullptr}.
  Due pop_due(std::uint64_t now);

 private:
  // What a timer was armed with, read under the lock of the queue it leaves.
  struct Armed {
    Vcpu* owner;
    TimerKind kind;
    std::uint64_t expires;
  };
  bool take(Timer& t, Armed* was);
  // Links `t` as `a` here unless it is on another queue (returns false). One already here
  // is moved only if `rearm`.
  bool put(Timer& t, const Armed& a, bool rearm);
  // List surgery; the lock is held. unlink_locked returns whether `t` was the earliest.
  void insert_locked(Timer& t);
  bool unlink_locked(Timer& t);
  void publish_locked();
  void notify();

  Timer* head_ = nullptr;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint64_t> earliest_{~std::uint64_t{0}};
  std::atomic<Hook> hook_{nullptr};
};

// Stops `t` on whichever queue holds it (a no-op if none does).
void stop_timer(Timer& t);

// What happens when a vCPU's one-shot or periodic timer expires: VIRQ_TIMER for it (the arch
// raises it through the event-channel code, taking event and scheduler locks). `ctx` is the
// caller's. It is always called with no timer lock held. A poll timeout needs no callback: it
// only wakes the vCPU (core/event_channel's poll state).
using TimerEventFn = void (*)(Vcpu& v, void* ctx);

// Fires every timer due at `now` on `q`, the calling CPU's own queue, holding no lock:
// each is popped under the queue lock, then its callback runs with the lock dropped
// (singleshot: once; periodic: Xen's vcpu_periodic_timer_work, re-armed one period after
// `now`; poll: Xen's poll_timer_fn). A popped timer is on no queue while its callback runs;
// if its vCPU re-arms or moves it meanwhile (from its own CPU), that is a new arming that
// fires on its own. A periodic timer re-armed or stopped since it was popped is left as it
// is (whoever did that has done this period's work, or ended the period), so a period is
// neither lost, doubled nor resurrected. Returns how many fired. The caller reprograms its
// hardware afterwards (pop_due does not call the hook; re-arms may).
unsigned fire_due_timers(TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx);
// The callback of one timer popped at `now` (fire_due_timers' body; a CPU holding no lock),
// which then lowers its in_flight count.
void fire_timer(const TimerQueue::Due& due, std::uint64_t now, TimerEventFn send, void* ctx);

// The vCPU is switched in on `q` / out (Xen's context_switch: periodic work on switch-in,
// stop_timer on switch-out), on the CPU that owns `q` / that ran it, holding no lock.
// Switch-in moves its armed one-shot and poll timers to `q` (Xen's migrate_timer) and may
// send an event at once (the period has passed).
void timers_switch_in(Vcpu& v, TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx);
void timers_switch_out(Vcpu& v);
// Every timer of the vCPU stopped, its period cleared, and any callback still running for it
// on another CPU finished (domain teardown; Xen's kill_timer, which also waits). The caller
// holds no event, scheduler or timer lock: a callback it waits for may need them.
void timers_kill(Vcpu& v);

// Hypercall semantics (Xen 4.17); results are 0 or a negative Xen errno. `v` must be the
// calling vCPU where Xen requires current; the periodic calls may name a sibling, running on
// another CPU. Called holding at most the domain lock (timer_set_poll: also the event lock);
// they take the timer locks themselves and send events with none held.
// set_timer_op: 0 stops the one-shot timer; a negative timeout, or one more than 2^50 ns
// ahead, is replaced by now + 100 ms (Xen's "Linux workaround"); otherwise armed as given.
long timer_set_timer_op(Vcpu& v, std::int64_t timeout, std::uint64_t now);
// VCPUOP_set_periodic_timer: period below 1 ms or above STIME_DELTA_MAX -> -EINVAL.
long timer_set_periodic(Vcpu& v, std::uint64_t period_ns, std::uint64_t now, TimerEventFn send, void* ctx);
void timer_stop_periodic(Vcpu& v);
// VCPUOP_set_singleshot_timer: an expiry already in the past sends the event at once.
long timer_set_singleshot(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now, TimerEventFn send, void* ctx);
void timer_stop_singleshot(Vcpu& v);
// SCHEDOP_poll's timeout, for a vCPU that has just started polling (Xen's
// set_timer(&v->poll_timer, timeout)): at `timeout_abs_ns` it is woken if it still polls; a
// timeout already past (as s_time_t) wakes it at once. An event that ends the poll first does
// not stop the timer (nor does Xen): its expiry then finds nothing polling and does nothing,
// unless the vCPU polls again by then without a timeout (a spurious wakeup, as in Xen).
void timer_set_poll(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now);

}  // namespace hv
