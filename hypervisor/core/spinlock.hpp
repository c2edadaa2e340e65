// spinlock: the hypervisor's one lock type, portable and header-only, plus the lock order
// every lock in the hypervisor follows.
//
// A CPU waiting for a lock has interrupts off, so the wait loop calls the relax hook the arch
// installs (set_spin_relax): `pause`, and the TLB-flush requests other CPUs posted to this one,
// because the holder may itself be waiting for that flush. Hosted tests keep the default
// (`pause`) or install their own.
//
// It is a test-and-test-and-set lock, not a FIFO ticket lock, on purpose: whichever CPU is
// running when the lock is free gets it. A ticket handed to a CPU that is not running at that
// moment stalls every CPU behind it, and that is the normal case where CPUs are threads of a
// host (QEMU's TCG with more CPUs than host cores, or a hypervisor below us): measured, the
// 4-vCPU smp guest on 4 TCG CPUs over 2 host cores took minutes with tickets and seconds
// without. Critical sections are short, so starvation is not seen in practice.
//
// Lock order (a CPU takes locks only in this order; each lock's comment names its level):
//  1. domain lock (Domain::lock): one domain's own state; held while a trap or hypercall of
//     one of its vCPUs is handled. Never two at once.
//  2. memory lock (the frame table, frame allocator and M2P: hypervisor-wide, because frames
//     are referenced across domains).
//  3. event locks (EventChannels::lock, one per domain): ports and poll state. Two only as
//     a pair taken together in domid order (lock_pair).
//  4. scheduler locks, one per pCPU (its run queue and the scheduling state of the vCPUs
//     assigned to it). Two only in pCPU order, or by try_lock.
//  5. timer locks: a vCPU's periodic-timer lock (VcpuTimers::periodic_lock), then a pCPU's
//     timer-queue lock; never two queue locks at once (a timer moves in two steps).
//  6. leaf locks (the console/log, a scheduler's accounting list): nothing is taken inside.
// Locks are taken with interrupts off, never from an interrupt handler that can interrupt
// their holder, never held across a return to a guest, and never taken twice (not recursive).
#pragma once
#include <atomic>
#include <cstdint>

namespace hv {

// The wait loop's body (default: `pause`). Installed once by the arch before the second CPU
// starts.
using SpinRelaxFn = void (*)();
void set_spin_relax(SpinRelaxFn fn);
void spin_relax();

class SpinLock {
 public:
  constexpr SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void lock() {
    // Test before exchanging: waiters spin on a shared cache line instead of bouncing it.
    while (locked_.load(std::memory_order_relaxed) || locked_.exchange(true, std::memory_order_acquire))
      spin_relax();
  }
  bool try_lock() {
    return !locked_.load(std::memory_order_relaxed) && !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() { locked_.store(false, std::memory_order_release); }
  // Whether some CPU holds it (for assertions; says nothing about which).
  bool held() const { return locked_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> locked_{false};
};

// Holds a lock for a scope.
class LockGuard {
 public:
  explicit LockGuard(SpinLock& l) : lock_(l) { lock_.lock(); }
  ~LockGuard() { lock_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  SpinLock& lock_;
};

// Two locks of the same level, taken in the level's order: `first` is the one that comes
// first (lower domid, lower pCPU); the same lock twice is taken once.
inline void lock_pair(SpinLock& first, SpinLock& second) {
  first.lock();
  if (&second != &first) second.lock();
}
inline void unlock_pair(SpinLock& first, SpinLock& second) {
  if (&second != &first) second.unlock();
  first.unlock();
}

}  // namespace hv
