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

// Xen's vcpu_periodic_timer_work_locked: an event if a period has passed since the last one,
// then the timer armed for the next. Requires a queue and a non-zero period.
void periodic_work(Vcpu& v, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  std::uint64_t next = t.periodic_last_event + t.periodic_period;
  if (now >= next) {
    send(v, ctx);
    t.periodic_last_event = now;
    next = now + t.periodic_period;
  }
  t.queue->set(v, TimerKind::periodic, t.periodic, next);
}

void stop_timer(Timer& timer) {
  if (timer.queued) timer.on->stop(timer);
}

// Xen's poll_timer_fn: the timeout wakes the vCPU only if it is (still, or again) polling.
void poll_timer_fn(Vcpu& v) {
  EventChannels* ec = v.domain().events;
  const std::uint32_t bit = 1u << v.id();
  if (ec == nullptr || (ec->poll_mask & bit) == 0) return;
  ec->poll_mask &= ~bit;
  ec->poll_port[v.id()] = 0;
  unblock_vcpu(v);
}

}  // namespace

void TimerQueue::set(Vcpu& owner, TimerKind kind, Timer& t, std::uint64_t expires) {
  if (t.queued && t.on != this) t.on->stop(t);
  const std::uint64_t before = earliest();
  if (t.queued) (void)unlink(t);
  // Equal deadlines keep arming order, so timers set together fire in that order.
  Timer** link = &head_;
  while (*link != nullptr && (*link)->expires <= expires) link = &(*link)->next;
  t.expires = expires;
  t.queued = true;
  t.kind = kind;
  t.owner = &owner;
  t.on = this;
  t.next = *link;
  *link = &t;
  ++size_;
  if (hook_ != nullptr && earliest() != before) hook_(*this);
}

void TimerQueue::stop(Timer& t) {
  if (!t.queued) return;
  HV_ASSERT(t.on == this);
  if (unlink(t) && hook_ != nullptr) hook_(*this);
}

bool TimerQueue::unlink(Timer& t) {
  for (Timer** link = &head_; *link != nullptr; link = &(*link)->next)
    if (*link == &t) {
      const bool was_first = link == &head_;
      *link = t.next;
      t.next = nullptr;
      t.on = nullptr;
      t.queued = false;
      --size_;
      return was_first;
    }
  HV_PANIC("timer marked queued but not in the queue");
}

TimerQueue::Due TimerQueue::pop_due(std::uint64_t now) {
  if (head_ == nullptr || head_->expires > now) return {nullptr, TimerKind::singleshot};
  Timer& t = *head_;
  (void)unlink(t);
  return Due{t.owner, t.kind};
}

unsigned fire_due_timers(TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  unsigned fired = 0;
  // The hook is silenced while firing (the caller reprograms once at the end).
  const TimerQueue::Hook hook = q.hook();
  q.set_hook(nullptr);
  for (TimerQueue::Due due = q.pop_due(now); due.vcpu != nullptr; due = q.pop_due(now)) {
    ++fired;
    switch (due.kind) {
      case TimerKind::singleshot:
        send(*due.vcpu, ctx);
        break;
      case TimerKind::periodic:  // re-armed at least one period ahead
        if (due.vcpu->timers.periodic_period != 0) periodic_work(*due.vcpu, now, send, ctx);
        break;
      case TimerKind::poll:
        poll_timer_fn(*due.vcpu);
        break;
    }
  }
  q.set_hook(hook);
  return fired;
}

void timers_switch_in(Vcpu& v, TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  // Its timers follow it to the CPU it now runs on (Xen's migrate_timer): each CPU only ever
  // programs its own hardware timer for its own queue.
  for (Timer* timer : {&t.singleshot, &t.poll})
    if (timer->queued && timer->on != &q) q.set(v, timer->kind, *timer, timer->expires);
  t.queue = &q;
  if (v.timers.periodic_period != 0) periodic_work(v, now, send, ctx);
}

void timers_switch_out(Vcpu& v) { stop_timer(v.timers.periodic); }

void timers_kill(Vcpu& v) {
  stop_timer(v.timers.periodic);
  stop_timer(v.timers.singleshot);
  stop_timer(v.timers.poll);
}

long timer_set_timer_op(Vcpu& v, std::int64_t timeout, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  if (t.queue == nullptr) return -pv::XEN_ENOSYS;  // never scheduled: cannot be the caller
  if (timeout == 0) {
    stop_timer(t.singleshot);
    return 0;
  }
  const std::int64_t offset = timeout - static_cast<std::int64_t>(now);
  // Xen's sanity check: wrapped negative, or more than 2^50 ns (~13 days) ahead -> 100 ms.
  if (timeout < 0 || (offset > 0 && static_cast<std::uint32_t>(offset >> 50) != 0)) {
    t.queue->set(v, TimerKind::singleshot, t.singleshot, now + 100 * kMillisecond);
    return 0;
  }
  t.queue->set(v, TimerKind::singleshot, t.singleshot, static_cast<std::uint64_t>(timeout));
  return 0;
}

long timer_set_periodic(Vcpu& v, std::uint64_t period_ns, std::uint64_t now, TimerEventFn send, void* ctx) {
  // Xen compares the guest's uint64_t against s_time_t limits.
  if (period_ns < kMillisecond || period_ns > kStimeDeltaMax) return -pv::XEN_EINVAL;
  VcpuTimers& t = v.timers;
  stop_timer(t.periodic);
  t.periodic_period = period_ns;
  if (t.queue != nullptr) periodic_work(v, now, send, ctx);  // else armed when first scheduled
  return 0;
}

void timer_stop_periodic(Vcpu& v) {
  stop_timer(v.timers.periodic);
  v.timers.periodic_period = 0;
}

long timer_set_singleshot(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  if (t.queue == nullptr) return -pv::XEN_ENOSYS;
  // Xen compares as s_time_t: a timeout with bit 63 set is "in the past".
  if (static_cast<std::int64_t>(timeout_abs_ns) < static_cast<std::int64_t>(now)) {
    stop_timer(t.singleshot);
    send(v, ctx);
    return 0;
  }
  t.queue->set(v, TimerKind::singleshot, t.singleshot, timeout_abs_ns);
  return 0;
}

void timer_stop_singleshot(Vcpu& v) { stop_timer(v.timers.singleshot); }

void timer_set_poll(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  // Past (compared as s_time_t, as Xen's timer heap does): Xen's timer softirq would wake it
  // before anything else runs. So does a vCPU without a queue, which cannot be the caller.
  if (t.queue == nullptr || static_cast<std::int64_t>(timeout_abs_ns) <= static_cast<std::int64_t>(now)) {
    stop_timer(t.poll);  // Xen's set_timer replaces an earlier poll's timeout
    poll_timer_fn(v);
    return;
  }
  t.queue->set(v, TimerKind::poll, t.poll, timeout_abs_ns);
}

}  // namespace hv
