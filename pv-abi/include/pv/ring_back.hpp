// The back end's view of a Xen shared ring: consumes requests, produces responses. It must
// never index outside the slot array or believe a front end that claims more requests than
// the ring can hold (Xen's RING_REQUEST_PROD_OVERFLOW), whatever is in the shared page.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pv/ring_layout.hpp"
#include "pv/ring_sync.hpp"

namespace pv {

// Xen's <name>_back_ring plus what a hostile front end forces us to remember ourselves.
// Owned by one thread; alignas(64) keeps it off the front's and the header's cache lines.
template <RingMessage Req, RingMessage Rsp>
class alignas(64) BackRing {
public:
    using Entry = SringEntry<Req, Rsp>;

    // BACK_RING_INIT over `ring_bytes` of shared memory; false if no slot fits or the
    // memory is misaligned. Only the front end initialises the shared header.
    [[nodiscard]] bool init(void* shared, std::size_t ring_bytes) { return attach(shared, ring_bytes, 0); }

    template <std::size_t Bytes>
    void init(SharedRing<Req, Rsp, Bytes>& ring) {
        static_cast<void>(attach(&ring, Bytes, 0));
    }

    // Xen's BACK_RING_ATTACH: resume at index `start` (ours, not the page's).
    [[nodiscard]] bool attach(void* shared, std::size_t ring_bytes, RingIdx start) {
        const auto addr = reinterpret_cast<std::uintptr_t>(shared);
        const RingIdx slots = ring_slots<Req, Rsp>(ring_bytes);
        if (shared == nullptr || slots == 0 || addr % alignof(SringHeader) != 0 || addr % alignof(Entry) != 0) {
            return false;
        }
        sring_ = static_cast<SringHeader*>(shared);
        slots_ = reinterpret_cast<Entry*>(static_cast<std::byte*>(shared) + sring_slots_offset);
        size_ = slots;
        rsp_prod_pvt_ = rsp_published_ = req_cons_ = req_prod_seen_ = start;
        corrupt_ = false;
        return true;
    }

    RingIdx size() const { return size_; }
    bool ring_corrupt() const { return corrupt_; }
    RingIdx rsp_prod_pvt() const { return rsp_prod_pvt_; }
    RingIdx req_cons() const { return req_cons_; }

    // RING_REQUEST_PROD_OVERFLOW: a front end cannot have more requests out than slots.
    bool request_prod_overflow(RingIdx prod) const {
        return static_cast<RingIdx>(prod - rsp_prod_pvt_) > size_;
    }

    // RING_REQUEST_CONS_OVERFLOW: consuming request `cons` would overrun our responses.
    bool request_cons_overflow(RingIdx cons) const {
        return static_cast<RingIdx>(cons - rsp_prod_pvt_) >= size_;
    }

    // RING_HAS_UNCONSUMED_REQUESTS, validated: req_prod must lie between the last value we
    // validated (>= req_cons) and rsp_prod_pvt + size; anything else (too far ahead, or
    // backwards) marks the ring corrupt. Re-reads the shared req_prod only when the count
    // already validated is used up.
    [[nodiscard]] RingIdx unconsumed_requests() {
        if (corrupt_) {
            return 0;
        }
        if (req_prod_seen_ != req_cons_) {
            return req_prod_seen_ - req_cons_;
        }
        return reload_req_prod();
    }

    // RING_COPY_REQUEST + req_cons++: validate the copy, never the slot.
    [[nodiscard]] bool take_request(Req& out) {
        if (unconsumed_requests() == 0) {
            return false;
        }
        out = ring_sync::copy_out(slots_[req_cons_++ & (size_ - 1)].req);
        return true;
    }

    // Batch consumer: calls f(const Req& copy) for up to `max` requests; returns how many.
    template <class F>
    RingIdx consume_requests(RingIdx max, F&& f) {
        const RingIdx avail = available_up_to(max);
        const RingIdx n = max < avail ? max : avail;
        for (RingIdx i = 0; i < n; ++i) {
            const Req req = ring_sync::copy_out(slots_[req_cons_++ & (size_ - 1)].req);
            f(req);
        }
        return n;
    }

    // Responses may only overwrite slots whose requests we have consumed.
    RingIdx free_responses() const { return corrupt_ ? 0 : req_cons_ - rsp_prod_pvt_; }

    // RING_GET_RESPONSE(r, r->rsp_prod_pvt++): the slot to fill, or nullptr if no consumed
    // request is left unanswered. Visible to the front end only at the next push.
    Rsp* start_response() {
        if (free_responses() == 0) {
            return nullptr;
        }
        return &slots_[rsp_prod_pvt_++ & (size_ - 1)].rsp;
    }

    // Writes the whole response: nothing of the request or of old data leaks (XSA-216).
    [[nodiscard]] bool put_response(const Rsp& rsp) {
        Rsp* slot = start_response();
        if (slot == nullptr) {
            return false;
        }
        *slot = rsp;
        return true;
    }

    // Batch producer: calls fill(Rsp& slot) for up to `max` answerable slots.
    template <class Fill>
    RingIdx produce_responses(RingIdx max, Fill&& fill) {
        const RingIdx free = free_responses();
        const RingIdx n = max < free ? max : free;
        for (RingIdx i = 0; i < n; ++i) {
            fill(slots_[(rsp_prod_pvt_ + i) & (size_ - 1)].rsp);
        }
        rsp_prod_pvt_ += n;
        return n;
    }

    // RING_PUSH_RESPONSES.
    void push_responses() {
        // release: the front end sees the response slots before it sees rsp_prod move.
        ring_sync::store_release(sring_->rsp_prod, rsp_prod_pvt_);
        rsp_published_ = rsp_prod_pvt_;
    }

    // RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: true iff the front end must be sent an event.
    [[nodiscard]] bool push_responses_and_check_notify() {
        const RingIdx old_prod = rsp_published_;
        push_responses();
        // mb: rsp_prod is visible before we read rsp_event, pairing with the barrier in the
        // front end's final check — so either it sees our responses or we see its event.
        ring_sync::full_barrier();
        return ring_sync::event_crossed(rsp_prod_pvt_, old_prod, ring_sync::load_relaxed(sring_->rsp_event));
    }

    // RING_FINAL_CHECK_FOR_REQUESTS: true means "work arrived, don't sleep". False means
    // sleep until an event — unless ring_corrupt(), when the caller must tear down instead.
    [[nodiscard]] bool final_check_for_requests() {
        if (unconsumed_requests() != 0) {
            return true;
        }
        if (corrupt_) {
            return false;
        }
        ring_sync::store_relaxed(sring_->req_event, req_cons_ + 1);
        // mb: req_event is visible before we re-read req_prod, pairing with the barrier in
        // the front end's push-and-check — so a request pushed now is seen or notified.
        ring_sync::full_barrier();
        return reload_req_prod() != 0;
    }

    const Entry* slot_array() const { return slots_; }

private:
    // For a batch of `max`: the cached count if it covers the batch, else a fresh look at
    // the shared index, so a batch is never cut short by a stale cache.
    RingIdx available_up_to(RingIdx max) {
        if (corrupt_) {
            return 0;
        }
        const RingIdx cached = req_prod_seen_ - req_cons_;
        return cached >= max ? cached : reload_req_prod();
    }

    RingIdx reload_req_prod() {
        // acquire: request slots below `prod` are read only after this load (Xen's rmb()).
        const RingIdx prod = ring_sync::load_acquire(sring_->req_prod);
        const auto ahead = static_cast<RingIdx>(prod - rsp_prod_pvt_);
        const auto validated = static_cast<RingIdx>(req_prod_seen_ - rsp_prod_pvt_);  // >= req_cons
        if (request_prod_overflow(prod) || ahead < validated) {
            corrupt_ = true;  // sticky: indices stay where they were, nothing more is read
            return 0;
        }
        req_prod_seen_ = prod;
        return prod - req_cons_;
    }

    SringHeader* sring_ = nullptr;
    Entry* slots_ = nullptr;
    RingIdx size_ = 0;           // nr_ents: a power of two, from our own byte count
    RingIdx rsp_prod_pvt_ = 0;   // next response slot we fill
    RingIdx rsp_published_ = 0;  // last rsp_prod we stored (the page copy is not trusted)
    RingIdx req_cons_ = 0;       // next request we consume
    RingIdx req_prod_seen_ = 0;  // last validated req_prod (cached peer index)
    bool corrupt_ = false;
};

}  // namespace pv
