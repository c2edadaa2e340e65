// pv::ring under ring_bench: the front end produces 64-byte requests in batches, the back
// end consumes them and answers each with an 8-byte ack (the only way a Xen ring frees a
// slot), both following Xen's push-and-check-notify / final-check protocol. Must never
// skip a barrier or an event the protocol asks for: that would flatter the numbers.
#include <cstdlib>
#include <cstring>

#include "harness.hpp"
#include "pv/ring.hpp"

namespace ring_bench {
namespace {

struct Ack {
    std::uint64_t seq;
};
using Front = pv::FrontRing<Message, Ack>;
using Back = pv::BackRing<Message, Ack>;

// How long a side polls the ring before arming its event and blocking (a driver's
// busy-poll budget); keeps events rare while the peer is actively producing.
constexpr unsigned poll_spins = 256;

template <class Ready>
bool poll_for(Ready&& ready) {
    for (unsigned i = 0; i < poll_spins; ++i) {
        if (ready()) {
            return true;
        }
        cpu_relax();
    }
    return false;
}

void produce(Front& front, const RunSpec& spec, Doorbell& to_back, Doorbell& to_front, std::uint64_t& errors) {
    std::uint64_t seq = 0;
    while (seq < spec.ops) {
        const std::uint64_t left = spec.ops - seq;
        // Publish at most half a ring at a time: a batch larger than that could only be
        // published after the back end had acked everything, serialising the two sides.
        const std::uint32_t step = spec.batch < front.size() / 2 ? spec.batch : front.size() / 2;
        const std::uint32_t want = left < step ? static_cast<std::uint32_t>(left) : step;
        if (front.free_requests() < want) {
            front.consume_responses(~0u, [](const Ack&) {});  // acks carry nothing we need
        }
        const std::uint32_t n = front.produce_requests(want, [&](Message& m) { fill_message(m, seq++); });
        if (n != 0) {
            if (front.push_requests_and_check_notify()) {
                to_back.ring();
            }
            continue;
        }
        // Ring full: poll for acks, then arm rsp_event and block until the back end rings.
        if (poll_for([&] { return front.unconsumed_responses() != 0; })) {
            continue;
        }
        if (!front.final_check_for_responses()) {
            if (front.ring_corrupt()) {
                ++errors;
                return;
            }
            to_front.wait();
        }
    }
}

void consume(Back& back, const RunSpec& spec, Doorbell& to_back, Doorbell& to_front, std::uint64_t& errors) {
    std::uint64_t expect = 0;
    while (expect < spec.ops) {
        // Ack at least every half ring, so the front end can refill while we keep consuming.
        const std::uint32_t step = spec.batch < back.size() / 2 ? spec.batch : back.size() / 2;
        const std::uint32_t n = back.consume_requests(step, [&](const Message& m) {
            errors += !check_message(m, expect++);
            back.start_response()->seq = m.seq;  // the request's slot was just consumed
        });
        if (n != 0) {
            if (back.push_responses_and_check_notify()) {
                to_front.ring();
            }
            continue;
        }
        if (poll_for([&] { return back.unconsumed_requests() != 0; })) {
            continue;
        }
        if (!back.final_check_for_requests()) {
            if (back.ring_corrupt()) {
                ++errors;
                return;
            }
            to_back.wait();
        }
    }
}

}  // namespace

RunResult run_pv_ring(const RunSpec& spec, const CpuPlan& cpus) {
    void* page = std::aligned_alloc(pv::ring_page_size, spec.ring_bytes);
    if (page == nullptr) {
        return RunResult{0, 0, 1};
    }
    std::memset(page, 0, spec.ring_bytes);
    pv::shared_ring_init(*static_cast<pv::SringHeader*>(page));
    Front front;
    Back back;
    RunResult result;
    if (!front.init(page, spec.ring_bytes) || !back.init(page, spec.ring_bytes) || front.size() != spec.slots) {
        std::free(page);
        result.errors = 1;
        return result;
    }
    Doorbell to_back, to_front;
    std::uint64_t producer_errors = 0, consumer_errors = 0;
    result.seconds = run_pair(
        cpus, [&] { produce(front, spec, to_back, to_front, producer_errors); },
        [&] { consume(back, spec, to_back, to_front, consumer_errors); });
    result.notifications = to_back.rings() + to_front.rings();
    result.errors = producer_errors + consumer_errors;
    std::free(page);
    return result;
}

}  // namespace ring_bench
