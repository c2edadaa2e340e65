// A malicious peer writes garbage producer indices, event values and slot bytes into the
// shared page. Our side must flag corruption, stay bounded, and never touch memory outside
// the ring page: the page sits between two PROT_NONE guard pages and its slot array ends
// exactly at the page end (64 slots of 63 bytes), so any stray access faults.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

struct Msg63 {
    std::uint8_t bytes[63];
};
using Types = pv::RingTypes<Msg63, Msg63>;
static_assert(Types::slots == 64 && sizeof(Types::Shared) == 4096, "slot array must end at the page end");

class GuardedPage {
public:
    GuardedPage() {
        void* p = mmap(nullptr, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(p, MAP_FAILED);
        base_ = static_cast<std::byte*>(p);
        EXPECT_EQ(mprotect(page(), 4096, PROT_READ | PROT_WRITE), 0);
        reinterpret_cast<Types::Shared*>(page())->init();
    }
    ~GuardedPage() { munmap(base_, 3 * 4096); }
    GuardedPage(const GuardedPage&) = delete;
    GuardedPage& operator=(const GuardedPage&) = delete;
    std::byte* page() { return base_ + 4096; }
    pv::SringHeader& header() { return *reinterpret_cast<pv::SringHeader*>(page()); }
    bool in_slots(const void* p) {
        const auto* b = static_cast<const std::byte*>(p);
        return b >= page() + 64 && b + sizeof(Msg63) <= page() + 4096;
    }

private:
    std::byte* base_ = nullptr;
};

// A hostile index relative to `base`: valid-looking, just over, backwards, huge, random.
pv::RingIdx hostile_index(std::mt19937& rng, pv::RingIdx base, unsigned legit) {
    switch (rng() % 6) {
    case 0: return base + rng() % (legit + 1);
    case 1: return base + legit + 1 + rng() % 3;
    case 2: return base - 1 - rng() % 100;
    case 3: return base + 0x80000000u + rng() % 7;
    case 4: return base + 64 + rng() % 2;
    default: return static_cast<pv::RingIdx>(rng());
    }
}

void scribble_slots(std::mt19937& rng, GuardedPage& g) {
    for (int i = 0; i < 4; ++i) {
        g.page()[64 + rng() % 4032] = static_cast<std::byte>(rng());
    }
}

TEST(SringHostile, BackEndLiesAboutResponses) {
    GuardedPage g;
    std::mt19937 rng(1);
    unsigned corrupt_seen = 0;
    for (int iter = 0; iter < 100000; ++iter) {
        Types::Front front;
        const pv::RingIdx start = (iter & 1) ? static_cast<pv::RingIdx>(rng()) : 0xffffffc0u + rng() % 128;
        ASSERT_TRUE(front.attach(g.page(), 4096, start));
        const unsigned outstanding = rng() % 65;
        for (unsigned i = 0; i < outstanding; ++i) {
            Msg63* slot = front.start_request();
            ASSERT_TRUE(slot != nullptr && g.in_slots(slot));
            slot->bytes[62] = 1;
        }
        front.push_requests();
        const pv::RingIdx prod = hostile_index(rng, start, outstanding);
        g.header().rsp_prod = prod;
        g.header().req_event = static_cast<pv::RingIdx>(rng());
        scribble_slots(rng, g);
        const bool legal = pv::RingIdx(prod - start) <= outstanding;
        const unsigned expect = legal ? prod - start : 0;

        unsigned taken = 0;
        Msg63 out{};
        while (front.take_response(out)) {
            ASSERT_LE(++taken, 64u) << "consumer not bounded";
        }
        ASSERT_EQ(taken, expect) << "iter " << iter;
        ASSERT_EQ(front.ring_corrupt(), !legal) << "iter " << iter << " prod " << prod;
        corrupt_seen += front.ring_corrupt();
        if (!legal) {
            ASSERT_EQ(front.start_request(), nullptr) << "a corrupt ring is dead";
            ASSERT_FALSE(front.final_check_for_responses());
            continue;
        }
        // Event values are only ever inputs to Xen's rule: any value gives a plain bool.
        if (front.put_request(out)) {
            const pv::RingIdx event = g.header().req_event;
            const pv::RingIdx new_prod = front.req_prod_pvt();
            ASSERT_EQ(front.push_requests_and_check_notify(), pv::RingIdx(new_prod - event) < 1u);
        }
        static_cast<void>(front.final_check_for_responses());
    }
    EXPECT_GT(corrupt_seen, 50000u);
}

TEST(SringHostile, FrontEndOverrunsRequests) {
    GuardedPage g;
    std::mt19937 rng(2);
    unsigned corrupt_seen = 0, missed_by_xen_rule = 0;
    for (int iter = 0; iter < 100000; ++iter) {
        Types::Back back;
        const pv::RingIdx start = (iter & 1) ? static_cast<pv::RingIdx>(rng()) : 0xffffffc0u + rng() % 128;
        ASSERT_TRUE(back.attach(g.page(), 4096, start));
        // An honest prefix: k requests, j consumed, m answered.
        const unsigned k = rng() % 65, j = k ? rng() % (k + 1) : 0, m = j ? rng() % (j + 1) : 0;
        g.header().req_prod = start + k;
        Msg63 req{};
        for (unsigned i = 0; i < j; ++i) {
            ASSERT_TRUE(back.take_request(req));
        }
        for (unsigned i = 0; i < m; ++i) {
            Msg63* slot = back.start_response();
            ASSERT_TRUE(slot != nullptr && g.in_slots(slot));
        }
        back.push_responses();
        // Then the front end turns hostile.
        const pv::RingIdx prod = hostile_index(rng, start + j, 64 - (j - m));
        g.header().req_prod = prod;
        g.header().rsp_event = static_cast<pv::RingIdx>(rng());
        scribble_slots(rng, g);
        // Requests already validated (cached) are consumed first; the hostile req_prod is
        // read, and judged, only once they are gone.
        const unsigned cached = j != 0 ? k - j : 0;
        const pv::RingIdx rsp = start + m, cons = start + j + cached;
        const bool legal = pv::RingIdx(prod - rsp) <= 64 && pv::RingIdx(prod - rsp) >= pv::RingIdx(cons - rsp);
        missed_by_xen_rule += !legal && !back.request_prod_overflow(prod);

        unsigned taken = 0;
        while (back.take_request(req)) {
            ASSERT_LE(++taken, 64u) << "consumer not bounded";
        }
        ASSERT_EQ(taken, cached + (legal ? prod - cons : 0)) << "iter " << iter;
        ASSERT_EQ(back.ring_corrupt(), !legal) << "iter " << iter;
        corrupt_seen += back.ring_corrupt();
        ASSERT_LE(back.req_cons() - back.rsp_prod_pvt(), 64u);
        if (!legal) {
            ASSERT_EQ(back.start_response(), nullptr);
            ASSERT_FALSE(back.final_check_for_requests());
        }
    }
    EXPECT_GT(corrupt_seen, 50000u);
    EXPECT_GT(missed_by_xen_rule, 0u) << "backwards req_prod is caught beyond RING_REQUEST_PROD_OVERFLOW";
}

// Xen's own checks accept a producer that moves back behind what we already validated;
// we do not: the peer would make us hand out the same slots twice.
TEST(SringHostile, ProducerMovingBackwardsIsCaught) {
    GuardedPage g;
    Types::Back back;
    ASSERT_TRUE(back.attach(g.page(), 4096, 0));
    g.header().req_prod = 10;
    EXPECT_EQ(back.consume_requests(2, [](const Msg63&) {}), 2u);
    g.header().req_prod = 5;  // still >= req_cons, and no overflow by RING_REQUEST_PROD_OVERFLOW
    EXPECT_FALSE(back.request_prod_overflow(5));
    EXPECT_EQ(back.consume_requests(64, [](const Msg63&) {}), 0u);
    EXPECT_TRUE(back.ring_corrupt());

    Types::Front front;
    ASSERT_TRUE(front.attach(g.page(), 4096, 0));
    for (int i = 0; i < 10; ++i) {
        ASSERT_NE(front.start_request(), nullptr);
    }
    front.push_requests();
    g.header().rsp_prod = 8;
    EXPECT_EQ(front.consume_responses(1, [](const Msg63&) {}), 1u);
    g.header().rsp_prod = 3;
    EXPECT_EQ(front.consume_responses(64, [](const Msg63&) {}), 0u);
    EXPECT_TRUE(front.ring_corrupt());
}

// The peer scribbles concurrently while our back end runs its normal loop; it must keep
// terminating each step, detect corruption, and never fault.
TEST(SringHostile, ConcurrentScribblerNeverEscapesThePage) {
    GuardedPage g;
    std::atomic<bool> stop{false};
    std::thread scribbler([&] {
        std::mt19937 rng(3);
        auto* words = reinterpret_cast<pv::RingIdx*>(g.page());
        while (!stop.load(std::memory_order_relaxed)) {
            __atomic_store_n(&words[rng() % 4], static_cast<pv::RingIdx>(rng()), __ATOMIC_RELAXED);
            __atomic_store_n(reinterpret_cast<std::uint8_t*>(g.page() + 64 + rng() % 4032),
                             static_cast<std::uint8_t>(rng()), __ATOMIC_RELAXED);
        }
    });
    std::mt19937 rng(4);
    unsigned detections = 0, steps = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    Types::Back back;
    ASSERT_TRUE(back.attach(g.page(), 4096, 0));
    while (std::chrono::steady_clock::now() < until) {
        ++steps;
        const unsigned n = back.consume_requests(~0u, [&](const Msg63&) {
            Msg63* slot = back.start_response();
            ASSERT_TRUE(slot != nullptr && g.in_slots(slot));
            std::memset(slot, 0, sizeof(*slot));
        });
        ASSERT_LE(n, 64u);
        static_cast<void>(back.push_responses_and_check_notify());
        static_cast<void>(back.final_check_for_requests());
        if (back.ring_corrupt()) {
            ++detections;
            ASSERT_TRUE(back.attach(g.page(), 4096, static_cast<pv::RingIdx>(rng())));
        }
    }
    stop = true;
    scribbler.join();
    EXPECT_GT(steps, 100u);
    EXPECT_GT(detections, 10u);
}

}  // namespace
