// spinlock: a ticket lock, portable and header-only. CPUs get the lock in the order they
// asked for it (FIFO), so no CPU can be starved by faster neighbours. The wait loop calls
// Relax::relax(): the arch's policy executes `pause` and performs the TLB-flush requests
// other CPUs posted to this one (see arch ipi.hpp), because a waiter has interrupts off and
// the holder may itself be waiting for that flush; hosted tests pass their own policy.
//
// Lock order convention (write each lock's place in it beside its declaration):
//  1. a hypervisor-wide lock, where one is used, is the outermost;
//  2. per-object locks inside it, coarse before fine: domain, then vCPU, then the frame
//     table, then event channels, then timer queues;
//  3. a leaf lock (log, console ring) is taken last and never while waiting for another CPU.
// Locks are taken with interrupts off, never from an interrupt handler that can interrupt
// their holder, never held across a return to a guest, and never taken twice (not recursive).
#pragma once
#include <atomic>
#include <cstdint>

namespace hv {

// The relax policy of a busy-wait: `pause` tells the CPU (and its hyperthread sibling) that
// this is a spin loop, and costs nothing where the instruction does not exist.
struct PauseRelax {
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
};

template <typename Relax>
class TicketLock {
 public:
  constexpr TicketLock() = default;
  TicketLock(const TicketLock&) = delete;
  TicketLock& operator=(const TicketLock&) = delete;

  void lock() {
    // fetch_add hands out tickets in order; the acquire load pairs with unlock's release
    // store, so everything the previous holder wrote is visible to the next.
    const std::uint32_t ticket = next_.fetch_add(1, std::memory_order_relaxed);
    while (owner_.load(std::memory_order_acquire) != ticket) Relax::relax();
  }

  // Takes the lock only if nobody holds it or waits for it.
  bool try_lock() {
    std::uint32_t owner = owner_.load(std::memory_order_acquire);
    return next_.compare_exchange_strong(owner, owner + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed);
  }

  void unlock() {
    // Only the holder writes owner_, so a plain increment published with release suffices.
    owner_.store(owner_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Whether some CPU holds the lock (for assertions; says nothing about which).
  bool held() const {
    return next_.load(std::memory_order_relaxed) != owner_.load(std::memory_order_relaxed);
  }

  // CPUs queued behind the holder (a snapshot, for tests and statistics).
  std::uint32_t waiters() const {
    const std::uint32_t queued = next_.load(std::memory_order_relaxed) - owner_.load(std::memory_order_relaxed);
    return queued == 0 ? 0 : queued - 1;
  }

 private:
  // Separate words: waiters spin reading owner_ while newcomers write next_. 32-bit tickets
  // wrap harmlessly (only equality is ever tested).
  std::atomic<std::uint32_t> next_{0};
  std::atomic<std::uint32_t> owner_{0};
};

}  // namespace hv
