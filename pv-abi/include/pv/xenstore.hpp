// XenStore wire protocol (io/xs_wire.h): message header and types, the shared ring page at
// start_info.store_mfn, and the error-name table. Everything in the page and every message
// is hostile input for xenstored: lengths are checked against XENSTORE_PAYLOAD_MAX first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "errno.hpp"

namespace pv {

enum xsd_sockmsg_type : std::uint32_t {
    XS_CONTROL = 0,           // debug/control strings (privileged); alias XS_DEBUG
    XS_DIRECTORY = 1,         // path\0 -> child names, each NUL-terminated
    XS_READ = 2,              // path\0 -> raw value
    XS_GET_PERMS = 3,         // path\0 -> permission strings
    XS_WATCH = 4,             // path\0token\0 -> "OK\0"; fires once at once
    XS_UNWATCH = 5,           // path\0token\0 -> "OK\0"
    XS_TRANSACTION_START = 6, // \0 -> decimal transaction id
    XS_TRANSACTION_END = 7,   // "T\0" commit / "F\0" abort; EAGAIN on conflict
    XS_INTRODUCE = 8,         // domid\0mfn\0port\0 (privileged)
    XS_RELEASE = 9,           // domid\0 (privileged)
    XS_GET_DOMAIN_PATH = 10,  // domid\0 -> "/local/domain/<domid>\0"
    XS_WRITE = 11,            // path\0value (value not NUL-terminated)
    XS_MKDIR = 12,
    XS_RM = 13,               // recursive
    XS_SET_PERMS = 14,        // path\0perm\0perm\0...
    XS_WATCH_EVENT = 15,      // server -> client only: path\0token\0
    XS_ERROR = 16,            // reply payload is an error name, e.g. "ENOENT\0"
    XS_IS_DOMAIN_INTRODUCED = 17,
    XS_RESUME = 18,
    XS_SET_TARGET = 19,
    // 20 was XS_RESTRICT, removed.
    XS_RESET_WATCHES = 21,
    XS_DIRECTORY_PART = 22,   // path\0offset\0 -> generation + part of a large directory
    XS_GET_FEATURE = 23,
    XS_SET_FEATURE = 24,
    XS_GET_QUOTA = 25,
    XS_SET_QUOTA = 26,
    XS_TYPE_COUNT = 27,       // number of valid types
    XS_INVALID = 0xffff,      // guaranteed never to be a valid type
};
inline constexpr xsd_sockmsg_type XS_DEBUG = XS_CONTROL;

// Fields of an XS_WATCH_EVENT payload.
enum xs_watch_type : std::uint32_t { XS_WATCH_PATH = 0, XS_WATCH_TOKEN = 1 };

// Message header; `len` payload bytes follow.
struct xsd_sockmsg {
    std::uint32_t type;   // xsd_sockmsg_type
    std::uint32_t req_id; // echoed in the reply; 0 in watch events
    std::uint32_t tx_id;  // transaction id, 0 = none
    std::uint32_t len;    // payload bytes, <= XENSTORE_PAYLOAD_MAX
};
static_assert(sizeof(xsd_sockmsg) == 16);
static_assert(offsetof(xsd_sockmsg, req_id) == 4 && offsetof(xsd_sockmsg, tx_id) == 8);
static_assert(offsetof(xsd_sockmsg, len) == 12);

inline constexpr std::size_t XENSTORE_PAYLOAD_MAX = 4096;  // violating it is fatal
inline constexpr std::size_t XENSTORE_ABS_PATH_MAX = 3072; // violating it gets an error
inline constexpr std::size_t XENSTORE_REL_PATH_MAX = 2048;

// Shared ring page: two byte streams, indices free-running, masked with RING_SIZE - 1.
inline constexpr std::size_t XENSTORE_RING_SIZE = 1024;
using XENSTORE_RING_IDX = std::uint32_t;
constexpr XENSTORE_RING_IDX MASK_XENSTORE_IDX(XENSTORE_RING_IDX idx) {
    return idx & (XENSTORE_RING_SIZE - 1);
}

inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_ERROR = 2;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_WATCHDEPTH = 4;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_DOMID_ANY = 8;
inline constexpr std::uint32_t XENSTORE_CONNECTED = 0; // steady state
inline constexpr std::uint32_t XENSTORE_RECONNECT = 1; // reconnect in progress
inline constexpr std::uint32_t XENSTORE_ERROR_NONE = 0;
inline constexpr std::uint32_t XENSTORE_ERROR_COMM = 1;
inline constexpr std::uint32_t XENSTORE_ERROR_RINGIDX = 2;
inline constexpr std::uint32_t XENSTORE_ERROR_PROTO = 3;

struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE]; // guest -> xenstored
    char rsp[XENSTORE_RING_SIZE]; // xenstored -> guest (replies and watch events)
    XENSTORE_RING_IDX req_cons, req_prod; // cons written by xenstored, prod by the guest
    XENSTORE_RING_IDX rsp_cons, rsp_prod; // cons written by the guest, prod by xenstored
    std::uint32_t server_features;        // XENSTORE_SERVER_FEATURE_*
    std::uint32_t connection;             // XENSTORE_CONNECTED / _RECONNECT
    std::uint32_t error;                  // XENSTORE_ERROR_*
    std::uint32_t evtchn_port;            // dom0less only; 0 = use XS_INTRODUCE's port
};
static_assert(sizeof(xenstore_domain_interface) == 2080);
static_assert(offsetof(xenstore_domain_interface, rsp) == 1024);
static_assert(offsetof(xenstore_domain_interface, req_cons) == 2048);
static_assert(offsetof(xenstore_domain_interface, req_prod) == 2052);
static_assert(offsetof(xenstore_domain_interface, rsp_cons) == 2056);
static_assert(offsetof(xenstore_domain_interface, rsp_prod) == 2060);
static_assert(offsetof(xenstore_domain_interface, server_features) == 2064);
static_assert(offsetof(xenstore_domain_interface, connection) == 2068);
static_assert(offsetof(xenstore_domain_interface, error) == 2072);
static_assert(offsetof(xenstore_domain_interface, evtchn_port) == 2076);

// XS_ERROR payload names, in Xen's order (new ones are only ever appended). A client maps
// an unknown name to EINVAL.
struct xsd_errors {
    int errnum;
    const char* errstring;
};
inline constexpr std::array<xsd_errors, 16> xsd_error_table = {{
    {XEN_EINVAL, "EINVAL"},
    {XEN_EACCES, "EACCES"},
    {XEN_EEXIST, "EEXIST"},
    {XEN_EISDIR, "EISDIR"},
    {XEN_ENOENT, "ENOENT"},
    {XEN_ENOMEM, "ENOMEM"},
    {XEN_ENOSPC, "ENOSPC"},
    {XEN_EIO, "EIO"},
    {XEN_ENOTEMPTY, "ENOTEMPTY"},
    {XEN_ENOSYS, "ENOSYS"},
    {XEN_EROFS, "EROFS"},
    {XEN_EBUSY, "EBUSY"},
    {XEN_EAGAIN, "EAGAIN"},
    {XEN_EISCONN, "EISCONN"},
    {XEN_E2BIG, "E2BIG"},
    {XEN_EPERM, "EPERM"},
}};

}  // namespace pv
