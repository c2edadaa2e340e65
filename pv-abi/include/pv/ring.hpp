// pv::ring — Xen's generic shared ring (io/ring.h) as a C++ template, byte-compatible with
// Linux's xen-blkfront/netfront; it must never let a hostile peer make us touch memory
// outside the slot array or spin without bound. Freestanding: no allocation, no exceptions.
//
// How a ring is used (the protocol is Xen's; see xen-pv-abi.md section 7.1):
//
//   front end                                   back end
//   ---------                                   --------
//   page.init()              (SHARED_RING_INIT)
//   front.init(page)         (FRONT_RING_INIT)  back.init(page)        (BACK_RING_INIT)
//   front.put_request(r) ...                    while (back.take_request(r)) {
//   if (front.push_requests_and_check_notify())     validate the copy r, do the work,
//       send event                                  back.put_response(...) }
//                                               if (back.push_responses_and_check_notify())
//                                                   send event
//                                               if (!back.final_check_for_requests())
//                                                   sleep until event (or tear down if
//                                                   back.ring_corrupt())
//
// Indices are free-running 32-bit counters; a slot is always `idx & (size - 1)`, with the
// size computed from our own byte count, so no index the peer writes can reach outside
// the array. Every producer index read from the page is checked against what the peer
// could legitimately have produced; a violation makes ring_corrupt() true (sticky), after
// which every operation is a bounded no-op until the ring is attached again.
#pragma once

#include "pv/ring_back.hpp"
#include "pv/ring_front.hpp"
#include "pv/ring_layout.hpp"
#include "pv/ring_sync.hpp"

namespace pv {

// Xen's DEFINE_RING_TYPES(name, req, rsp) for a ring of `RingBytes` bytes.
template <RingMessage Req, RingMessage Rsp, std::size_t RingBytes = ring_page_size>
struct RingTypes {
    using Entry = SringEntry<Req, Rsp>;
    using Shared = SharedRing<Req, Rsp, RingBytes>;
    using Front = FrontRing<Req, Rsp>;
    using Back = BackRing<Req, Rsp>;
    static constexpr RingIdx slots = Shared::slots;
};

}  // namespace pv
