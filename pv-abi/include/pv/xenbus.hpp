// XenBus device states (io/xenbus.h), written as decimal strings to <dir>/state by both
// ends of a split driver. A value outside 0..8 read from xenstore is a protocol error.
#pragma once

#include <cstdint>

namespace pv {

enum xenbus_state : std::uint32_t {
    XenbusStateUnknown = 0,
    XenbusStateInitialising = 1,  // toolstack creates both nodes in this state
    XenbusStateInitWait = 2,      // early init done, waiting for the peer's details
    XenbusStateInitialised = 3,   // waiting for the peer to connect
    XenbusStateConnected = 4,
    XenbusStateClosing = 5,       // closing after an error or unplug
    XenbusStateClosed = 6,
    XenbusStateReconfiguring = 7,
    XenbusStateReconfigured = 8,
};
using XenbusState = xenbus_state;

}  // namespace pv
