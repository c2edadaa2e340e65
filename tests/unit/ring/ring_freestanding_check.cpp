// Compiles every pv::ring member with the hypervisor's freestanding flags (-ffreestanding
// -mgeneral-regs-only, no exceptions/RTTI); must never need a hosted header or runtime.
#include "pv/ring.hpp"

namespace ring_freestanding_check {

struct BlkLikeRequest {
    std::uint8_t operation;
    std::uint8_t nr_segments;
    std::uint16_t handle;
    std::uint64_t id;
    std::uint64_t sector_number;
    std::uint64_t seg[11];
};
struct BlkLikeResponse {
    std::uint64_t id;
    std::uint8_t operation;
    std::int16_t status;
};

}  // namespace ring_freestanding_check

namespace check = ring_freestanding_check;

// Explicit instantiation compiles every non-template member function.
template class pv::FrontRing<check::BlkLikeRequest, check::BlkLikeResponse>;
template class pv::BackRing<check::BlkLikeRequest, check::BlkLikeResponse>;
template struct pv::SharedRing<check::BlkLikeRequest, check::BlkLikeResponse, 4 * pv::ring_page_size>;

namespace ring_freestanding_check {

// The batch templates, instantiated the way a driver would use them.
unsigned batch_round_trip(pv::FrontRing<BlkLikeRequest, BlkLikeResponse>& front,
                          pv::BackRing<BlkLikeRequest, BlkLikeResponse>& back) {
    unsigned n = front.produce_requests(8, [](BlkLikeRequest& r) { r.id = 1; });
    n += back.consume_requests(8, [&](const BlkLikeRequest& r) {
        if (BlkLikeResponse* out = back.start_response()) {
            *out = BlkLikeResponse{r.id, r.operation, 0};
        }
    });
    n += back.produce_responses(8, [](BlkLikeResponse& r) { r.status = 0; });
    n += front.consume_responses(8, [](const BlkLikeResponse&) {});
    return n;
}

}  // namespace ring_freestanding_check
