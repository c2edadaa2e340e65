// smp_test_support: for hosted tests that run hypervisor code on several host threads at once
// (threads standing in for pCPUs).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace microxen::test {

// A lock waiter yields instead of spinning: the test machines have fewer cores than threads,
// and the holder must get to run.
inline void yield_relax() { std::this_thread::yield(); }

// Aborts the whole test binary if it is not destroyed within `limit`: a corrupt structure or a
// deadlock can loop inside the code under test, where no deadline of the test itself reaches,
// and a test must fail rather than hang.
class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, const char* what)
      : thread_([this, limit, what] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "%s: not done after %llds (deadlock or corrupt state)\n", what,
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace microxen::test
