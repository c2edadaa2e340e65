// Virtual block device protocol (io/blkif.h, io/protocols.h): ring requests/responses and
// the xenstore constants blkfront/blkback exchange. A backend copies each request out of
// the shared ring once and validates nr_segments, sector ranges and grant refs on the copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

using blkif_vdev_t = std::uint16_t;   // virtual device number (xvda = 51712)
using blkif_sector_t = std::uint64_t; // always in 512-byte units, whatever sector-size says

// Written by the frontend to its `protocol` key; we only speak the x86-64 layout.
inline constexpr char XEN_IO_PROTO_ABI_X86_64[] = "x86_64-abi";

inline constexpr std::uint8_t BLKIF_OP_READ = 0;
inline constexpr std::uint8_t BLKIF_OP_WRITE = 1;
inline constexpr std::uint8_t BLKIF_OP_WRITE_BARRIER = 2;   // only with feature-barrier
inline constexpr std::uint8_t BLKIF_OP_FLUSH_DISKCACHE = 3; // only with feature-flush-cache
inline constexpr std::uint8_t BLKIF_OP_RESERVED_1 = 4;      // never use
inline constexpr std::uint8_t BLKIF_OP_DISCARD = 5;         // blkif_request_discard
inline constexpr std::uint8_t BLKIF_OP_INDIRECT = 6;        // blkif_request_indirect

inline constexpr unsigned BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
inline constexpr unsigned BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;

// One granted 4 KiB page: sectors first_sect..last_sect (inclusive, 0..7) are transferred.
struct blkif_request_segment {
    grant_ref_t gref;
    std::uint8_t first_sect, last_sect;
    std::uint8_t pad[2]; // (implicit in Xen)
};
static_assert(sizeof(blkif_request_segment) == 8);
static_assert(offsetof(blkif_request_segment, first_sect) == 4);
static_assert(offsetof(blkif_request_segment, last_sect) == 5);

// Segment descriptors per indirect page (Linux: XEN_PAGE_SIZE / sizeof(segment)).
inline constexpr unsigned BLKIF_SEGS_PER_INDIRECT_FRAME = 4096 / sizeof(blkif_request_segment);

struct blkif_request {
    std::uint8_t operation;     // BLKIF_OP_*
    std::uint8_t nr_segments;   // 1..11 for read/write, 0 allowed for flush
    blkif_vdev_t handle;        // informational
    std::uint32_t pad;          // (implicit in Xen)
    std::uint64_t id;           // opaque, echoed in the response
    blkif_sector_t sector_number;
    blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
static_assert(sizeof(blkif_request) == 112 && alignof(blkif_request) == 8);
static_assert(offsetof(blkif_request, nr_segments) == 1 && offsetof(blkif_request, handle) == 2);
static_assert(offsetof(blkif_request, id) == 8 && offsetof(blkif_request, sector_number) == 16);
static_assert(offsetof(blkif_request, seg) == 24);

inline constexpr std::uint8_t BLKIF_DISCARD_SECURE = 1u << 0; // only if discard-secure=1

struct blkif_request_discard {
    std::uint8_t operation; // BLKIF_OP_DISCARD
    std::uint8_t flag;      // BLKIF_DISCARD_SECURE or 0
    blkif_vdev_t handle;
    std::uint32_t pad;      // (implicit in Xen)
    std::uint64_t id;
    blkif_sector_t sector_number;
    std::uint64_t nr_sectors;
};
static_assert(sizeof(blkif_request_discard) == 32);
static_assert(offsetof(blkif_request_discard, flag) == 1);
static_assert(offsetof(blkif_request_discard, handle) == 2);
static_assert(offsetof(blkif_request_discard, id) == 8);
static_assert(offsetof(blkif_request_discard, sector_number) == 16);
static_assert(offsetof(blkif_request_discard, nr_sectors) == 24);

// Only after the backend advertised feature-max-indirect-segments.
struct blkif_request_indirect {
    std::uint8_t operation;    // BLKIF_OP_INDIRECT
    std::uint8_t indirect_op;  // BLKIF_OP_READ / BLKIF_OP_WRITE
    std::uint16_t nr_segments; // <= feature-max-indirect-segments
    std::uint32_t pad0;        // (implicit in Xen)
    std::uint64_t id;
    blkif_sector_t sector_number;
    blkif_vdev_t handle;
    std::uint16_t pad1;        // (implicit in Xen)
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; // pages of segments
    std::uint32_t pad2;        // (implicit in Xen)
};
static_assert(sizeof(blkif_request_indirect) == 64);
static_assert(offsetof(blkif_request_indirect, indirect_op) == 1);
static_assert(offsetof(blkif_request_indirect, nr_segments) == 2);
static_assert(offsetof(blkif_request_indirect, id) == 8);
static_assert(offsetof(blkif_request_indirect, sector_number) == 16);
static_assert(offsetof(blkif_request_indirect, handle) == 24);
static_assert(offsetof(blkif_request_indirect, indirect_grefs) == 28);

inline constexpr std::int16_t BLKIF_RSP_EOPNOTSUPP = -2; // e.g. unsupported barrier
inline constexpr std::int16_t BLKIF_RSP_ERROR = -1;
inline constexpr std::int16_t BLKIF_RSP_OKAY = 0;

// Linux requires `operation` to echo the request's (for INDIRECT: its indirect_op).
struct blkif_response {
    std::uint64_t id;
    std::uint8_t operation;
    std::uint8_t pad0;     // (implicit in Xen)
    std::int16_t status;   // BLKIF_RSP_*
    std::uint32_t pad1;    // (implicit in Xen)
};
static_assert(sizeof(blkif_response) == 16);
static_assert(offsetof(blkif_response, operation) == 8 && offsetof(blkif_response, status) == 10);

// Backend `info` key bits.
inline constexpr std::uint32_t VDISK_CDROM = 0x1;
inline constexpr std::uint32_t VDISK_REMOVABLE = 0x2;
inline constexpr std::uint32_t VDISK_READONLY = 0x4;

}  // namespace pv
