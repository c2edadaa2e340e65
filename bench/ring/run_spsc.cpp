// boost::lockfree::spsc_queue under ring_bench: the baseline. Both sides busy-poll (the
// queue has no wake-up protocol), pushing and popping up to `batch` messages at a time.
#include <boost/lockfree/spsc_queue.hpp>
#include <vector>

#include "harness.hpp"

namespace ring_bench {

RunResult run_spsc(const RunSpec& spec, const CpuPlan& cpus) {
    boost::lockfree::spsc_queue<Message> queue(spec.slots);
    std::uint64_t errors = 0;
    RunResult result;
    result.seconds = run_pair(
        cpus,
        [&] {
            std::vector<Message> buf(spec.batch);
            for (std::uint64_t seq = 0; seq < spec.ops;) {
                const std::uint64_t left = spec.ops - seq;
                const std::size_t want = left < spec.batch ? static_cast<std::size_t>(left) : spec.batch;
                for (std::size_t i = 0; i < want; ++i) {
                    fill_message(buf[i], seq + i);
                }
                for (std::size_t done = 0; done < want;) {
                    const std::size_t n = queue.push(buf.data() + done, want - done);
                    if (n == 0) {
                        cpu_relax();
                    }
                    done += n;
                }
                seq += want;
            }
        },
        [&] {
            std::vector<Message> buf(spec.batch);
            for (std::uint64_t expect = 0; expect < spec.ops;) {
                const std::size_t n = queue.pop(buf.data(), spec.batch);
                if (n == 0) {
                    cpu_relax();
                }
                for (std::size_t i = 0; i < n; ++i) {
                    errors += !check_message(buf[i], expect++);
                }
            }
        });
    result.errors = errors;
    return result;
}

}  // namespace ring_bench
