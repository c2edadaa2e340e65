// Byte-for-byte interop: a page built by pv::ring must equal the page Linux's C macros
// build, and each side must read what the other wrote. The reference below is written the
// way ring.h is (C struct, offsetof, __RD32, unsigned arithmetic) — never via pv::ring.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <random>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

// ---- the C reference, one "DEFINE_RING_TYPES(refblk, BlkRequest, BlkResponse)" ----------
typedef unsigned int REF_RING_IDX;
union refblk_sring_entry {
    BlkRequest req;
    BlkResponse rsp;
};
struct refblk_sring {
    REF_RING_IDX req_prod, req_event;
    REF_RING_IDX rsp_prod, rsp_event;
    std::uint8_t pad[48];
    union refblk_sring_entry ring[1];
};
struct refblk_front_ring {
    REF_RING_IDX req_prod_pvt;
    REF_RING_IDX rsp_cons;
    unsigned int nr_ents;
    unsigned char* page;
};

#define REF_RD2(x) (((x) & 0x00000002) ? 0x2 : ((x) & 0x1))
#define REF_RD4(x) (((x) & 0x0000000c) ? REF_RD2((x) >> 2) << 2 : REF_RD2(x))
#define REF_RD8(x) (((x) & 0x000000f0) ? REF_RD4((x) >> 4) << 4 : REF_RD4(x))
#define REF_RD16(x) (((x) & 0x0000ff00) ? REF_RD8((x) >> 8) << 8 : REF_RD8(x))
#define REF_RD32(x) (((x) & 0xffff0000) ? REF_RD16((x) >> 16) << 16 : REF_RD16(x))
#define REF_RING_SIZE(sz) \
    (REF_RD32(((sz) - offsetof(struct refblk_sring, ring)) / sizeof(union refblk_sring_entry)))
#define REF_IDX_AT(page, off) (*(REF_RING_IDX*)((page) + (off)))
#define REF_REQ_PROD(p) REF_IDX_AT(p, offsetof(struct refblk_sring, req_prod))
#define REF_REQ_EVENT(p) REF_IDX_AT(p, offsetof(struct refblk_sring, req_event))
#define REF_RSP_PROD(p) REF_IDX_AT(p, offsetof(struct refblk_sring, rsp_prod))
#define REF_RSP_EVENT(p) REF_IDX_AT(p, offsetof(struct refblk_sring, rsp_event))
#define REF_SLOT(r, idx)                                                      \
    ((union refblk_sring_entry*)((r)->page + offsetof(struct refblk_sring, ring) + \
                                 ((idx) & ((r)->nr_ents - 1)) * sizeof(union refblk_sring_entry)))
#define REF_SHARED_RING_INIT(p) do {                         \
        REF_REQ_PROD(p) = REF_RSP_PROD(p) = 0;               \
        REF_REQ_EVENT(p) = REF_RSP_EVENT(p) = 1;             \
        memset((p) + 16, 0, 48);                             \
    } while (0)
#define REF_FRONT_RING_INIT(r, p, sz) do {                   \
        (r)->req_prod_pvt = 0;                               \
        (r)->rsp_cons = 0;                                   \
        (r)->nr_ents = REF_RING_SIZE(sz);                    \
        (r)->page = (p);                                     \
    } while (0)
#define REF_PUSH_REQUESTS_AND_CHECK_NOTIFY(r, notify) do {                         \
        REF_RING_IDX old_ = REF_REQ_PROD((r)->page);                               \
        REF_RING_IDX new_ = (r)->req_prod_pvt;                                     \
        REF_REQ_PROD((r)->page) = new_;                                            \
        (notify) = ((REF_RING_IDX)(new_ - REF_REQ_EVENT((r)->page)) <              \
                    (REF_RING_IDX)(new_ - old_));                                  \
    } while (0)
#define REF_FINAL_CHECK_FOR_RESPONSES(r, work) do {                                \
        (work) = REF_RSP_PROD((r)->page) - (r)->rsp_cons;                          \
        if (work) break;                                                           \
        REF_RSP_EVENT((r)->page) = (r)->rsp_cons + 1;                              \
        (work) = REF_RSP_PROD((r)->page) - (r)->rsp_cons;                          \
    } while (0)
// -------------------------------------------------------------------------------------------

using Types = pv::RingTypes<BlkRequest, BlkResponse, 2 * 4096>;

// Field by field, so both pages keep identical padding bytes (a struct copy need not copy
// padding, which would make a byte comparison flaky rather than wrong).
void fill_request(BlkRequest& r, std::uint64_t i) {
    r.operation = static_cast<std::uint8_t>(i & 3);
    r.nr_segments = static_cast<std::uint8_t>(1 + i % 11);
    r.handle = 0x51;
    r.id = mix(i);
    r.sector_number = i * 8;
    for (unsigned s = 0; s < 11; ++s) {
        r.seg[s].gref = static_cast<std::uint32_t>(i * 16 + s);
        r.seg[s].first_sect = 0;
        r.seg[s].last_sect = 7;
    }
}

BlkRequest make_request(std::uint64_t i) {
    BlkRequest r{};
    fill_request(r, i);
    return r;
}

bool same_request(const BlkRequest& a, const BlkRequest& b) {
    bool same = a.operation == b.operation && a.nr_segments == b.nr_segments && a.handle == b.handle &&
                a.id == b.id && a.sector_number == b.sector_number;
    for (unsigned s = 0; s < 11; ++s) {
        same = same && a.seg[s].gref == b.seg[s].gref && a.seg[s].first_sect == b.seg[s].first_sect &&
               a.seg[s].last_sect == b.seg[s].last_sect;
    }
    return same;
}

TEST(SringInterop, ReferenceMacrosAgreeOnSize) {
    EXPECT_EQ(offsetof(struct refblk_sring, ring), offsetof(Types::Shared, ring));
    EXPECT_EQ(REF_RING_SIZE(4096), 32u);
    EXPECT_EQ(REF_RING_SIZE(2 * 4096), Types::slots);
    EXPECT_EQ(REF_RING_SIZE(8 * 4096), (pv::ring_slots<BlkRequest, BlkResponse>(8 * 4096)));
}

// Two pages, the same operations, one through the C reference and one through pv::ring.
TEST(SringInterop, FrontPagesAreByteIdentical) {
    static PageBuffer<2 * 4096> ref_page, our_page;
    std::memset(ref_page.bytes, 0x5c, sizeof(ref_page.bytes));
    std::memset(our_page.bytes, 0x5c, sizeof(our_page.bytes));
    auto* ref_bytes = reinterpret_cast<unsigned char*>(ref_page.bytes);
    refblk_front_ring ref{};
    REF_SHARED_RING_INIT(ref_bytes);
    REF_FRONT_RING_INIT(&ref, ref_bytes, sizeof(ref_page.bytes));
    auto& ours_shared = *reinterpret_cast<Types::Shared*>(our_page.bytes);
    ours_shared.init();
    Types::Front ours;
    ours.init(ours_shared);

    std::mt19937 rng(11);
    std::uint64_t seq = 0;
    for (int round = 0; round < 200; ++round) {
        const unsigned n = rng() % 9;
        for (unsigned i = 0; i < n && ref.req_prod_pvt - ref.rsp_cons < ref.nr_ents; ++i, ++seq) {
            fill_request(REF_SLOT(&ref, ref.req_prod_pvt++)->req, seq);
            ASSERT_EQ(ours.produce_requests(1, [&](BlkRequest& slot) { fill_request(slot, seq); }), 1u);
        }
        bool ref_notify = false;
        REF_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ref, ref_notify);
        EXPECT_EQ(ours.push_requests_and_check_notify(), ref_notify) << "round " << round;
        // A back end (the same one for both) answers some and sometimes re-arms req_event.
        const REF_RING_IDX answered = ref.req_prod_pvt - rng() % (ref.req_prod_pvt - ref.rsp_cons + 1);
        for (REF_RING_IDX i = REF_RSP_PROD(ref_bytes); i != answered; ++i) {
            const BlkResponse rsp{mix(i), 1, -5};
            std::memcpy(&REF_SLOT(&ref, i)->rsp, &rsp, sizeof(rsp));
            std::memcpy(our_page.bytes + 64 + (i & 63) * 112, &rsp, sizeof(rsp));
        }
        REF_RSP_PROD(ref_bytes) = ours_shared.header.rsp_prod = answered;
        if (rng() % 2) {
            REF_REQ_EVENT(ref_bytes) = ours_shared.header.req_event = answered + 1;
        }
        int work = 0;
        for (;;) {
            REF_FINAL_CHECK_FOR_RESPONSES(&ref, work);
            const bool our_work = ours.final_check_for_responses();
            ASSERT_EQ(our_work, work != 0);
            if (!work) {
                break;
            }
            const BlkResponse expect = REF_SLOT(&ref, ref.rsp_cons++)->rsp;
            BlkResponse got{};
            ASSERT_TRUE(ours.take_response(got));
            ASSERT_TRUE(got.id == expect.id && got.operation == expect.operation && got.status == expect.status);
        }
        ASSERT_EQ(std::memcmp(ref_page.bytes, our_page.bytes, sizeof(ref_page.bytes)), 0) << "round " << round;
    }
    EXPECT_GT(seq, 300u);
}

// A C front end feeds our back end through one page; our responses read back through C.
TEST(SringInterop, OurBackServesReferenceFront) {
    static PageBuffer<4096> page;
    auto* bytes = reinterpret_cast<unsigned char*>(page.bytes);
    refblk_front_ring ref{};
    REF_SHARED_RING_INIT(bytes);
    REF_FRONT_RING_INIT(&ref, bytes, sizeof(page.bytes));
    pv::BackRing<BlkRequest, BlkResponse> back;
    ASSERT_TRUE(back.init(page.bytes, sizeof(page.bytes)));
    ASSERT_EQ(back.size(), ref.nr_ents);

    std::uint64_t sent = 0, served = 0, checked = 0;
    while (checked < 1000) {
        while (ref.req_prod_pvt - ref.rsp_cons < ref.nr_ents && sent < 1000) {
            REF_SLOT(&ref, ref.req_prod_pvt++)->req = make_request(sent++);
        }
        bool notify = false;
        REF_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ref, notify);
        static_cast<void>(notify);
        BlkRequest req{};
        while (back.take_request(req)) {
            ASSERT_TRUE(same_request(req, make_request(served++)));
            ASSERT_TRUE(back.put_response(BlkResponse{req.id, req.operation, 0}));
        }
        static_cast<void>(back.push_responses_and_check_notify());  // no event channel here
        for (; ref.rsp_cons != REF_RSP_PROD(bytes); ++ref.rsp_cons, ++checked) {
            const BlkResponse rsp = REF_SLOT(&ref, ref.rsp_cons)->rsp;
            ASSERT_EQ(rsp.id, mix(checked));
        }
    }
    EXPECT_FALSE(back.ring_corrupt());
}

}  // namespace
