// timer: the deadline queue and Xen 4.17's vCPU timer semantics (common/sched/core.c
// do_set_timer_op, vcpu_periodic_timer_work, poll_timer_fn, common/domain.c VCPUOP_*_timer).
#include "timer.hpp"

#include <pv/errno.hpp>

#include "domain.hpp"
#include "event_channel.hpp"
#include "panic.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kMillisecond = 1'000'000;
constexpr std::uint64_t kStimeDeltaMax = ~std::uint64_t{0} >> 2;  // Xen's STIME_DELTA_MAX

// Xen's vcpu_periodic_timer_work_locked, with `periodic_lock` held: the timer armed for the
// next period on the vCPU's queue. Returns whether a period has passed since the last event:
// the caller sends it once the lock is dropped (sending takes event and scheduler locks,
// which come before the timer locks). Requires a non-zero period and a queue.
[[nodiscard]] bool periodic_work_locked(Vcpu& v, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  std::uint64_t next = t.periodic_last_event + t.periodic_period;
  const bool due = now >= next;
  if (due) {
    t.periodic_last_event = now;
    next = now + t.periodic_period;
  }
  t.queue.load(std::memory_order_acquire)->set(v, TimerKind::periodic, t.periodic, next);
  t.periodic_armed_at = next;
  return due;
}

// With `periodic_lock` held.
void periodic_stop_locked(VcpuTimers& t) {
  stop_timer(t.periodic);
  t.periodic_armed_at = 0;
}

// The periodic timer's callback, on the CPU that popped the arming that expired at
// `expires`. Whoever re-armed or stopped it since then (a switch-in or -out, a sibling's
// VCPUOP) has done this period's work or ended it, so only the latest arming re-arms.
void periodic_fired(Vcpu& v, std::uint64_t expires, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  bool due = false;
  {
    LockGuard g(t.periodic_lock);
    if (t.periodic_period != 0 && t.periodic_armed_at == expires && !t.periodic.queued())
      due = periodic_work_locked(v, now);
  }
  if (due) send(v, ctx);
}

// Xen's poll_timer_fn: the timeout wakes the vCPU only if it is (still, or again) polling.
void poll_timer_fn(Vcpu& v) {
  EventChannels* ec = v.domain().events;
  if (ec != nullptr && ec->stop_polling(v.id())) unblock_vcpu(v);
}

}  // namespace

void TimerQueue::set(Vcpu& owner, TimerKind kind, Timer& t, std::uint64_t expires) {
  // Retried only while another CPU arms the same timer at the same moment (which the
  // ownership rules in timer.hpp make rare): the last one to claim it wins.
  for (;;) {
    TimerQueue* const from = t.on.load(std::memory_order_acquire);
    if (from != nullptr && from != this) {
      (void)from->take(t, nullptr);
      continue;
    }
    if (put(t, Armed{&owner, kind, expires}, true)) return;
  }
}

bool TimerQueue::stop(Timer& t) { return take(t, nullptr); }

void TimerQueue::migrate(Timer& t) {
  for (;;) {
    TimerQueue* const from = t.on.load(std::memory_order_acquire);
    if (from == nullptr || from == this) return;
    Armed was{};
    if (!from->take(t, &was)) continue;  // moved or popped meanwhile: look again
    // Not `rearm`: if it was armed here meanwhile, that newer arming stands.
    (void)put(t, was, false);
    return;
  }
}

void stop_timer(Timer& t) {
  // Until it is seen on no queue: it may move while we lock the queue it was on.
  for (TimerQueue* q = t.on.load(std::memory_order_acquire); q != nullptr; q = t.on.load(std::memory_order_acquire))
    if (q->stop(t)) return;
}

bool TimerQueue::take(Timer& t, Armed* was) {
  bool first = false;
  {
    LockGuard g(lock);
    if (t.on.load(std::memory_order_relaxed) != this) return false;
    if (was != nullptr) *was = Armed{t.owner, t.kind, t.expires};
    first = unlink_locked(t);
    // Release: the next claimer (another queue's lock) sees the fields as left here.
    t.on.store(nullptr, std::memory_order_release);
    publish_locked();
  }
  if (first) notify();
  return true;
}

bool TimerQueue::put(Timer& t, const Armed& a, bool rearm) {
  bool changed = false;
  {
    LockGuard g(lock);
    const std::uint64_t before = earliest();
    TimerQueue* none = nullptr;
    if (t.on.compare_exchange_strong(none, this, std::memory_order_acq_rel)) {
      // Claimed: from now on only holders of this lock touch its fields.
    } else if (none == this && rearm) {
      (void)unlink_locked(t);
    } else {
      return none == this;  // here and kept (a newer arming), or on another queue
    }
    t.expires = a.expires;
    t.kind = a.kind;
    t.owner = a.owner;
    insert_locked(t);
    publish_locked();
    changed = earliest() != before;
  }
  if (changed) notify();
  return true;
}

void TimerQueue::insert_locked(Timer& t) {
  // Equal deadlines keep arming order, so timers set together fire in that order.
  Timer** link = &head_;
  while (*link != nullptr && (*link)->expires <= t.expires) link = &(*link)->next;
  t.next = *link;
  *link = &t;
  size_.fetch_add(1, std::memory_order_release);
}

bool TimerQueue::unlink_locked(Timer& t) {
  for (Timer** link = &head_; *link != nullptr; link = &(*link)->next)
    if (*link == &t) {
      const bool was_first = link == &head_;
      *link = t.next;
      t.next = nullptr;
      size_.fetch_sub(1, std::memory_order_release);
      return was_first;
    }
  HV_PANIC("timer marked queued but not in the queue");
}

// The lock-free earliest(), after every change of the list.
void TimerQueue::publish_locked() {
  earliest_.store(head_ != nullptr ? head_->expires : ~std::uint64_t{0}, std::memory_order_release);
}

// With no timer lock held (the arch's hook reads earliest() and may send an IPI).
void TimerQueue::notify() {
  const Hook hook = hook_.load(std::memory_order_acquire);
  if (hook != nullptr) hook(*this);
}

TimerQueue::Due TimerQueue::pop_due(std::uint64_t now) {
  LockGuard g(lock);
  if (head_ == nullptr || head_->expires > now) return {nullptr, TimerKind::singleshot, nullptr, 0};
  Timer& t = *head_;
  const Due due{t.owner, t.kind, &t, t.expires};
  (void)unlink_locked(t);
  t.in_flight.fetch_add(1, std::memory_order_relaxed);
  t.on.store(nullptr, std::memory_order_release);
  publish_locked();
  return due;
}

unsigned fire_due_timers(TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  unsigned fired = 0;
  for (TimerQueue::Due due = q.pop_due(now); due.vcpu != nullptr; due = q.pop_due(now)) {
    ++fired;
    fire_timer(due, now, send, ctx);
  }
  return fired;
}

void fire_timer(const TimerQueue::Due& due, std::uint64_t now, TimerEventFn send, void* ctx) {
  switch (due.kind) {
    case TimerKind::singleshot:
      send(*due.vcpu, ctx);
      break;
    case TimerKind::periodic:  // re-armed at least one period ahead
      periodic_fired(*due.vcpu, due.expires, now, send, ctx);
      break;
    case TimerKind::poll:
      poll_timer_fn(*due.vcpu);
      break;
  }
  // Release: timers_kill, seeing zero, sees everything the callback did to the vCPU.
  due.timer->in_flight.fetch_sub(1, std::memory_order_release);
}

void timers_switch_in(Vcpu& v, TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  // Its timers follow it to the CPU it now runs on (Xen's migrate_timer): each CPU only ever
  // programs its own hardware timer for its own queue.
  q.migrate(t.singleshot);
  q.migrate(t.poll);
  t.queue.store(&q, std::memory_order_release);
  bool due = false;
  {
    LockGuard g(t.periodic_lock);
    if (t.periodic_period != 0) due = periodic_work_locked(v, now);
  }
  if (due) send(v, ctx);
}

void timers_switch_out(Vcpu& v) {
  LockGuard g(v.timers.periodic_lock);  // against a sibling's VCPUOP re-arming it
  periodic_stop_locked(v.timers);
}

void timers_kill(Vcpu& v) {
  timer_stop_periodic(v);
  stop_timer(v.timers.singleshot);
  stop_timer(v.timers.poll);
  // A callback popped before the stops may still run on another CPU; the vCPU must outlive it.
  for (const Timer* timer : {&v.timers.singleshot, &v.timers.periodic, &v.timers.poll})
    while (timer->in_flight.load(std::memory_order_acquire) != 0) spin_relax();
}

long timer_set_timer_op(Vcpu& v, std::int64_t timeout, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  TimerQueue* const q = t.queue.load(std::memory_order_acquire);
  if (q == nullptr) return -pv::XEN_ENOSYS;  // never scheduled: cannot be the caller
  if (timeout == 0) {
    stop_timer(t.singleshot);
    return 0;
  }
  const std::int64_t offset = timeout - static_cast<std::int64_t>(now);
  // Xen's sanity check: wrapped negative, or more than 2^50 ns (~13 days) ahead -> 100 ms.
  if (timeout < 0 || (offset > 0 && static_cast<std::uint32_t>(offset >> 50) != 0)) {
    q->set(v, TimerKind::singleshot, t.singleshot, now + 100 * kMillisecond);
    return 0;
  }
  q->set(v, TimerKind::singleshot, t.singleshot, static_cast<std::uint64_t>(timeout));
  return 0;
}

long timer_set_periodic(Vcpu& v, std::uint64_t period_ns, std::uint64_t now, TimerEventFn send, void* ctx) {
  // Xen compares the guest's uint64_t against s_time_t limits.
  if (period_ns < kMillisecond || period_ns > kStimeDeltaMax) return -pv::XEN_EINVAL;
  VcpuTimers& t = v.timers;
  bool due = false;
  {
    LockGuard g(t.periodic_lock);
    periodic_stop_locked(t);
    t.periodic_period = period_ns;
    // Never scheduled: armed when it first is.
    if (t.queue.load(std::memory_order_acquire) != nullptr) due = periodic_work_locked(v, now);
  }
  if (due) send(v, ctx);
  return 0;
}

void timer_stop_periodic(Vcpu& v) {
  LockGuard g(v.timers.periodic_lock);
  periodic_stop_locked(v.timers);
  v.timers.periodic_period = 0;
}

long timer_set_singleshot(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  TimerQueue* const q = t.queue.load(std::memory_order_acquire);
  if (q == nullptr) return -pv::XEN_ENOSYS;
  // Xen compares as s_time_t: a timeout with bit 63 set is "in the past".
  if (static_cast<std::int64_t>(timeout_abs_ns) < static_cast<std::int64_t>(now)) {
    stop_timer(t.singleshot);
    send(v, ctx);
    return 0;
  }
  q->set(v, TimerKind::singleshot, t.singleshot, timeout_abs_ns);
  return 0;
}

void timer_stop_singleshot(Vcpu& v) { stop_timer(v.timers.singleshot); }

void timer_set_poll(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  TimerQueue* const q = t.queue.load(std::memory_order_acquire);
  // Past (compared as s_time_t, as Xen's timer heap does): Xen's timer softirq would wake it
  // before anything else runs. So does a vCPU without a queue, which cannot be the caller.
  if (q == nullptr || static_cast<std::int64_t>(timeout_abs_ns) <= static_cast<std::int64_t>(now)) {
    stop_timer(t.poll);  // Xen's set_timer replaces an earlier poll's timeout
    poll_timer_fn(v);
    return;
  }
  q->set(v, TimerKind::poll, t.poll, timeout_abs_ns);
}

}  // namespace hv
