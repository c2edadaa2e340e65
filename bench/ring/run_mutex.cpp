// A mutex + condition-variable bounded queue under ring_bench: the "no cleverness" floor.
// A notification is a notify_one() issued because the other side may be waiting.
#include <condition_variable>
#include <mutex>
#include <vector>

#include "harness.hpp"

namespace ring_bench {
namespace {

class MutexQueue {
public:
    explicit MutexQueue(std::size_t capacity) : buf_(capacity) {}

    template <class Fill>
    std::size_t push(std::size_t want, Fill&& fill, std::uint64_t& notifies) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return count_ < buf_.size(); });
        const std::size_t n = want < buf_.size() - count_ ? want : buf_.size() - count_;
        for (std::size_t i = 0; i < n; ++i) {
            fill(buf_[(head_ + count_ + i) % buf_.size()]);
        }
        const bool was_empty = count_ == 0;
        count_ += n;
        lock.unlock();
        if (was_empty) {
            not_empty_.notify_one();
            ++notifies;
        }
        return n;
    }

    template <class Take>
    std::size_t pop(std::size_t max, Take&& take, std::uint64_t& notifies) {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return count_ != 0; });
        const std::size_t n = max < count_ ? max : count_;
        for (std::size_t i = 0; i < n; ++i) {
            take(buf_[(head_ + i) % buf_.size()]);
        }
        const bool was_full = count_ == buf_.size();
        head_ = (head_ + n) % buf_.size();
        count_ -= n;
        lock.unlock();
        if (was_full) {
            not_full_.notify_one();
            ++notifies;
        }
        return n;
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::vector<Message> buf_;
    std::size_t head_ = 0, count_ = 0;
};

}  // namespace

RunResult run_mutex(const RunSpec& spec, const CpuPlan& cpus) {
    MutexQueue queue(spec.slots);
    std::uint64_t errors = 0, producer_notifies = 0, consumer_notifies = 0;
    RunResult result;
    result.seconds = run_pair(
        cpus,
        [&] {
            for (std::uint64_t seq = 0; seq < spec.ops;) {
                const std::uint64_t left = spec.ops - seq;
                const std::size_t want = left < spec.batch ? static_cast<std::size_t>(left) : spec.batch;
                queue.push(want, [&](Message& m) { fill_message(m, seq++); }, producer_notifies);
            }
        },
        [&] {
            for (std::uint64_t expect = 0; expect < spec.ops;) {
                queue.pop(spec.batch, [&](const Message& m) { errors += !check_message(m, expect++); },
                          consumer_notifies);
            }
        });
    result.notifications = producer_notifies + consumer_notifies;
    result.errors = errors;
    return result;
}

}  // namespace ring_bench
