// poll_test: SCHEDOP_poll through the hypercall dispatcher against Xen 4.17's do_poll and
// poll_timer_fn: the timeout (absolute system time) wakes a poller no earlier than its
// deadline, an event on a polled port wakes it first, a timeout already past returns at once,
// and the order of the argument checks.
#include <gtest/gtest.h>

#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>

#include <cstring>

#include "core/domain_registry.hpp"
#include "core/event_channel.hpp"
#include "core/timer.hpp"
#include "fake_guest.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kArgVa = FakeGuestMemory::kBase;            // the sched_poll
constexpr std::uint64_t kPortsVa = FakeGuestMemory::kBase + 0x100;  // its port list

void no_timer_event(Vcpu&, void*) { FAIL() << "a poll timeout must not send VIRQ_TIMER"; }

struct PollTest : ::testing::Test {
  PollTest() {
    EXPECT_TRUE(registry.add(g.domain));
    events.init(EventChannels::kDomUMaxPort);
    g.domain.events = &events;
    g.vcpu.timers.queue = &q;
    g.shared.vcpu_info[0].evtchn_upcall_mask = 1;  // as a PV spinlock polls: upcalls masked
    pv::evtchn_bind_ipi a{0, 0}, b{0, 0};
    EXPECT_EQ(ops.bind_ipi(g.vcpu, a), 0);
    EXPECT_EQ(ops.bind_ipi(g.vcpu, b), 0);
    port = a.port;
    other = b.port;
  }
  // SCHEDOP_poll on `ports` with `timeout`, as the guest's hypercall at the fake CPU's time.
  long poll(std::initializer_list<std::uint32_t> ports, std::uint64_t timeout, std::uint64_t ports_va = kPortsVa) {
    std::memcpy(g.memory.at(kPortsVa), ports.begin(), ports.size() * sizeof(std::uint32_t));
    pv::sched_poll arg{};
    arg.ports.p = ports_va;
    arg.nr_ports = static_cast<std::uint32_t>(ports.size());
    arg.timeout = timeout;
    std::memcpy(g.memory.at(kArgVa), &arg, sizeof arg);
    return call_poll();
  }
  long call_poll() {
    HypercallContext c = g.ctx();
    c.events = &ops;
    return dispatch_hypercall(c, pv::hypercall::sched_op, {pv::SCHEDOP_poll, kArgVa, 0, 0, 0});
  }
  // A poll with a 6000 ns timeout that an event on its port ended; the event is consumed.
  void earlier_poll_ended_by_its_port() {
    ASSERT_EQ(poll({port}, 6000), 0);
    ASSERT_EQ(ops.send(g.domain, port), 0);
    ASSERT_FALSE(blocked());
    g.shared.evtchn_pending[0] = 0;
  }
  unsigned fire(std::uint64_t now) { return fire_due_timers(q, now, no_timer_event, nullptr); }
  bool blocked() const { return g.vcpu.state == VcpuState::blocked; }
  bool pending(std::uint32_t p) const { return (g.shared.evtchn_pending[p / 64] >> (p % 64)) & 1; }

  FakeGuest g;  // its CPU's clock reads 1000 ns
  EventChannels events;
  DomainRegistry registry;
  EventChannelOps ops{registry};
  TimerQueue q;
  std::uint32_t port = 0;
  std::uint32_t other = 0;
};

TEST_F(PollTest, TimeoutWakesThePollerAtItsDeadlineNotBefore) {
  ASSERT_EQ(poll({port}, 6000), 0);
  EXPECT_TRUE(blocked());
  EXPECT_EQ(q.earliest(), 6000u);
  EXPECT_EQ(fire(5999), 0u);
  EXPECT_TRUE(blocked());
  EXPECT_EQ(fire(6000), 1u);
  EXPECT_FALSE(blocked());
  EXPECT_EQ(events.poll_mask, 0u);
  EXPECT_FALSE(pending(port));  // ports unchanged
  EXPECT_TRUE(q.empty());
}

TEST_F(PollTest, EventOnAPolledPortWakesFirstAndTheTimeoutThenDoesNothing) {
  ASSERT_EQ(poll({port}, 6000), 0);
  g.shared.evtchn_mask[other / 64] |= std::uint64_t{1} << (other % 64);
  ASSERT_EQ(ops.send(g.domain, other), 0);  // a masked port not polled: still asleep
  EXPECT_TRUE(blocked());
  ASSERT_EQ(ops.send(g.domain, port), 0);
  EXPECT_FALSE(blocked());
  // Xen leaves the poll timer armed; its expiry finds nothing polling.
  EXPECT_EQ(fire(6000), 1u);
  EXPECT_FALSE(blocked());
  EXPECT_EQ(events.poll_mask, 0u);
}

TEST_F(PollTest, StaleTimeoutWakesALaterPollWithoutTimeoutAsInXen) {
  earlier_poll_ended_by_its_port();
  ASSERT_EQ(poll({port}, 0), 0);  // no timeout of its own
  EXPECT_TRUE(blocked());
  EXPECT_EQ(fire(6000), 1u);  // a spurious wakeup: the guest re-checks its ports
  EXPECT_FALSE(blocked());
}

TEST_F(PollTest, ANewTimeoutReplacesTheOldOne) {
  earlier_poll_ended_by_its_port();
  ASSERT_EQ(poll({port}, 9000), 0);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(fire(8999), 0u);
  EXPECT_TRUE(blocked());
  EXPECT_EQ(fire(9000), 1u);
  EXPECT_FALSE(blocked());
}

TEST_F(PollTest, TimeoutNowOrPastReturnsAtOnce) {
  for (std::uint64_t timeout : {std::uint64_t{1000}, std::uint64_t{999}, std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
    ASSERT_EQ(poll({port}, timeout), 0) << timeout;
    EXPECT_FALSE(blocked()) << timeout;  // bit 63 set is a negative s_time_t: past
    EXPECT_EQ(events.poll_mask, 0u);
    EXPECT_TRUE(q.empty());
  }
  ASSERT_EQ(poll({port}, 1001), 0);  // just ahead: waits
  EXPECT_TRUE(blocked());
}

TEST_F(PollTest, PastTimeoutAlsoEndsAnEarlierPollsTimer) {
  earlier_poll_ended_by_its_port();
  ASSERT_EQ(poll({port}, 5), 0);
  EXPECT_FALSE(blocked());
  EXPECT_TRUE(q.empty());  // Xen's set_timer moved the same timer to the past and it fired
}

TEST_F(PollTest, PendingPortOrDeliverableUpcallReturnsAtOnceWithoutATimer) {
  ASSERT_EQ(ops.send(g.domain, port), 0);
  ASSERT_EQ(poll({other, port}, 6000), 0);
  EXPECT_FALSE(blocked());
  EXPECT_TRUE(q.empty());
  // A deliverable upcall returns 0 before the ports are read (Xen): an unreadable list too.
  g.shared.vcpu_info[0].evtchn_upcall_mask = 0;
  g.shared.vcpu_info[0].evtchn_upcall_pending = 1;
  EXPECT_EQ(poll({port}, 6000, FakeGuestMemory::kBase + 0x100000), 0);
  EXPECT_FALSE(blocked());
  EXPECT_TRUE(q.empty());
}

TEST_F(PollTest, ZeroTimeoutArmsNothing) {
  ASSERT_EQ(poll({port}, 0), 0);
  EXPECT_TRUE(blocked());
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(timers_armed(g.vcpu.timers));
}

TEST_F(PollTest, ArgumentErrorsInXensOrder) {
  EXPECT_EQ(poll({999}, 6000), -pv::XEN_EINVAL);  // a port beyond the table
  EXPECT_FALSE(blocked());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(poll({port}, 6000, FakeGuestMemory::kBase + 0x100000), -pv::XEN_EFAULT);
  EXPECT_FALSE(blocked());
  // nr_ports > 128 is -EINVAL before the list is checked at all.
  pv::sched_poll arg{};
  arg.ports.p = 0xFFFF800000000000ull;  // hypervisor space: -EFAULT if it were checked
  arg.nr_ports = 129;
  std::memcpy(g.memory.at(kArgVa), &arg, sizeof arg);
  EXPECT_EQ(call_poll(), -pv::XEN_EINVAL);
  arg.nr_ports = 128;
  std::memcpy(g.memory.at(kArgVa), &arg, sizeof arg);
  EXPECT_EQ(call_poll(), -pv::XEN_EFAULT);
  HypercallContext c = g.ctx();
  c.events = &ops;
  EXPECT_EQ(dispatch_hypercall(c, pv::hypercall::sched_op, {pv::SCHEDOP_poll, 0x123, 0, 0, 0}), -pv::XEN_EFAULT);
  EXPECT_TRUE(q.empty());
}

TEST_F(PollTest, DomainTeardownStopsThePollTimer) {
  ASSERT_EQ(poll({port}, 6000), 0);
  EXPECT_TRUE(timers_armed(g.vcpu.timers));
  timers_kill(g.vcpu);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(timers_armed(g.vcpu.timers));
}

}  // namespace
}  // namespace hv
