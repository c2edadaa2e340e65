// spinlock_test: the ticket lock under real contention (std::threads): mutual exclusion
// (no lost updates), try_lock and held() semantics, FIFO hand-over, and that waiting calls
// the relax policy.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/spinlock.hpp"

namespace {

// Yields instead of spinning: the test machine may have fewer cores than threads, and a
// ticket lock whose next owner is descheduled makes everyone wait for it.
struct YieldRelax {
  static inline std::atomic<std::uint64_t> calls{0};
  static void relax() {
    calls.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::yield();
  }
};
using Lock = hv::TicketLock<YieldRelax>;

// Waits (bounded) until `lock` has `n` waiters queued.
bool wait_for_waiters(const Lock& lock, std::uint32_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lock.waiters() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(SpinLock, CountsAreExactUnderContention) {
  Lock lock;
  std::uint64_t counter = 0;  // deliberately not atomic: the lock must protect it
  constexpr int kThreads = 4, kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        lock.lock();
        std::uint64_t v = counter;
        counter = v + 1;
        lock.unlock();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, std::uint64_t{kThreads} * kIterations);
  EXPECT_FALSE(lock.held());
}

TEST(SpinLock, TryLockAndHeld) {
  hv::TicketLock<hv::PauseRelax> lock;
  EXPECT_FALSE(lock.held());
  ASSERT_TRUE(lock.try_lock());
  EXPECT_TRUE(lock.held());
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  EXPECT_FALSE(lock.held());
  lock.lock();
  EXPECT_FALSE(lock.try_lock());
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(SpinLock, WaitersAreServedInArrivalOrder) {
  Lock lock;
  lock.lock();
  std::vector<int> order;
  std::vector<std::thread> threads;
  constexpr int kWaiters = 4;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i] {
      lock.lock();
      order.push_back(i);
      lock.unlock();
    });
    // Each thread has taken its ticket before the next one starts.
    ASSERT_TRUE(wait_for_waiters(lock, static_cast<std::uint32_t>(i + 1)));
  }
  EXPECT_FALSE(lock.try_lock());  // waiters queued: try_lock must not jump the queue
  const std::uint64_t relaxed_before = YieldRelax::calls.load();
  lock.unlock();
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_GT(relaxed_before, 0u) << "waiters must spin through the relax policy";
  EXPECT_FALSE(lock.held());
}

}  // namespace
