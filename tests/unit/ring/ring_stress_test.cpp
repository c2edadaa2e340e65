// Two threads move >= 10 million checksummed requests and responses through one pv::ring
// with Xen's full notify/final-check protocol: nothing may be lost, reordered, duplicated
// or corrupted, and no wake-up may be lost (a lost one trips the TestEvent deadline).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

struct Req {
    std::uint64_t seq;
    std::uint64_t payload[5];
    std::uint64_t csum;
};
struct Rsp {
    std::uint64_t seq;
    std::uint64_t csum;  // echo of the request checksum, computed by the back end
};
using Types = pv::RingTypes<Req, Rsp>;  // 56-byte entries: 72 fit -> 64 slots

constexpr std::uint64_t total = 10'000'000;

std::uint64_t checksum(const Req& r) {
    std::uint64_t c = r.seq;
    for (std::uint64_t p : r.payload) {
        c = mix(c ^ p);
    }
    return c;
}

Req make(std::uint64_t seq) {
    Req r{seq, {}, 0};
    for (unsigned i = 0; i < 5; ++i) {
        r.payload[i] = seq * 5 + i;
    }
    r.csum = checksum(r);
    return r;
}

struct Shared {
    PageBuffer<4096> page{};
    TestEvent to_back, to_front;
    std::atomic<bool> failed{false};
};

// Back end: answers every request in order; batches of 1..32 vary with the sequence.
void back_end(Shared& s, std::uint64_t& served, std::uint64_t& bad) {
    Types::Back back;
    if (!back.init(s.page.bytes, sizeof(s.page.bytes))) {
        s.failed = true;
        return;
    }
    while (served < total && !s.failed) {
        const unsigned batch = 1 + static_cast<unsigned>(mix(served) % 32);
        const unsigned n = back.consume_requests(batch, [&](const Req& r) {
            bad += (r.seq != served || checksum(r) != r.csum);
            ++served;
            Rsp* out = back.start_response();
            *out = Rsp{r.seq, r.csum};
        });
        if (n != 0) {
            if (back.push_responses_and_check_notify()) {
                s.to_front.signal();
            }
        } else if (!back.final_check_for_requests()) {
            if (back.ring_corrupt() || !s.to_back.wait()) {
                s.failed = true;
            }
        }
    }
}

TEST(SringStress, TenMillionChecksummedRoundTrips) {
    static Shared s;
    reinterpret_cast<Types::Shared*>(s.page.bytes)->init();
    Types::Front front;
    ASSERT_TRUE(front.init(s.page.bytes, sizeof(s.page.bytes)));
    std::uint64_t served = 0, bad_requests = 0;
    const auto t0 = std::chrono::steady_clock::now();
    std::thread back_thread(back_end, std::ref(s), std::ref(served), std::ref(bad_requests));

    std::uint64_t sent = 0, received = 0, bad_responses = 0;
    while (received < total && !s.failed) {
        const unsigned batch = 1 + static_cast<unsigned>(mix(sent ^ 0x55) % 48);
        const std::uint64_t left = total - sent;
        const unsigned n = front.produce_requests(left < batch ? static_cast<unsigned>(left) : batch,
                                                  [&](Req& slot) { slot = make(sent++); });
        if (n != 0 && front.push_requests_and_check_notify()) {
            s.to_back.signal();
        }
        const unsigned got = front.consume_responses(~0u, [&](const Rsp& r) {
            bad_responses += (r.seq != received || r.csum != make(received).csum);
            ++received;
        });
        if (n == 0 && got == 0 && !front.final_check_for_responses()) {
            if (front.ring_corrupt() || !s.to_front.wait()) {
                s.failed = true;
            }
        }
    }
    if (s.failed) {
        s.to_back.signal();  // let a waiting back end see the failure and stop
    }
    back_thread.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("stress: %llu round trips in %.2f s, events to back %llu, to front %llu\n",
                static_cast<unsigned long long>(received), secs,
                static_cast<unsigned long long>(s.to_back.count()),
                static_cast<unsigned long long>(s.to_front.count()));
    EXPECT_FALSE(s.failed.load()) << "a wait hit its deadline (lost wake-up) or the ring broke";
    EXPECT_EQ(sent, total);
    EXPECT_EQ(served, total);
    EXPECT_EQ(received, total);
    EXPECT_EQ(bad_requests, 0u) << "lost, reordered, duplicated or corrupted requests";
    EXPECT_EQ(bad_responses, 0u) << "lost, reordered, duplicated or corrupted responses";
    EXPECT_FALSE(front.ring_corrupt());
}

}  // namespace
