// Single-threaded pv::ring protocol tests: produce/consume, full ring, batch API, 32-bit
// wrap-around, and Xen's notification hold-off rule; no peer here is hostile.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

struct Req {
    std::uint64_t seq;
    std::uint64_t value;
};
struct Rsp {
    std::uint64_t seq;
    std::int32_t status;
};
using Types = pv::RingTypes<Req, Rsp>;  // 16-byte entries: 4032/16 = 252 -> 128 slots

// A page with a front and a back attached at `start` (as if both had run 'start' requests).
struct Pair {
    PageBuffer<4096> page{};
    Types::Front front;
    Types::Back back;
    Types::Shared& shared() { return *reinterpret_cast<Types::Shared*>(page.bytes); }

    explicit Pair(pv::RingIdx start = 0) {
        shared().init();
        shared().header.req_prod = shared().header.rsp_prod = start;
        shared().header.req_event = shared().header.rsp_event = start + 1;
        EXPECT_TRUE(front.attach(page.bytes, sizeof(page.bytes), start));
        EXPECT_TRUE(back.attach(page.bytes, sizeof(page.bytes), start));
    }
};

// Back end answers everything it can see with {seq, status = value * 2}.
unsigned serve_all(Types::Back& back) {
    unsigned n = 0;
    Req req{};
    while (back.take_request(req)) {
        EXPECT_TRUE(back.put_response(Rsp{req.seq, static_cast<std::int32_t>(req.value * 2)}));
        ++n;
    }
    back.push_responses();
    return n;
}

TEST(SringProtocol, ProduceAndConsumeOneThread) {
    Pair p;
    ASSERT_EQ(p.front.size(), 128u);
    for (std::uint64_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(p.front.put_request(Req{i, i + 100}));
    }
    EXPECT_EQ(p.front.free_requests(), 123u);
    EXPECT_EQ(p.back.unconsumed_requests(), 0u) << "nothing is visible before the push";
    p.front.push_requests();
    EXPECT_EQ(p.shared().header.req_prod, 5u);
    EXPECT_EQ(p.back.unconsumed_requests(), 5u);
    EXPECT_EQ(serve_all(p.back), 5u);
    EXPECT_EQ(p.shared().header.rsp_prod, 5u);
    Rsp rsp{};
    for (std::uint64_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(p.front.take_response(rsp));
        EXPECT_EQ(rsp.seq, i);
        EXPECT_EQ(rsp.status, static_cast<std::int32_t>((i + 100) * 2));
    }
    EXPECT_FALSE(p.front.take_response(rsp));
    EXPECT_EQ(p.front.free_requests(), 128u);
    EXPECT_FALSE(p.front.ring_corrupt());
    EXPECT_FALSE(p.back.ring_corrupt());
}

TEST(SringProtocol, FullRingRefusesAndBackCannotAnswerAhead) {
    Pair p;
    EXPECT_EQ(p.back.start_response(), nullptr) << "no consumed request to answer";
    for (unsigned i = 0; i < p.front.size(); ++i) {
        ASSERT_TRUE(p.front.put_request(Req{i, 0}));
    }
    EXPECT_TRUE(p.front.full());
    EXPECT_FALSE(p.front.put_request(Req{}));
    EXPECT_EQ(p.front.start_request(), nullptr);
    p.front.push_requests();
    Req req{};
    ASSERT_TRUE(p.back.take_request(req));
    ASSERT_NE(p.back.start_response(), nullptr);
    EXPECT_EQ(p.back.start_response(), nullptr) << "one consumed request, one response";
    p.back.push_responses();
    Rsp rsp{};
    ASSERT_TRUE(p.front.take_response(rsp));
    EXPECT_EQ(p.front.free_requests(), 1u);
}

TEST(SringProtocol, BatchApiProducesAndConsumesUpToN) {
    Pair p;
    std::uint64_t next = 0;
    EXPECT_EQ(p.front.produce_requests(200, [&](Req& r) { r = Req{next++, 7}; }), 128u);
    EXPECT_EQ(p.front.produce_requests(1, [&](Req&) { FAIL(); }), 0u);
    p.front.push_requests();
    std::vector<std::uint64_t> seen;
    EXPECT_EQ(p.back.consume_requests(50, [&](const Req& r) { seen.push_back(r.seq); }), 50u);
    EXPECT_EQ(p.back.free_responses(), 50u);
    std::uint64_t answer = 0;
    EXPECT_EQ(p.back.produce_responses(100, [&](Rsp& r) { r = Rsp{answer++, 0}; }), 50u);
    p.back.push_responses();
    EXPECT_EQ(p.back.consume_requests(1000, [&](const Req& r) { seen.push_back(r.seq); }), 78u);
    ASSERT_EQ(seen.size(), 128u);
    for (std::uint64_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i], i);
    }
    std::uint64_t got = 0;
    EXPECT_EQ(p.front.consume_responses(1000, [&](const Rsp& r) { EXPECT_EQ(r.seq, got++); }), 50u);
    EXPECT_EQ(p.front.free_requests(), 50u);
}

TEST(SringProtocol, IndicesWrapAt32Bits) {
    const pv::RingIdx start = 0xfffffff0u;
    Pair p(start);
    const auto* first_slot = reinterpret_cast<const std::byte*>(p.front.slot_array());
    std::mt19937 rng(7);
    std::uint64_t produced = 0, answered = 0, received = 0;
    while (received < 3000) {
        const unsigned want = 1 + rng() % 64;
        for (unsigned i = 0; i < want; ++i) {
            Req* slot = p.front.start_request();
            if (slot == nullptr) {
                break;
            }
            const auto offset = reinterpret_cast<const std::byte*>(slot) - first_slot;
            const pv::RingIdx idx = p.front.req_prod_pvt() - 1;
            EXPECT_EQ(offset, static_cast<std::ptrdiff_t>((idx & 127u) * sizeof(Types::Entry)));
            *slot = Req{produced++, 1};
        }
        p.front.push_requests();
        const unsigned serve = rng() % 80;
        for (unsigned i = 0; i < serve; ++i) {
            Req req{};
            if (!p.back.take_request(req)) {
                break;
            }
            EXPECT_EQ(req.seq, answered++);
            ASSERT_TRUE(p.back.put_response(Rsp{req.seq, 0}));
        }
        p.back.push_responses();
        p.front.consume_responses(1 + rng() % 90, [&](const Rsp& r) { EXPECT_EQ(r.seq, received++); });
    }
    EXPECT_LT(p.front.rsp_cons(), start) << "indices must have wrapped past 0";
    EXPECT_FALSE(p.front.ring_corrupt());
    EXPECT_FALSE(p.back.ring_corrupt());
}

TEST(SringProtocol, AttachResumesAtGivenIndex) {
    Pair p(0x80000000u);
    ASSERT_TRUE(p.front.put_request(Req{1, 2}));
    p.front.push_requests();
    EXPECT_EQ(p.shared().header.req_prod, 0x80000001u);
    EXPECT_EQ(p.back.unconsumed_requests(), 1u);
    EXPECT_FALSE(p.back.request_prod_overflow(0x80000000u + 128u));
    EXPECT_TRUE(p.back.request_prod_overflow(0x80000000u + 129u));
    EXPECT_TRUE(p.back.request_cons_overflow(0x80000000u + 128u));
    EXPECT_FALSE(p.back.request_cons_overflow(0x80000000u + 127u));
}

}  // namespace
