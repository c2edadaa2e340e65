// Event channels with several CPUs at once (host threads): sends racing close and re-bind of
// the same interdomain channel, block/poll racing the one event that must wake them (no lost
// wake-up), and binds from both ends at once (the event-lock pair order: no deadlock). Every
// wait is bounded: a hang is reported as a failure (and the process aborted, since a thread
// stuck on a lock cannot be joined), never waited out.
#include <gtest/gtest.h>
#include <pv/errno.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "core/event_channel.hpp"
#include "core/spinlock.hpp"
#include "../smp_test_support.hpp"
#include "test_domain.hpp"

using namespace hv;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHang = std::chrono::seconds(2);  // far beyond any honest wait here
constexpr auto kThreadsHang = std::chrono::seconds(20);  // whole test: only a deadlock is that slow

// Runs the bodies on threads; fails the test and aborts if they are not all done in time.
void run_bounded(const std::vector<std::function<void()>>& bodies) {
  std::atomic<unsigned> done{0};
  std::vector<std::thread> threads;
  for (const auto& body : bodies)
    threads.emplace_back([&done, &body] {
      body();
      done.fetch_add(1);
    });
  const auto deadline = Clock::now() + kThreadsHang;
  while (done.load() < bodies.size()) {
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "threads still running after the deadline: deadlock or lost wake-up";
      std::fprintf(stderr, "event_channel_smp_test: hang detected, aborting\n");
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (std::thread& t : threads) t.join();
}

// Waits until `ready` holds; false (a failure for the caller) after kHang. Spins a while
// before yielding, so that the other thread's next step follows closely (the races under
// test are a few instructions wide).
bool wait_for(const std::function<bool()>& ready) {
  for (unsigned spin = 0; spin < 20000; ++spin)
    if (ready()) return true;
  const auto deadline = Clock::now() + kHang;
  while (!ready()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

struct EventChannelSmpTest : ::testing::Test {
  EventChannelSmpTest() {
    set_spin_relax(microxen::test::yield_relax);
    EXPECT_TRUE(registry.add(dom0.domain));
    EXPECT_TRUE(registry.add(dom1.domain));
  }
  long alloc_unbound(TestDomain& caller, pv::domid_t remote, std::uint32_t& port) {
    pv::evtchn_alloc_unbound a{pv::DOMID_SELF, remote, 0};
    const long rc = ops.alloc_unbound(*caller.vcpu[0], a);
    port = a.port;
    return rc;
  }
  long bind_interdomain(TestDomain& caller, pv::domid_t remote, std::uint32_t rport, std::uint32_t& port) {
    pv::evtchn_bind_interdomain b{remote, 0, rport, 0};
    const long rc = ops.bind_interdomain(*caller.vcpu[0], b);
    port = b.local_port;
    return rc;
  }
  // Every port free, reserved (0), unbound, or one end of a symmetric pair; active() counts
  // the ports in use.
  void expect_consistent(TestDomain& t) {
    unsigned used = 0;
    for (std::uint32_t p = 1; p < t.events->valid_ports(); ++p) {
      const EventPort& chn = t.events->port(p);
      if (chn.state != PortState::free) ++used;
      if (chn.state != PortState::interdomain) continue;
      Domain* peer = registry.find(chn.remote_domid);
      ASSERT_NE(peer, nullptr) << "port " << p;
      const EventPort& back = peer->events->port(chn.remote_port);
      EXPECT_EQ(back.state, PortState::interdomain) << "d" << t.domain.id() << " port " << p;
      EXPECT_EQ(back.remote_domid, t.domain.id()) << "d" << t.domain.id() << " port " << p;
      EXPECT_EQ(back.remote_port, p) << "d" << t.domain.id() << " port " << p;
    }
    EXPECT_EQ(t.events->active(), used);
    EXPECT_EQ(t.events->port(0).state, PortState::reserved);
  }
  // The guest having taken its events: upcall flag, selectors and pending bits cleared.
  static void guest_takes_events(TestDomain& t) {
    __atomic_store_n(&t.info().evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t.info().evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
    for (std::uint64_t& w : t.si->evtchn_pending) __atomic_store_n(&w, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  }

  TestDomain dom0{0, 2};
  TestDomain dom1{1};
  DomainRegistry registry;
  EventChannelOps ops{registry};
};

// Two senders hammer both ends (and a re-targeting of dom0's end between its vCPUs) while a
// third thread closes one end or the other and binds the channel again.
TEST_F(EventChannelSmpTest, SendsRaceCloseAndRebind) {
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, 0, p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, p0), 0);
  std::atomic<bool> stop{false};
  std::atomic<unsigned> rebinds{0};
  auto sender = [&](TestDomain& from) {
    for (unsigned i = 0; !stop.load(); ++i) {
      const std::uint32_t port = 1 + i % 3;  // whatever the ports are right now
      const long rc = ops.send(from.domain, port);
      EXPECT_TRUE(rc == 0 || rc == -pv::XEN_EINVAL) << rc;
      if (&from == &dom1) (void)ops.bind_vcpu(dom0.domain, port, i % 2);  // moves dom0's end
    }
  };
  auto closer = [&] {
    std::uint32_t ends[2] = {p0, p1};  // dom0's, dom1's
    for (unsigned i = 0; i < 3000; ++i) {
      // Close one end: the other goes back to unbound for its old peer, who binds it again.
      const unsigned side = i % 2;
      TestDomain& closing = side == 0 ? dom0 : dom1;
      TestDomain& other = side == 0 ? dom1 : dom0;
      ASSERT_EQ(ops.close(closing.domain, ends[side]), 0);
      ASSERT_EQ(bind_interdomain(closing, other.domain.id(), ends[1 - side], ends[side]), 0);
      rebinds.fetch_add(1);
    }
    stop.store(true);
  };
  run_bounded({[&] { sender(dom0); }, [&] { sender(dom1); }, closer});
  EXPECT_EQ(rebinds.load(), 3000u);
  expect_consistent(dom0);
  expect_consistent(dom1);
  EXPECT_EQ(dom0.events->active(), 1u);
  EXPECT_EQ(dom1.events->active(), 1u);
}

// A few hundred nanoseconds or none, varying by round: so that over the rounds the event is
// sent before, during and after the vCPU blocks, not always on the same side of it.
void jitter(unsigned round) {
  std::atomic<unsigned> spin{0};
  for (unsigned n = (round * 7919u) % 1024; n > 0; --n) spin.fetch_add(1, std::memory_order_relaxed);
}

// Each round the blocked (or polling) vCPU gets exactly one event, sent while it is on its
// way into block: a lost wake-up leaves it blocked for good, which the bounded wait reports.
struct WakeRound {
  std::atomic<unsigned> blocking{0};  // round the vCPU is entering
  std::atomic<bool> failed{false};
};

void blocker_rounds(unsigned rounds, WakeRound& r, Vcpu& v, const std::function<void()>& block,
                    const std::function<void()>& take_events) {
  for (unsigned i = 1; i <= rounds && !r.failed.load(); ++i) {
    take_events();
    r.blocking.store(i);
    jitter(i);
    block();
    if (!wait_for([&] { return v.state.load() == VcpuState::runnable; })) {
      ADD_FAILURE() << "round " << i << ": the vCPU stayed blocked (lost wake-up)";
      r.failed.store(true);
    }
  }
  r.blocking.store(rounds + 1);
}

void sender_rounds(unsigned rounds, WakeRound& r, const std::function<void()>& send) {
  for (unsigned i = 1; i <= rounds && !r.failed.load(); ++i) {
    if (!wait_for([&] { return r.blocking.load() >= i || r.failed.load(); })) {
      ADD_FAILURE() << "round " << i << ": the blocker never got there";
      r.failed.store(true);
      return;
    }
    jitter(i * 31 / 4);
    send();
  }
}

TEST_F(EventChannelSmpTest, BlockNeverLosesTheWakeUp) {
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, 0, p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, p0), 0);
  constexpr unsigned kRounds = 2000;
  WakeRound r;
  Vcpu& v = *dom1.vcpu[0];
  run_bounded({[&] { blocker_rounds(kRounds, r, v, [&] { ops.block(v); }, [&] { guest_takes_events(dom1); }); },
               [&] { sender_rounds(kRounds, r, [&] { EXPECT_EQ(ops.send(dom0.domain, p0), 0); }); }});
  EXPECT_FALSE(r.failed.load());
}

// The same for SCHEDOP_poll on a masked port with upcalls masked: only the poll path (the
// poll bit against the port's pending bit) can wake it.
TEST_F(EventChannelSmpTest, PollNeverLosesTheWakeUp) {
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, 0, p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, p0), 0);
  dom1.mask(p1);
  dom1.info().evtchn_upcall_mask = 1;
  constexpr unsigned kRounds = 2000;
  WakeRound r;
  Vcpu& v = *dom1.vcpu[0];
  const std::uint32_t ports[] = {p1};
  run_bounded({[&] {
                 blocker_rounds(kRounds, r, v, [&] { EXPECT_EQ(ops.poll(v, ports, 1), 0); },
                                [&] { guest_takes_events(dom1); });
               },
               [&] { sender_rounds(kRounds, r, [&] { EXPECT_EQ(ops.send(dom0.domain, p0), 0); }); }});
  EXPECT_FALSE(r.failed.load());
  EXPECT_EQ(dom1.events->poll_mask.load(), 0u);
}

// d0 binds to d1's unbound ports while d1 binds to d0's: each bind takes both event locks,
// always lower domid first, so the two never wait for each other in a cycle.
TEST_F(EventChannelSmpTest, BindsFromBothEndsNeverDeadlock) {
  constexpr unsigned kRounds = 20000;
  auto binder = [&](TestDomain& self, TestDomain& peer) {
    for (unsigned i = 0; i < kRounds; ++i) {
      std::uint32_t offered = 0, local = 0;
      ASSERT_EQ(alloc_unbound(peer, self.domain.id(), offered), 0);
      ASSERT_EQ(bind_interdomain(self, peer.domain.id(), offered, local), 0);
      ASSERT_EQ(ops.close(i % 2 == 0 ? self.domain : peer.domain, i % 2 == 0 ? local : offered), 0);
      ASSERT_EQ(ops.close(i % 2 == 0 ? peer.domain : self.domain, i % 2 == 0 ? offered : local), 0);
    }
  };
  run_bounded({[&] { binder(dom0, dom1); }, [&] { binder(dom1, dom0); }});
  expect_consistent(dom0);
  expect_consistent(dom1);
  EXPECT_EQ(dom0.events->active(), 0u);
  EXPECT_EQ(dom1.events->active(), 0u);
}

// Teardown of one domain while the other keeps sending into it and closing its own ends:
// afterwards no port anywhere still names the dead domain.
TEST_F(EventChannelSmpTest, DestroyRacesThePeer) {
  for (unsigned i = 0; i < 8; ++i) {
    std::uint32_t p1 = 0, p0 = 0;
    ASSERT_EQ(alloc_unbound(dom1, 0, p1), 0);
    ASSERT_EQ(bind_interdomain(dom0, 1, p1, p0), 0);
  }
  std::atomic<bool> stop{false};
  auto peer = [&] {
    for (unsigned i = 0; !stop.load(); ++i) {
      (void)ops.send(dom0.domain, 1 + i % 8);
      if (i % 64 == 63) (void)ops.close(dom0.domain, 1 + (i / 64) % 8);
    }
  };
  auto destroyer = [&] {
    std::this_thread::yield();
    ops.destroy(dom1.domain);
    stop.store(true);
  };
  run_bounded({peer, destroyer});
  EXPECT_EQ(dom1.events->active(), 0u);
  for (std::uint32_t p = 1; p < dom0.events->valid_ports(); ++p)
    EXPECT_NE(dom0.events->port(p).state, PortState::interdomain) << "port " << p;
  expect_consistent(dom0);
}

}  // namespace
