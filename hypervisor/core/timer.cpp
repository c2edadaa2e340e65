// timer: the deadline queue and Xen 4.17's vCPU timer semantics (common/sched/core.c
// do_set_timer_op, vcpu_periodic_timer_work, common/domain.c VCPUOP_*_timer).
#include "timer.hpp"

#include <pv/errno.hpp>

#include "domain.hpp"
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

void stop_in_queue(VcpuTimers& t, Timer& timer) {
  if (t.queue != nullptr) t.queue->stop(timer);
}

}  // namespace

void TimerQueue::set(Vcpu& owner, TimerKind kind, Timer& t, std::uint64_t expires) {
  const std::uint64_t before = earliest();
  if (t.queued) {
    for (std::size_t i = 0; i < size_; ++i)
      if (entries_[i].timer == &t) {
        remove_at(i);
        break;
      }
  }
  HV_ASSERT(size_ < kCapacity);
  std::size_t i = size_;
  // Equal deadlines keep arming order, so timers set together fire in that order.
  while (i > 0 && entries_[i - 1].timer->expires > expires) {
    entries_[i] = entries_[i - 1];
    --i;
  }
  t.expires = expires;
  t.queued = true;
  entries_[i] = Entry{&t, &owner, kind};
  ++size_;
  if (hook_ != nullptr && earliest() != before) hook_(*this);
}

void TimerQueue::stop(Timer& t) {
  if (!t.queued) return;
  for (std::size_t i = 0; i < size_; ++i)
    if (entries_[i].timer == &t) {
      const bool was_first = i == 0;
      remove_at(i);
      if (hook_ != nullptr && was_first) hook_(*this);
      return;
    }
  HV_PANIC("timer marked queued but not in the queue");
}

void TimerQueue::remove_at(std::size_t i) {
  entries_[i].timer->queued = false;
  for (; i + 1 < size_; ++i) entries_[i] = entries_[i + 1];
  --size_;
}

TimerQueue::Due TimerQueue::pop_due(std::uint64_t now) {
  if (size_ == 0 || entries_[0].timer->expires > now) return {nullptr, TimerKind::singleshot};
  const Due due{entries_[0].vcpu, entries_[0].kind};
  remove_at(0);
  return due;
}

unsigned fire_due_timers(TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  unsigned fired = 0;
  // The hook is silenced while firing (the caller reprograms once at the end).
  const TimerQueue::Hook hook = q.hook();
  q.set_hook(nullptr);
  for (TimerQueue::Due due = q.pop_due(now); due.vcpu != nullptr; due = q.pop_due(now)) {
    ++fired;
    if (due.kind == TimerKind::singleshot) {
      send(*due.vcpu, ctx);
    } else if (due.vcpu->timers.periodic_period != 0) {
      periodic_work(*due.vcpu, now, send, ctx);  // re-armed at least one period ahead
    }
  }
  q.set_hook(hook);
  return fired;
}

void timers_switch_in(Vcpu& v, TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx) {
  v.timers.queue = &q;
  if (v.timers.periodic_period != 0) periodic_work(v, now, send, ctx);
}

void timers_switch_out(Vcpu& v) { stop_in_queue(v.timers, v.timers.periodic); }

void timers_kill(Vcpu& v) {
  stop_in_queue(v.timers, v.timers.periodic);
  stop_in_queue(v.timers, v.timers.singleshot);
}

long timer_set_timer_op(Vcpu& v, std::int64_t timeout, std::uint64_t now) {
  VcpuTimers& t = v.timers;
  if (t.queue == nullptr) return -pv::XEN_ENOSYS;  // never scheduled: cannot be the caller
  if (timeout == 0) {
    t.queue->stop(t.singleshot);
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
  stop_in_queue(t, t.periodic);
  t.periodic_period = period_ns;
  if (t.queue != nullptr) periodic_work(v, now, send, ctx);  // else armed when first scheduled
  return 0;
}

void timer_stop_periodic(Vcpu& v) {
  stop_in_queue(v.timers, v.timers.periodic);
  v.timers.periodic_period = 0;
}

long timer_set_singleshot(Vcpu& v, std::uint64_t timeout_abs_ns, std::uint64_t now, TimerEventFn send, void* ctx) {
  VcpuTimers& t = v.timers;
  if (t.queue == nullptr) return -pv::XEN_ENOSYS;
  // Xen compares as s_time_t: a timeout with bit 63 set is "in the past".
  if (static_cast<std::int64_t>(timeout_abs_ns) < static_cast<std::int64_t>(now)) {
    t.queue->stop(t.singleshot);
    send(v, ctx);
    return 0;
  }
  t.queue->set(v, TimerKind::singleshot, t.singleshot, timeout_abs_ns);
  return 0;
}

void timer_stop_singleshot(Vcpu& v) { stop_in_queue(v.timers, v.timers.singleshot); }

}  // namespace hv
