// Run-time layout checks for the shared-page protocols (xenstore, console, blkif, netif)
// and the packed E820 entry, against Xen's x86-64 offsets.
#include <pv/abi.hpp>

#include <bit>

#include "test_support.hpp"

namespace {

TEST(pv_abi_layout_rings, XenstorePage) {
    EXPECT_EQ(sizeof(pv::xsd_sockmsg), 16u);
    PV_PROBE(pv::xsd_sockmsg, req_id, 4);
    PV_PROBE(pv::xsd_sockmsg, tx_id, 8);
    PV_PROBE(pv::xsd_sockmsg, len, 12);
    EXPECT_EQ(sizeof(pv::xenstore_domain_interface), 2080u);
    PV_PROBE(pv::xenstore_domain_interface, rsp, 1024);
    PV_PROBE(pv::xenstore_domain_interface, req_cons, 2048);
    PV_PROBE(pv::xenstore_domain_interface, req_prod, 2052);
    PV_PROBE(pv::xenstore_domain_interface, rsp_cons, 2056);
    PV_PROBE(pv::xenstore_domain_interface, rsp_prod, 2060);
    PV_PROBE(pv::xenstore_domain_interface, server_features, 2064);
    PV_PROBE(pv::xenstore_domain_interface, connection, 2068);
    PV_PROBE(pv::xenstore_domain_interface, error, 2072);
    PV_PROBE(pv::xenstore_domain_interface, evtchn_port, 2076);
    EXPECT_EQ(pv::MASK_XENSTORE_IDX(1024u + 5u), 5u);
}

TEST(pv_abi_layout_rings, ConsolePage) {
    EXPECT_EQ(sizeof(pv::xencons_interface), 3092u);
    PV_PROBE(pv::xencons_interface, out, 1024);
    PV_PROBE(pv::xencons_interface, in_cons, 3072);
    PV_PROBE(pv::xencons_interface, in_prod, 3076);
    PV_PROBE(pv::xencons_interface, out_cons, 3080);
    PV_PROBE(pv::xencons_interface, out_prod, 3084);
    PV_PROBE(pv::xencons_interface, connection, 3088);
    pv::xencons_interface c{};
    EXPECT_EQ(pv::MASK_XENCONS_IDX(2048u + 7u, c.out), 7u);
    EXPECT_EQ(pv::MASK_XENCONS_IDX(1024u + 7u, c.in), 7u);
}

TEST(pv_abi_layout_rings, Blkif) {
    EXPECT_EQ(sizeof(pv::blkif_request_segment), 8u);
    PV_PROBE(pv::blkif_request_segment, first_sect, 4);
    PV_PROBE(pv::blkif_request_segment, last_sect, 5);
    EXPECT_EQ(sizeof(pv::blkif_request), 112u);
    PV_PROBE(pv::blkif_request, nr_segments, 1);
    PV_PROBE(pv::blkif_request, handle, 2);
    PV_PROBE(pv::blkif_request, id, 8);
    PV_PROBE(pv::blkif_request, sector_number, 16);
    PV_PROBE(pv::blkif_request, seg[0].gref, 24);
    PV_PROBE(pv::blkif_request, seg[10].last_sect, 24 + 10 * 8 + 5);
    EXPECT_EQ(sizeof(pv::blkif_request_discard), 32u);
    PV_PROBE(pv::blkif_request_discard, flag, 1);
    PV_PROBE(pv::blkif_request_discard, nr_sectors, 24);
    EXPECT_EQ(sizeof(pv::blkif_request_indirect), 64u);
    PV_PROBE(pv::blkif_request_indirect, indirect_op, 1);
    PV_PROBE(pv::blkif_request_indirect, nr_segments, 2);
    PV_PROBE(pv::blkif_request_indirect, handle, 24);
    PV_PROBE(pv::blkif_request_indirect, indirect_grefs, 28);
    EXPECT_EQ(sizeof(pv::blkif_response), 16u);
    PV_PROBE(pv::blkif_response, operation, 8);
    PV_PROBE(pv::blkif_response, status, 10);
    // 32 request slots fit a one-page ring (64-byte header, power-of-two rounding).
    EXPECT_EQ(std::bit_floor((4096u - 64u) / sizeof(pv::blkif_request)), 32u);
    EXPECT_EQ(pv::BLKIF_SEGS_PER_INDIRECT_FRAME, 512u);
}

TEST(pv_abi_layout_rings, Netif) {
    EXPECT_EQ(sizeof(pv::netif_tx_request), 12u);
    PV_PROBE(pv::netif_tx_request, offset, 4);
    PV_PROBE(pv::netif_tx_request, flags, 6);
    PV_PROBE(pv::netif_tx_request, id, 8);
    PV_PROBE(pv::netif_tx_request, size, 10);
    EXPECT_EQ(sizeof(pv::netif_tx_response), 4u);
    PV_PROBE(pv::netif_tx_response, status, 2);
    EXPECT_EQ(sizeof(pv::netif_rx_request), 8u);
    PV_PROBE(pv::netif_rx_request, gref, 4);
    EXPECT_EQ(sizeof(pv::netif_rx_response), 8u);
    PV_PROBE(pv::netif_rx_response, offset, 2);
    PV_PROBE(pv::netif_rx_response, flags, 4);
    PV_PROBE(pv::netif_rx_response, status, 6);
    EXPECT_EQ(sizeof(pv::netif_extra_info), 8u);
    PV_PROBE(pv::netif_extra_info, flags, 1);
    PV_PROBE(pv::netif_extra_info, u.gso.size, 2);
    PV_PROBE(pv::netif_extra_info, u.gso.type, 4);
    PV_PROBE(pv::netif_extra_info, u.gso.features, 6);
    PV_PROBE(pv::netif_extra_info, u.mcast.addr, 2);
    PV_PROBE(pv::netif_extra_info, u.hash.algorithm, 3);
    PV_PROBE(pv::netif_extra_info, u.hash.value, 4);
    // An extra-info slot must fit in both tx (12-byte) and rx (8-byte) request slots.
    EXPECT_LE(sizeof(pv::netif_extra_info), sizeof(pv::netif_rx_request));
}

TEST(pv_abi_layout_rings, E820EntryIsPacked) {
    pv::e820entry map[2]{};
    EXPECT_EQ(sizeof(map), 40u);
    map[1].addr = 0x100000;
    map[1].size = 0x0f00000;
    map[1].type = pv::E820_RAM;
    EXPECT_EQ(pv_test::read_le(map, 20, 8), 0x100000u);
    EXPECT_EQ(pv_test::read_le(map, 28, 8), 0x0f00000u);
    EXPECT_EQ(pv_test::read_le(map, 36, 4), 1u);
}

}  // namespace
