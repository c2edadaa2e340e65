// Xen's notification hold-off (req_event/rsp_event): an event is sent exactly when the
// rule (new - event) < (new - old) says, and final-check never loses a wake-up.
#include <gtest/gtest.h>

#include <random>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

struct Msg {
    std::uint64_t seq;
};
using Types = pv::RingTypes<Msg, Msg>;

struct Pair {
    PageBuffer<4096> page{};
    Types::Front front;
    Types::Back back;
    pv::SringHeader& header() { return reinterpret_cast<Types::Shared*>(page.bytes)->header; }
    Pair() {
        reinterpret_cast<Types::Shared*>(page.bytes)->init();
        EXPECT_TRUE(front.init(page.bytes, sizeof(page.bytes)));
        EXPECT_TRUE(back.init(page.bytes, sizeof(page.bytes)));
    }
};

void put(Types::Front& f, unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
        ASSERT_TRUE(f.put_request(Msg{i}));
    }
}

unsigned drain(Types::Back& b) {
    return b.consume_requests(~0u, [](const Msg&) {});
}

TEST(SringNotify, RequestEventsFollowXenRule) {
    Pair p;
    put(p.front, 1);
    EXPECT_TRUE(p.front.push_requests_and_check_notify()) << "req_event = 1 after init";
    put(p.front, 2);
    EXPECT_FALSE(p.front.push_requests_and_check_notify()) << "back has not asked again";
    EXPECT_TRUE(p.back.final_check_for_requests()) << "3 requests are waiting";
    EXPECT_EQ(p.header().req_event, 1u) << "final check with work pending leaves the event";
    EXPECT_EQ(drain(p.back), 3u);
    EXPECT_FALSE(p.back.final_check_for_requests());
    EXPECT_EQ(p.header().req_event, 4u) << "req_cons + 1";
    EXPECT_FALSE(p.front.push_requests_and_check_notify()) << "an empty push never notifies";
    put(p.front, 3);
    EXPECT_TRUE(p.front.push_requests_and_check_notify()) << "a batch crossing the event";
    put(p.front, 1);
    EXPECT_FALSE(p.front.push_requests_and_check_notify()) << "one event per sleep";
}

TEST(SringNotify, FinalCheckCatchesRequestPushedBeforeItArmed) {
    Pair p;
    put(p.front, 1);
    EXPECT_TRUE(p.front.push_requests_and_check_notify());
    EXPECT_EQ(drain(p.back), 1u);
    // The back end has drained but not yet armed req_event (still 1): the front's next push
    // is silent, so the back end's final check must find the request itself.
    put(p.front, 1);
    EXPECT_FALSE(p.front.push_requests_and_check_notify());
    EXPECT_TRUE(p.back.final_check_for_requests());
    EXPECT_EQ(drain(p.back), 1u);
    EXPECT_FALSE(p.back.final_check_for_requests());
    put(p.front, 1);
    EXPECT_TRUE(p.front.push_requests_and_check_notify());
}

TEST(SringNotify, ResponseEventsFollowXenRule) {
    Pair p;
    put(p.front, 4);
    p.front.push_requests();
    EXPECT_EQ(drain(p.back), 4u);
    EXPECT_EQ(p.back.produce_responses(2, [](Msg& m) { m = Msg{0}; }), 2u);
    EXPECT_TRUE(p.back.push_responses_and_check_notify()) << "rsp_event = 1 after init";
    EXPECT_EQ(p.back.produce_responses(1, [](Msg& m) { m = Msg{0}; }), 1u);
    EXPECT_FALSE(p.back.push_responses_and_check_notify());
    EXPECT_EQ(p.front.consume_responses(~0u, [](const Msg&) {}), 3u);
    EXPECT_FALSE(p.front.final_check_for_responses());
    EXPECT_EQ(p.header().rsp_event, 4u);
    EXPECT_EQ(p.back.produce_responses(1, [](Msg& m) { m = Msg{0}; }), 1u);
    EXPECT_TRUE(p.back.push_responses_and_check_notify());
}

// Random interleavings against a model of the rule: the only event value the back end
// ever writes is req_cons + 1 from a final check that found nothing.
TEST(SringNotify, RandomSequencesMatchModel) {
    Pair p;
    std::mt19937 rng(2024);
    pv::RingIdx event = 1, published = 0;
    unsigned notifies = 0;
    for (int step = 0; step < 20000; ++step) {
        switch (rng() % 3) {
        case 0: {
            const unsigned n = rng() % 4;
            p.front.produce_requests(n, [](Msg& m) { m = Msg{0}; });
            const pv::RingIdx now = p.front.req_prod_pvt();
            const bool want = pv::RingIdx(now - event) < pv::RingIdx(now - published);
            const bool got = p.front.push_requests_and_check_notify();
            ASSERT_EQ(got, want) << "step " << step;
            notifies += got;
            published = now;
            break;
        }
        case 1:
            p.back.consume_requests(rng() % 5, [](const Msg&) {});
            p.back.produce_responses(~0u, [](Msg& m) { m = Msg{1}; });
            p.back.push_responses();
            p.front.consume_responses(~0u, [](const Msg&) {});
            break;
        default:
            if (!p.back.final_check_for_requests()) {
                event = p.back.req_cons() + 1;
            }
            ASSERT_EQ(p.header().req_event, event);
        }
    }
    EXPECT_GT(notifies, 100u);
    EXPECT_FALSE(p.back.ring_corrupt());
}

}  // namespace
