// timer: per-vCPU one-shot, periodic and poll-timeout timers (Xen's v->singleshot_timer,
// v->periodic_timer and v->poll_timer) on a per-CPU deadline queue, earliest first. Expiry
// times are absolute system time in ns (Xen's s_time_t, NOW()). Guest input (set_timer_op,
// VCPUOP_set_*_timer, SCHEDOP_poll's timeout) is checked here with Xen's rules. The queue is
// intrusive (each Timer is its own link), so it never fills and never holds a timer twice.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hv {

class Vcpu;
class TimerQueue;

enum class TimerKind : std::uint8_t { singleshot, periodic, poll };

struct Timer {
  std::uint64_t expires = 0;  // absolute system time (ns); meaningful while queued
  bool queued = false;
  // The queue's links and what expiry means; set by TimerQueue::set.
  TimerKind kind = TimerKind::singleshot;
  Vcpu* owner = nullptr;
  TimerQueue* on = nullptr;  // the queue it is linked on while queued (its vCPU may move)
  Timer* next = nullptr;
};

// A vCPU's timers. The periodic one runs only while the vCPU is scheduled (Xen stops it
// when the vCPU is switched out and re-arms it when switched in); the others also run while
// it is blocked, which is what they are for.
struct VcpuTimers {
  Timer singleshot;
  Timer periodic;
  Timer poll;  // SCHEDOP_poll's timeout
  std::uint64_t periodic_period = 0;      // ns; 0 = off
  std::uint64_t periodic_last_event = 0;  // system time of the last periodic event
  TimerQueue* queue = nullptr;            // the CPU queue it lives on (set when scheduled)
};

// Whether any timer of the vCPU is armed (something can still wake it while blocked).
inline bool timers_armed(const VcpuTimers& t) { return t.singleshot.queued || t.periodic.queued || t.poll.queued; }

// Xen arms every PV vCPU's periodic timer at 100 Hz (pv/domain.c); Linux stops it.
inline constexpr std::uint64_t kDefaultPeriodNs = 10'000'000;

// The CPU's timers in deadline order. `on_earliest_changed` (installed by the arch) is told
// whenever the earliest deadline may have changed, so it can reprogram the hardware.
class TimerQueue {
 public:
  using Hook = void (*)(TimerQueue&);

  void set_hook(Hook h) { hook_ = h; }
  Hook hook() const { return hook_; }
  // (Re)arms `t` at `expires` on this queue, taking it off whichever queue held it (Xen's
  // set_timer: a past expiry fires at the next check).
  void set(Vcpu& owner, TimerKind kind, Timer& t, std::uint64_t expires);
  // Takes `t` off this queue, which must be the one holding it (or none does).
  void stop(Timer& t);
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::uint64_t earliest() const { return head_ != nullptr ? head_->expires : ~std::uint64_t{0}; }

  struct Due {
    Vcpu* vcpu;
    TimerKind kind;
  };
  // Removes and returns the earliest timer if it has expired at `now`, else {nullptr}.
  Due pop_due(std::uint64_t now);

 private:
  // Unlinks a queued `t`; returns whether it was the earliest.
  bool unlink(Timer& t);
  Timer* head_ = nullptr;
  std::size_t size_ = 0;
  Hook hook_ = nullptr;
};

// What happens when a vCPU's one-shot or periodic timer expires: VIRQ_TIMER for it (the arch
// raises it through the event-channel code). `ctx` is the caller's. A poll timeout needs no
// callback: it only wakes the vCPU (core/event_channel's poll state).
using TimerEventFn = void (*)(Vcpu& v, void* ctx);

// Fires every timer due at `now` (singleshot: once; periodic: Xen's
// vcpu_periodic_timer_work, re-armed one period after `now`; poll: Xen's poll_timer_fn).
// Returns how many fired.
unsigned fire_due_timers(TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx);

// The vCPU is switched in on `q` / out (Xen's context_switch: periodic work on switch-in,
// stop_timer on switch-out). Switch-in moves its armed one-shot and poll timers to `q` (Xen's
// migrate_timer) and may send an event at once (the period has passed).
void timers_switch_in(Vcpu& v, TimerQueue& q, std::uint64_t now, TimerEventFn send, void* ctx);
void timers_switch_out(Vcpu& v);
// Every timer of the vCPU stopped (domain teardown; Xen's kill_timer).
void timers_kill(Vcpu& v);

// Hypercall semantics (Xen 4.17); results are 0 or a negative Xen errno. `v` must be the
// calling vCPU where Xen requires current.
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
