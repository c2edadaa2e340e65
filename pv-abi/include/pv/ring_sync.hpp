// The memory-ordering primitives of the shared ring and Xen's notification rule: the only
// way ring code touches a shared index, so no access can silently lose its ordering.
#pragma once

#include <cstdint>

#include "pv/ring_layout.hpp"

namespace pv::ring_sync {

// Shared indices are plain uint32_t fields of a C-layout page (the peer may be Linux's C),
// so they are accessed through the __atomic builtins rather than std::atomic members.

// Reads the peer's producer index; everything read from slots afterwards is at least as new
// (Xen's rmb() after reading *_prod, implicit in x86 TSO).
inline RingIdx load_acquire(const RingIdx& shared) { return __atomic_load_n(&shared, __ATOMIC_ACQUIRE); }

// Reads a value whose ordering is supplied by an explicit full_barrier() next to it.
inline RingIdx load_relaxed(const RingIdx& shared) { return __atomic_load_n(&shared, __ATOMIC_RELAXED); }

// Publishes our producer index after the slot writes it covers (Xen's wmb() before the
// store: the peer must see the slot contents before it sees the index move).
inline void store_release(RingIdx& shared, RingIdx value) {
    __atomic_store_n(&shared, value, __ATOMIC_RELEASE);
}

// Stores an event index; ordering comes from the full_barrier() that must follow it.
inline void store_relaxed(RingIdx& shared, RingIdx value) {
    __atomic_store_n(&shared, value, __ATOMIC_RELAXED);
}

// Xen's mb(): our store (an index or an event) becomes visible before our next load (the
// peer's event or index). Both sides pair one of these, so at least one sees the other —
// this is what makes a lost wake-up impossible. On x86 this is `lock or $0,(%rsp)`.
inline void full_barrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Copies a message out of a shared slot exactly once. The compiler barrier stops the
// compiler from re-reading the slot later in place of the copy (a double fetch the peer
// could exploit); it is what the volatile cast in Xen's RING_COPY_REQUEST achieves.
template <class T>
inline T copy_out(const T& shared) {
    T local = shared;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return local;
}

// Xen's notification rule: notify iff the peer's event index lies in (old, new], computed
// in wrapping 32-bit arithmetic. Any event value the peer writes only changes this bool.
constexpr bool event_crossed(RingIdx new_prod, RingIdx old_prod, RingIdx event) {
    return static_cast<RingIdx>(new_prod - event) < static_cast<RingIdx>(new_prod - old_prod);
}

static_assert(event_crossed(1, 0, 1));            // first request after SHARED_RING_INIT
static_assert(!event_crossed(5, 4, 1));           // peer still busy: no event wanted
static_assert(event_crossed(8, 2, 5));            // batch crosses the event
static_assert(!event_crossed(8, 2, 9));           // event lies beyond the batch
static_assert(event_crossed(3, 0xfffffffeu, 1));  // crossing the 32-bit wrap
static_assert(!event_crossed(7, 7, 7));           // empty push never notifies

}  // namespace pv::ring_sync
