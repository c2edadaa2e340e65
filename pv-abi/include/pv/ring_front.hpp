// The front end's view of a Xen shared ring: produces requests, consumes responses. It must
// never index outside the slot array or accept more responses than it has requests out,
// whatever the back end writes into the shared page.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pv/ring_layout.hpp"
#include "pv/ring_sync.hpp"

namespace pv {

// Xen's <name>_front_ring plus what a hostile back end forces us to remember ourselves.
// Owned by one thread. alignas(64): the front's private indices never share a cache line
// with the back's view or the shared header (the SPSCQueue trick; the page layout is fixed).
template <RingMessage Req, RingMessage Rsp>
class alignas(64) FrontRing {
public:
    using Entry = SringEntry<Req, Rsp>;

    // FRONT_RING_INIT over `ring_bytes` of shared memory; false if no slot fits or the
    // memory is misaligned. SharedRing::init() (SHARED_RING_INIT) is a separate step.
    [[nodiscard]] bool init(void* shared, std::size_t ring_bytes) { return attach(shared, ring_bytes, 0); }

    template <std::size_t Bytes>
    void init(SharedRing<Req, Rsp, Bytes>& ring) {
        static_cast<void>(attach(&ring, Bytes, 0));
    }

    // Xen's FRONT_RING_ATTACH: resume at index `start`, trusting only our own number.
    [[nodiscard]] bool attach(void* shared, std::size_t ring_bytes, RingIdx start) {
        const auto addr = reinterpret_cast<std::uintptr_t>(shared);
        const RingIdx slots = ring_slots<Req, Rsp>(ring_bytes);
        if (shared == nullptr || slots == 0 || addr % alignof(SringHeader) != 0 || addr % alignof(Entry) != 0) {
            return false;
        }
        sring_ = static_cast<SringHeader*>(shared);
        slots_ = reinterpret_cast<Entry*>(static_cast<std::byte*>(shared) + sring_slots_offset);
        size_ = slots;
        req_prod_pvt_ = req_published_ = rsp_cons_ = rsp_prod_seen_ = start;
        corrupt_ = false;
        return true;
    }

    RingIdx size() const { return size_; }
    bool ring_corrupt() const { return corrupt_; }
    RingIdx req_prod_pvt() const { return req_prod_pvt_; }
    RingIdx rsp_cons() const { return rsp_cons_; }

    // RING_FREE_REQUESTS / RING_FULL: private indices only, nothing the peer can change.
    RingIdx free_requests() const { return corrupt_ ? 0 : size_ - (req_prod_pvt_ - rsp_cons_); }
    bool full() const { return free_requests() == 0; }

    // RING_GET_REQUEST(r, r->req_prod_pvt++): the slot to fill, or nullptr when full. The
    // request becomes visible to the back end only at the next push.
    Req* start_request() {
        if (free_requests() == 0) {
            return nullptr;
        }
        return &slots_[req_prod_pvt_++ & (size_ - 1)].req;
    }

    [[nodiscard]] bool put_request(const Req& req) {
        Req* slot = start_request();
        if (slot == nullptr) {
            return false;
        }
        *slot = req;
        return true;
    }

    // Batch producer: calls fill(Req& slot) for up to `max` free slots; returns how many.
    template <class Fill>
    RingIdx produce_requests(RingIdx max, Fill&& fill) {
        const RingIdx free = free_requests();
        const RingIdx n = max < free ? max : free;
        for (RingIdx i = 0; i < n; ++i) {
            fill(slots_[(req_prod_pvt_ + i) & (size_ - 1)].req);
        }
        req_prod_pvt_ += n;
        return n;
    }

    // RING_PUSH_REQUESTS: publish without asking whether the back end wants an event.
    void push_requests() {
        // release: the back end sees the request slots before it sees req_prod move.
        ring_sync::store_release(sring_->req_prod, req_prod_pvt_);
        req_published_ = req_prod_pvt_;
    }

    // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: true iff the back end must be sent an event.
    // `old` is our own last published value, never re-read from the page.
    [[nodiscard]] bool push_requests_and_check_notify() {
        const RingIdx old_prod = req_published_;
        push_requests();
        // mb: req_prod is visible before we read req_event, pairing with the barrier in the
        // back end's final check — so either it sees our requests or we see its event.
        ring_sync::full_barrier();
        return ring_sync::event_crossed(req_prod_pvt_, old_prod, ring_sync::load_relaxed(sring_->req_event));
    }

    // RING_HAS_UNCONSUMED_RESPONSES, validated. Re-reads the shared rsp_prod only when the
    // count we already validated is used up, so a busy front end leaves the header line alone.
    [[nodiscard]] RingIdx unconsumed_responses() {
        if (corrupt_) {
            return 0;
        }
        if (rsp_prod_seen_ != rsp_cons_) {
            return rsp_prod_seen_ - rsp_cons_;
        }
        return reload_rsp_prod();
    }

    // RING_COPY_RESPONSE + rsp_cons++: the response is copied out of the slot exactly once.
    [[nodiscard]] bool take_response(Rsp& out) {
        if (unconsumed_responses() == 0) {
            return false;
        }
        out = ring_sync::copy_out(slots_[rsp_cons_++ & (size_ - 1)].rsp);
        return true;
    }

    // Batch consumer: calls f(const Rsp& copy) for up to `max` responses; returns how many.
    template <class F>
    RingIdx consume_responses(RingIdx max, F&& f) {
        const RingIdx avail = available_up_to(max);
        const RingIdx n = max < avail ? max : avail;
        for (RingIdx i = 0; i < n; ++i) {
            const Rsp rsp = ring_sync::copy_out(slots_[rsp_cons_++ & (size_ - 1)].rsp);
            f(rsp);
        }
        return n;
    }

    // RING_FINAL_CHECK_FOR_RESPONSES: true means "work arrived, don't sleep". False means
    // sleep until an event — unless ring_corrupt(), when the caller must tear down instead.
    [[nodiscard]] bool final_check_for_responses() {
        if (unconsumed_responses() != 0) {
            return true;
        }
        if (corrupt_) {
            return false;
        }
        ring_sync::store_relaxed(sring_->rsp_event, rsp_cons_ + 1);
        // mb: rsp_event is visible before we re-read rsp_prod, pairing with the barrier in
        // the back end's push-and-check — so a response pushed now is seen or notified.
        ring_sync::full_barrier();
        return reload_rsp_prod() != 0;
    }

    // RING_RESPONSE_PROD_OVERFLOW, tightened: a back end can only answer requests we sent,
    // so its producer must lie in [rsp_cons, req_prod_pvt]. (Reloads also reject a producer
    // that moved back behind the last value we validated.)
    bool response_prod_overflow(RingIdx prod) const {
        return static_cast<RingIdx>(prod - rsp_cons_) > static_cast<RingIdx>(req_prod_pvt_ - rsp_cons_);
    }

    const Entry* slot_array() const { return slots_; }

private:
    // For a batch of `max`: the cached count if it covers the batch, else a fresh look at
    // the shared index, so a batch is never cut short by a stale cache.
    RingIdx available_up_to(RingIdx max) {
        if (corrupt_) {
            return 0;
        }
        const RingIdx cached = rsp_prod_seen_ - rsp_cons_;
        return cached >= max ? cached : reload_rsp_prod();
    }

    RingIdx reload_rsp_prod() {
        // acquire: response slots below `prod` are read only after this load (Xen's rmb()).
        const RingIdx prod = ring_sync::load_acquire(sring_->rsp_prod);
        const auto ahead = static_cast<RingIdx>(prod - rsp_cons_);
        const bool backwards = ahead < static_cast<RingIdx>(rsp_prod_seen_ - rsp_cons_);
        if (response_prod_overflow(prod) || backwards) {
            corrupt_ = true;  // sticky: indices stay where they were, nothing more is read
            return 0;
        }
        rsp_prod_seen_ = prod;
        return prod - rsp_cons_;
    }

    SringHeader* sring_ = nullptr;
    Entry* slots_ = nullptr;
    RingIdx size_ = 0;           // nr_ents: a power of two, from our own byte count
    RingIdx req_prod_pvt_ = 0;   // next request slot we fill
    RingIdx req_published_ = 0;  // last req_prod we stored (the page copy is not trusted)
    RingIdx rsp_cons_ = 0;       // next response we consume
    RingIdx rsp_prod_seen_ = 0;  // last validated rsp_prod (cached peer index)
    bool corrupt_ = false;
};

}  // namespace pv
