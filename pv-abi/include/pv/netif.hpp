// Virtual network interface protocol (io/netif.h): tx/rx ring requests and responses, the
// extra-info slot and their flags. A backend copies each slot once and bounds offset + size
// by the 4 KiB page and the slot count per packet by XEN_NETIF_NR_SLOTS_MIN or its own limit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned XEN_NETIF_NR_SLOTS_MIN = 18;     // slots per packet a backend accepts
inline constexpr unsigned XEN_NETIF_MAX_TX_SIZE = 0xFFFF; // largest packet

// netif_tx_request.flags
inline constexpr std::uint16_t NETTXF_csum_blank = 1u << 0;     // L4 checksum not filled in
inline constexpr std::uint16_t NETTXF_data_validated = 1u << 1; // checksum known good
inline constexpr std::uint16_t NETTXF_more_data = 1u << 2;      // packet continues next slot
inline constexpr std::uint16_t NETTXF_extra_info = 1u << 3;     // next slot is netif_extra_info

// First slot of a packet: size = whole packet length; later slots: that fragment's length.
struct netif_tx_request {
    grant_ref_t gref;
    std::uint16_t offset;
    std::uint16_t flags; // NETTXF_*
    std::uint16_t id;    // echoed in the response
    std::uint16_t size;
};
static_assert(sizeof(netif_tx_request) == 12);
static_assert(offsetof(netif_tx_request, offset) == 4 && offsetof(netif_tx_request, flags) == 6);
static_assert(offsetof(netif_tx_request, id) == 8 && offsetof(netif_tx_request, size) == 10);

inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_NONE = 0; // never used
inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_GSO = 1;
inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_HASH = 4;
inline constexpr std::uint8_t XEN_NETIF_EXTRA_TYPE_MAX = 5;
inline constexpr std::uint8_t XEN_NETIF_EXTRA_FLAG_MORE = 1u << 0; // another extra follows
inline constexpr std::uint8_t XEN_NETIF_GSO_TYPE_NONE = 0;
inline constexpr std::uint8_t XEN_NETIF_GSO_TYPE_TCPV4 = 1;
inline constexpr std::uint8_t XEN_NETIF_GSO_TYPE_TCPV6 = 2;
// hash.type bits and hash.algorithm values (shared with the control ring).
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_TYPE_IPV4 = 1u << 0;
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP = 1u << 1;
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_TYPE_IPV6 = 1u << 2;
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP = 1u << 3;
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_ALGORITHM_NONE = 0;
inline constexpr std::uint8_t XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ = 1;

// Occupies a whole tx or rx slot; natural alignment, not packed.
struct netif_extra_info {
    std::uint8_t type;  // XEN_NETIF_EXTRA_TYPE_*
    std::uint8_t flags; // XEN_NETIF_EXTRA_FLAG_*
    union {
        struct {
            std::uint16_t size;     // MSS
            std::uint8_t type;      // XEN_NETIF_GSO_TYPE_*
            std::uint8_t pad;
            std::uint16_t features; // none defined
        } gso;
        struct {
            std::uint8_t addr[6];
        } mcast;
        struct {
            std::uint8_t type;      // XEN_NETIF_CTRL_HASH_TYPE_*
            std::uint8_t algorithm; // XEN_NETIF_CTRL_HASH_ALGORITHM_*
            std::uint8_t value[4];
        } hash;
        std::uint16_t pad[3];
    } u;
};
static_assert(sizeof(netif_extra_info) == 8 && alignof(netif_extra_info) == 2);
static_assert(offsetof(netif_extra_info, flags) == 1 && offsetof(netif_extra_info, u) == 2);
static_assert(offsetof(netif_extra_info, u.gso.type) == 4);
static_assert(offsetof(netif_extra_info, u.gso.features) == 6);
static_assert(offsetof(netif_extra_info, u.hash.value) == 4);

inline constexpr std::int16_t NETIF_RSP_DROPPED = -2;
inline constexpr std::int16_t NETIF_RSP_ERROR = -1;
inline constexpr std::int16_t NETIF_RSP_OKAY = 0;
inline constexpr std::int16_t NETIF_RSP_NULL = 1; // response slot of an extra-info request

struct netif_tx_response {
    std::uint16_t id;
    std::int16_t status; // NETIF_RSP_*
};
static_assert(sizeof(netif_tx_response) == 4 && offsetof(netif_tx_response, status) == 2);

// A page the frontend granted writable for one received packet (or fragment).
struct netif_rx_request {
    std::uint16_t id; // echoed in the response
    std::uint16_t pad;
    grant_ref_t gref;
};
static_assert(sizeof(netif_rx_request) == 8 && offsetof(netif_rx_request, gref) == 4);

// netif_rx_response.flags
inline constexpr std::uint16_t NETRXF_data_validated = 1u << 0;
inline constexpr std::uint16_t NETRXF_csum_blank = 1u << 1;
inline constexpr std::uint16_t NETRXF_more_data = 1u << 2;
inline constexpr std::uint16_t NETRXF_extra_info = 1u << 3;
inline constexpr std::uint16_t NETRXF_gso_prefix = 1u << 4; // deprecated

struct netif_rx_response {
    std::uint16_t id;
    std::uint16_t offset; // where the data starts in the page
    std::uint16_t flags;  // NETRXF_*
    std::int16_t status;  // > 0: bytes in this slot; < 0: NETIF_RSP_*
};
static_assert(sizeof(netif_rx_response) == 8);
static_assert(offsetof(netif_rx_response, offset) == 2);
static_assert(offsetof(netif_rx_response, flags) == 4);
static_assert(offsetof(netif_rx_response, status) == 6);

}  // namespace pv
