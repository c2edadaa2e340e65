// Message types and helpers shared by the pv::ring unit tests: x86-64 replicas of the
// blkif/netif structures whose slot counts Linux depends on. Never used outside tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "pv/ring.hpp"

namespace ring_test {

// io/blkif.h, x86-64: 112-byte request (11 segments), 16-byte response.
struct BlkSegment {
    std::uint32_t gref;
    std::uint8_t first_sect;
    std::uint8_t last_sect;
};
struct BlkRequest {
    std::uint8_t operation;
    std::uint8_t nr_segments;
    std::uint16_t handle;
    std::uint64_t id;
    std::uint64_t sector_number;
    BlkSegment seg[11];
};
struct BlkResponse {
    std::uint64_t id;
    std::uint8_t operation;
    std::int16_t status;
};
static_assert(sizeof(BlkRequest) == 112 && sizeof(BlkResponse) == 16);

// io/netif.h: tx 12/4 bytes, rx 8/8 bytes.
struct NetTxRequest {
    std::uint32_t gref;
    std::uint16_t offset;
    std::uint16_t flags;
    std::uint16_t id;
    std::uint16_t size;
};
struct NetTxResponse {
    std::uint16_t id;
    std::int16_t status;
};
struct NetRxRequest {
    std::uint16_t id;
    std::uint16_t pad;
    std::uint32_t gref;
};
struct NetRxResponse {
    std::uint16_t id;
    std::uint16_t offset;
    std::uint16_t flags;
    std::int16_t status;
};
static_assert(sizeof(NetTxRequest) == 12 && sizeof(NetTxResponse) == 4);
static_assert(sizeof(NetRxRequest) == 8 && sizeof(NetRxResponse) == 8);

// A page-sized ring backing store, aligned like a granted page.
template <std::size_t Bytes>
struct alignas(4096) PageBuffer {
    std::byte bytes[Bytes];
};

// splitmix64: deterministic payloads and checksums for the tests.
constexpr std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// A counted "event channel" for the threaded tests: signal() sets a flag, wait() spins a
// little, then yields (2-core CI), and gives up at a deadline so a lost wake-up fails the
// test instead of hanging it.
class TestEvent {
public:
    void signal() {
        count_.fetch_add(1, std::memory_order_relaxed);
        pending_.store(true, std::memory_order_release);
    }
    [[nodiscard]] bool wait(std::chrono::seconds limit = std::chrono::seconds(30)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (unsigned spin = 0;; ++spin) {
            if (pending_.exchange(false, std::memory_order_acquire)) {
                return true;
            }
            if (spin > 64) {
                std::this_thread::yield();
                if ((spin & 1023) == 0 && std::chrono::steady_clock::now() > deadline) {
                    return false;
                }
            }
        }
    }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::atomic<bool> pending_{false};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace ring_test
