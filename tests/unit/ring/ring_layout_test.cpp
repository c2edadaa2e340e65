// Pins the shared-ring page layout and slot arithmetic to Xen's numbers (io/ring.h,
// BLK_RING_SIZE, NET_TX_RING_SIZE, NET_RX_RING_SIZE); a failure here is an ABI break.
#include <gtest/gtest.h>

#include <cstring>

#include "ring_test_types.hpp"

namespace {

using namespace ring_test;

using BlkTypes = pv::RingTypes<BlkRequest, BlkResponse>;
using BlkShared = BlkTypes::Shared;

TEST(SringLayout, HeaderOffsetsMatchXen) {
    EXPECT_EQ(sizeof(pv::SringHeader), 64u);
    EXPECT_EQ(offsetof(pv::SringHeader, req_prod), 0u);
    EXPECT_EQ(offsetof(pv::SringHeader, req_event), 4u);
    EXPECT_EQ(offsetof(pv::SringHeader, rsp_prod), 8u);
    EXPECT_EQ(offsetof(pv::SringHeader, rsp_event), 12u);
    EXPECT_EQ(offsetof(pv::SringHeader, pvt), 16u);
    EXPECT_EQ(sizeof(pv::SringHeader{}.pvt), 4u);
    EXPECT_EQ(offsetof(pv::SringHeader, pad), 20u);
    EXPECT_EQ(sizeof(pv::SringHeader{}.pad), 44u);
    EXPECT_EQ(sizeof(pv::RingIdx), 4u);
}

TEST(SringLayout, SlotArrayFollowsHeader) {
    EXPECT_EQ(offsetof(BlkShared, header), 0u);
    EXPECT_EQ(offsetof(BlkShared, ring), 64u);
    EXPECT_EQ(sizeof(BlkTypes::Entry), 112u);
    EXPECT_EQ(BlkShared::slots, 32u);
    EXPECT_EQ(sizeof(BlkShared), 64u + 32u * 112u);
    EXPECT_LE(sizeof(BlkShared), 4096u);

    PageBuffer<4096> page{};
    auto* shared = reinterpret_cast<BlkShared*>(page.bytes);
    const auto* base = reinterpret_cast<const std::byte*>(shared);
    EXPECT_EQ(reinterpret_cast<const std::byte*>(&shared->ring[0]) - base, 64);
    EXPECT_EQ(reinterpret_cast<const std::byte*>(&shared->ring[5].rsp) - base, 64 + 5 * 112);
}

TEST(SringLayout, SlotCountsForOneTwoFourEightPages) {
    struct Case {
        std::size_t pages, blk, net_tx, net_rx, msg64;
    };
    // (pages*4096 - 64) / entry, rounded down to a power of two.
    const Case cases[] = {
        {1, 32, 256, 256, 32},
        {2, 64, 512, 512, 64},
        {4, 128, 1024, 1024, 128},
        {8, 256, 2048, 2048, 256},
    };
    for (const Case& c : cases) {
        const std::size_t bytes = c.pages * pv::ring_page_size;
        EXPECT_EQ((pv::ring_slots<BlkRequest, BlkResponse>(bytes)), c.blk) << c.pages;
        EXPECT_EQ((pv::ring_slots<NetTxRequest, NetTxResponse>(bytes)), c.net_tx) << c.pages;
        EXPECT_EQ((pv::ring_slots<NetRxRequest, NetRxResponse>(bytes)), c.net_rx) << c.pages;
        EXPECT_EQ(pv::ring_slots_for(bytes, 64), c.msg64) << c.pages;
    }
    EXPECT_EQ((pv::RingTypes<BlkRequest, BlkResponse, 8 * 4096>::slots), 256u);
    EXPECT_EQ(pv::ring_slots_for(4096, 4096), 0u);  // nothing fits behind the header
    EXPECT_EQ(pv::ring_slots_for(64 + 3 * 8, 8), 2u);
}

TEST(SringLayout, SharedRingInitMatchesXen) {
    PageBuffer<4096> page;
    std::memset(page.bytes, 0xa5, sizeof(page.bytes));
    auto* shared = reinterpret_cast<BlkShared*>(page.bytes);
    shared->init();
    EXPECT_EQ(shared->header.req_prod, 0u);
    EXPECT_EQ(shared->header.rsp_prod, 0u);
    EXPECT_EQ(shared->header.req_event, 1u);
    EXPECT_EQ(shared->header.rsp_event, 1u);
    for (std::size_t i = 16; i < 64; ++i) {
        EXPECT_EQ(static_cast<unsigned>(page.bytes[i]), 0u) << "pad byte " << i;
    }
    // SHARED_RING_INIT leaves the slots alone.
    EXPECT_EQ(static_cast<unsigned>(page.bytes[64]), 0xa5u);
}

TEST(SringLayout, RuntimeInitComputesXenRingSize) {
    PageBuffer<8 * 4096> pages{};
    for (std::size_t n : {1u, 2u, 4u, 8u}) {
        pv::FrontRing<BlkRequest, BlkResponse> front;
        pv::BackRing<BlkRequest, BlkResponse> back;
        ASSERT_TRUE(front.init(pages.bytes, n * 4096));
        ASSERT_TRUE(back.init(pages.bytes, n * 4096));
        EXPECT_EQ(front.size(), 32u * n);
        EXPECT_EQ(back.size(), 32u * n);
        EXPECT_EQ(front.free_requests(), 32u * n);
    }
    pv::FrontRing<BlkRequest, BlkResponse> front;
    EXPECT_FALSE(front.init(pages.bytes, 64 + 100));  // not one slot
    EXPECT_FALSE(front.init(nullptr, 4096));
    EXPECT_FALSE(front.init(pages.bytes + 4, 4096));  // misaligned for the 8-byte id
    EXPECT_EQ(alignof(pv::FrontRing<BlkRequest, BlkResponse>), 64u);
    EXPECT_EQ(alignof(pv::BackRing<BlkRequest, BlkResponse>), 64u);
}

}  // namespace
