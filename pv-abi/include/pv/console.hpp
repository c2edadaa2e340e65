// PV console ring page (io/console.h) at start_info.console.domU.mfn. Indices are
// free-running u32; a reader must check prod - cons <= sizeof(buffer) before copying.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pv {

using XENCONS_RING_IDX = std::uint32_t;

inline constexpr std::uint8_t XENCONSOLE_CONNECTED = 0;    // steady state
inline constexpr std::uint8_t XENCONSOLE_DISCONNECTED = 1; // builder's initial value

struct xencons_interface {
    char in[1024];  // backend -> guest (keyboard input)
    char out[2048]; // guest -> backend (output)
    XENCONS_RING_IDX in_cons, in_prod;   // in_cons written by the guest, in_prod by backend
    XENCONS_RING_IDX out_cons, out_prod; // out_cons written by backend, out_prod by guest
    std::uint8_t connection;             // XENCONSOLE_*; Linux ignores it
};
static_assert(sizeof(xencons_interface) == 3092);
static_assert(offsetof(xencons_interface, out) == 1024);
static_assert(offsetof(xencons_interface, in_cons) == 3072);
static_assert(offsetof(xencons_interface, in_prod) == 3076);
static_assert(offsetof(xencons_interface, out_cons) == 3080);
static_assert(offsetof(xencons_interface, out_prod) == 3084);
static_assert(offsetof(xencons_interface, connection) == 3088);

// MASK_XENCONS_IDX(idx, ring): both rings are powers of two.
template <std::size_t N>
constexpr XENCONS_RING_IDX MASK_XENCONS_IDX(XENCONS_RING_IDX idx, const char (&)[N]) {
    static_assert((N & (N - 1)) == 0, "console rings are powers of two");
    return idx & static_cast<XENCONS_RING_IDX>(N - 1);
}

}  // namespace pv
