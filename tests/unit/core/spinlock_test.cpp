// spinlock_test: the spin lock under real contention (std::threads): mutual exclusion (no
// lost updates), try_lock and held() semantics, that waiting calls the relax hook, and
// lock_pair's order and same-lock case.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/spinlock.hpp"

namespace {

// Yields instead of spinning: the test machine may have fewer cores than threads.
std::atomic<std::uint64_t> relax_calls{0};
void yield_relax() {
  relax_calls.fetch_add(1, std::memory_order_relaxed);
  std::this_thread::yield();
}

class SpinLockTest : public ::testing::Test {
 protected:
  void SetUp() override { hv::set_spin_relax(yield_relax); }
  void TearDown() override { hv::set_spin_relax(nullptr); }
};

TEST_F(SpinLockTest, CountsAreExactUnderContention) {
  hv::SpinLock lock;
  std::uint64_t counter = 0;  // deliberately not atomic: the lock must protect it
  constexpr int kThreads = 4, kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        hv::LockGuard guard(lock);
        std::uint64_t v = counter;
        counter = v + 1;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, std::uint64_t{kThreads} * kIterations);
  EXPECT_FALSE(lock.held());
}

TEST_F(SpinLockTest, TryLockAndHeld) {
  hv::SpinLock lock;
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

TEST_F(SpinLockTest, WaiterSpinsThroughTheRelaxHookUntilReleased) {
  hv::SpinLock lock;
  lock.lock();
  const std::uint64_t before = relax_calls.load();
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    lock.lock();
    got.store(true);
    lock.unlock();
  });
  while (relax_calls.load() == before) std::this_thread::yield();
  EXPECT_FALSE(got.load());
  lock.unlock();
  waiter.join();
  EXPECT_TRUE(got.load());
}

TEST_F(SpinLockTest, PairTakesBothAndTheSameLockOnce) {
  hv::SpinLock a, b;
  hv::lock_pair(a, b);
  EXPECT_TRUE(a.held());
  EXPECT_TRUE(b.held());
  hv::unlock_pair(a, b);
  EXPECT_FALSE(a.held() || b.held());
  hv::lock_pair(a, a);  // a self-pair (a channel to yourself) must not deadlock
  EXPECT_TRUE(a.held());
  hv::unlock_pair(a, a);
  EXPECT_FALSE(a.held());
}

// Two threads taking the same two locks as pairs from opposite ends never deadlock when
// both name them in the level's order.
TEST_F(SpinLockTest, PairsInOrderDoNotDeadlock) {
  hv::SpinLock low, high;
  std::uint64_t counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        hv::lock_pair(low, high);
        ++counter;
        hv::unlock_pair(low, high);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 40000u);
}

}  // namespace
