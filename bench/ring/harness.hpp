// Shared pieces of ring_bench: the 64-byte message, a run's parameters and result, two
// pinned threads released from one start line, and the doorbell standing in for an event
// channel. Must never let a queue's mistake pass unnoticed: every message is checked.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace ring_bench {

// One cache line: a sequence number and a payload derived from it.
struct Message {
    std::uint64_t seq;
    std::uint64_t payload[7];
};
static_assert(sizeof(Message) == 64);

inline void fill_message(Message& m, std::uint64_t seq) {
    m.seq = seq;
    for (unsigned i = 0; i < 7; ++i) {
        m.payload[i] = seq + i;
    }
}

inline bool check_message(const Message& m, std::uint64_t seq) { return m.seq == seq && m.payload[6] == seq + 6; }

struct RunSpec {
    std::uint32_t slots;  // queue capacity in messages (pv::ring: its power-of-two slot count)
    std::uint32_t ring_bytes;  // pv::ring's shared area, whole 4 KiB pages
    std::uint32_t batch;
    std::uint64_t ops;
};

struct RunResult {
    double seconds = 0;
    std::uint64_t notifications = 0;  // events sent, both directions
    std::uint64_t errors = 0;         // lost, reordered or corrupted messages
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Where the two threads run; -1 means "not pinned" (a one-CPU machine).
struct CpuPlan {
    int producer_cpu = -1;
    int consumer_cpu = -1;
};
CpuPlan plan_cpus();

// Runs both functions on their CPUs from a common start; returns seconds until both ended.
double run_pair(const CpuPlan& cpus, const std::function<void()>& producer, const std::function<void()>& consumer);

// A counted wake-up: ring() raises a flag, wait() polls it (spin, then yield), like a vCPU
// blocked on an event channel. Counting happens only on the ringing side.
class alignas(64) Doorbell {
public:
    void ring() {
        ++rings_;
        pending_.store(true, std::memory_order_release);
    }
    void wait() {
        for (unsigned spin = 0; !pending_.load(std::memory_order_acquire); ++spin) {
            if (spin < 1024) {
                cpu_relax();
            } else {
                std::this_thread::yield();
            }
        }
        pending_.store(false, std::memory_order_relaxed);
    }
    std::uint64_t rings() const { return rings_; }

private:
    std::atomic<bool> pending_{false};
    std::uint64_t rings_ = 0;
};

RunResult run_pv_ring(const RunSpec& spec, const CpuPlan& cpus);
RunResult run_spsc(const RunSpec& spec, const CpuPlan& cpus);
RunResult run_mutex(const RunSpec& spec, const CpuPlan& cpus);

}  // namespace ring_bench
