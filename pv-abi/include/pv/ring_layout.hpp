// Byte layout of Xen's generic shared ring page (xen/include/public/io/ring.h) and the
// slot-count arithmetic; must never diverge by one byte from what Linux's C macros build.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pv {

// Xen's RING_IDX: free-running 32-bit indices that wrap naturally; a slot is `idx & (size-1)`.
using RingIdx = std::uint32_t;

// Ring protocols are always sized in 4 KiB units, whatever page size the OS uses (Xen's
// XEN_PAGE_SHIFT 12).
inline constexpr std::size_t ring_page_size = 4096;

// The 64 bytes in front of the slot array. Field names are Xen's so they grep against
// ring.h. Linux 6.1 declares `pad[48]` where Xen declares the 4-byte `pvt` union plus
// `__pad[44]`: same offsets, and SHARED_RING_INIT zeroes both.
struct SringHeader {
    RingIdx req_prod;   // written by the front end after its requests are in their slots
    RingIdx req_event;  // written by the back end: "notify me when req_prod passes this"
    RingIdx rsp_prod;   // written by the back end after its responses are in their slots
    RingIdx rsp_event;  // written by the front end: "notify me when rsp_prod passes this"
    union {
        struct {
            std::uint8_t smartpoll_active;
        } netif;
        struct {
            std::uint8_t msg;
        } tapif_user;
        std::uint8_t pvt_pad[4];
    } pvt;
    std::uint8_t pad[44];
};

static_assert(std::is_standard_layout_v<SringHeader> && std::is_trivially_copyable_v<SringHeader>);
static_assert(sizeof(SringHeader) == 64);
static_assert(offsetof(SringHeader, req_prod) == 0);
static_assert(offsetof(SringHeader, req_event) == 4);
static_assert(offsetof(SringHeader, rsp_prod) == 8);
static_assert(offsetof(SringHeader, rsp_event) == 12);
static_assert(offsetof(SringHeader, pvt) == 16);
static_assert(offsetof(SringHeader, pad) == 20);

// A request or response type may live in a shared page only if copying its bytes is all
// there is to it, and if it does not force the slot array away from offset 64.
template <class T>
concept RingMessage = std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> &&
                      alignof(T) <= sizeof(SringHeader);

// One slot: Xen's `union <name>_sring_entry`. A response overwrites the request it answers.
template <RingMessage Req, RingMessage Rsp>
union SringEntry {
    Req req;
    Rsp rsp;
};

// Offset of `ring[0]` in Xen's struct (offsetof(struct <name>_sring, ring)).
inline constexpr std::size_t sring_slots_offset = sizeof(SringHeader);

// Xen's __CONST_RING_SIZE / __RING_SIZE: as many entries as fit in `ring_bytes` after the
// header, rounded down to a power of two so an index can be masked with (size - 1).
// Zero means "does not fit", which every user must reject.
constexpr RingIdx ring_slots_for(std::size_t ring_bytes, std::size_t entry_bytes) {
    if (entry_bytes == 0 || ring_bytes < sring_slots_offset + entry_bytes) {
        return 0;
    }
    std::size_t fit = (ring_bytes - sring_slots_offset) / entry_bytes;
    // Xen's __RD32 rounds a 32-bit value; larger rings cannot be described by RING_IDX.
    if (fit > 0x80000000u) {
        fit = 0x80000000u;
    }
    return static_cast<RingIdx>(std::bit_floor(fit));
}

template <RingMessage Req, RingMessage Rsp>
constexpr RingIdx ring_slots(std::size_t ring_bytes) {
    return ring_slots_for(ring_bytes, sizeof(SringEntry<Req, Rsp>));
}

// SHARED_RING_INIT on a header alone, for rings whose size is only known at run time
// (ring-page-order negotiated through xenstore). Done once, by the front end, before the
// page is granted; the slots are left as they are.
inline void shared_ring_init(SringHeader& header) {
    header = SringHeader{};
    header.req_prod = 0;
    header.rsp_prod = 0;
    header.req_event = 1;
    header.rsp_event = 1;
}

// The whole shared area of `RingBytes` bytes (one page or N pages) as one typed object:
// what the front end allocates and grants, and what the layout tests pin down.
template <RingMessage Req, RingMessage Rsp, std::size_t RingBytes = ring_page_size>
struct SharedRing {
    using Entry = SringEntry<Req, Rsp>;
    static constexpr RingIdx slots = ring_slots<Req, Rsp>(RingBytes);
    static_assert(slots > 0, "a ring page must hold at least one slot");

    static constexpr std::size_t bytes = RingBytes;

    // The tail the power-of-two rounding leaves after `ring` is part of the shared area but
    // not of this type: nothing may ever touch it.
    SringHeader header;
    Entry ring[slots];

    // SHARED_RING_INIT: done once by the front end before it grants the page.
    void init() { shared_ring_init(header); }
};

// Pinning the template itself: the slot array starts exactly where Xen's `ring[1]` does.
namespace ring_layout_check {
struct Small {
    std::uint64_t a;
};
using Page = SharedRing<Small, Small>;
static_assert(std::is_standard_layout_v<Page>);
static_assert(offsetof(Page, ring) == sring_slots_offset);
static_assert(sizeof(Page) == sring_slots_offset + Page::slots * sizeof(Small));
static_assert(sizeof(Page) <= Page::bytes);
}  // namespace ring_layout_check

// Slot counts real drivers rely on (x86-64 sizes of the structures in io/blkif.h and
// io/netif.h): blkif 112-byte request / 16-byte response, netif tx 12/4, netif rx 8/8.
static_assert(ring_slots_for(ring_page_size, 112) == 32);       // BLK_RING_SIZE, 1 page
static_assert(ring_slots_for(2 * ring_page_size, 112) == 64);   // ring-page-order 1
static_assert(ring_slots_for(4 * ring_page_size, 112) == 128);  // ring-page-order 2
static_assert(ring_slots_for(8 * ring_page_size, 112) == 256);  // ring-page-order 3
static_assert(ring_slots_for(ring_page_size, 12) == 256);       // NET_TX_RING_SIZE
static_assert(ring_slots_for(ring_page_size, 8) == 256);        // NET_RX_RING_SIZE
static_assert(ring_slots_for(ring_page_size, 64) == 32);        // 64-byte entries: 63 fit
static_assert(ring_slots_for(ring_page_size, 4033) == 0);

}  // namespace pv
