// Basic scalar types, guest handles, reserved domain ids and page constants of the Xen
// x86-64 PV ABI (xen.h, arch-x86/xen.h, grant_table.h, event_channel.h). Guest pointers are
// never host pointers here: a guest_handle only carries the guest's virtual address.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pv {

using domid_t = std::uint16_t;        // domain id; ids >= DOMID_FIRST_RESERVED are special
using evtchn_port_t = std::uint32_t;  // event-channel port number (0 is never allocated)
using grant_ref_t = std::uint32_t;    // index into the granting domain's grant table
using grant_handle_t = std::uint32_t; // maptrack handle returned by GNTTABOP_map_grant_ref
using xen_pfn_t = std::uint64_t;      // frame number: MFN for a PV guest (gmfn == mfn)
using xen_ulong_t = std::uint64_t;    // `unsigned long` of the LP64 x86-64 ABI
using xen_callback_t = std::uint64_t; // guest-virtual address of a callback entry point

// XEN_GUEST_HANDLE(T): on x86 a struct wrapping one pointer. The hypervisor must treat `p`
// as an untrusted guest-virtual address and reach it only through the guarded copy path.
template <class T>
struct guest_handle {
    std::uint64_t p;
};
static_assert(sizeof(guest_handle<char>) == 8 && alignof(guest_handle<char>) == 8);

// 16-byte domain handle (UUID) as returned by XENVER_guest_handle.
using xen_domain_handle_t = std::uint8_t[16];

// Reserved domain ids (xen.h). None of them is ever a real domain.
inline constexpr domid_t DOMID_FIRST_RESERVED = 0x7FF0;
inline constexpr domid_t DOMID_SELF = 0x7FF0;    // "the calling domain"
inline constexpr domid_t DOMID_IO = 0x7FF1;      // owner of MMIO frames
inline constexpr domid_t DOMID_XEN = 0x7FF2;     // owner of hypervisor frames (shared_info..)
inline constexpr domid_t DOMID_COW = 0x7FF3;     // owner of shared copy-on-write frames
inline constexpr domid_t DOMID_INVALID = 0x7FF4; // frames with unknown owner
inline constexpr domid_t DOMID_ANY = 0x7FF5;     // wildcard (e.g. xenstore permissions)
inline constexpr domid_t DOMID_IDLE = 0x7FFF;    // the idle domain
inline constexpr domid_t DOMID_MASK = 0x7FFF;    // valid domain id bits

// Guest-visible page size: always 4 KiB for x86 PV (Xen's XEN_PAGE_SHIFT).
inline constexpr unsigned PAGE_SHIFT = 12;
inline constexpr std::size_t PAGE_SIZE = std::size_t{1} << PAGE_SHIFT;

// True for ids that name a real (non-reserved) domain.
constexpr bool is_real_domid(domid_t d) { return d < DOMID_FIRST_RESERVED; }

}  // namespace pv
