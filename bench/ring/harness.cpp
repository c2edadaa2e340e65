// Thread placement and the common start line for ring_bench; a run must never start one
// side before the other is ready, or the first milliseconds would measure thread creation.
#include "harness.hpp"

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>

namespace ring_bench {

CpuPlan plan_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    CpuPlan plan;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return plan;
    }
    int found[2] = {-1, -1};
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; ++cpu) {
        if (CPU_ISSET(cpu, &set)) {
            found[n++] = cpu;
        }
    }
    if (n == 2) {
        plan.producer_cpu = found[0];
        plan.consumer_cpu = found[1];
    }
    return plan;
}

namespace {

void pin_self(int cpu) {
    if (cpu < 0) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
        std::fprintf(stderr, "ring_bench: cannot pin a thread to CPU %d, running unpinned\n", cpu);
    }
}

}  // namespace

double run_pair(const CpuPlan& cpus, const std::function<void()>& producer, const std::function<void()>& consumer) {
    using Clock = std::chrono::steady_clock;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    Clock::time_point end[2];
    auto side = [&](int cpu, const std::function<void()>& work, Clock::time_point& finished) {
        pin_self(cpu);
        ready.fetch_add(1);
        while (!go.load(std::memory_order_acquire)) {
            cpu_relax();
        }
        work();
        finished = Clock::now();
    };
    std::thread p(side, cpus.producer_cpu, std::cref(producer), std::ref(end[0]));
    std::thread c(side, cpus.consumer_cpu, std::cref(consumer), std::ref(end[1]));
    while (ready.load() != 2) {
        std::this_thread::yield();
    }
    const Clock::time_point start = Clock::now();
    go.store(true, std::memory_order_release);
    p.join();
    c.join();
    const Clock::time_point last = end[0] > end[1] ? end[0] : end[1];
    return std::chrono::duration<double>(last - start).count();
}

}  // namespace ring_bench
