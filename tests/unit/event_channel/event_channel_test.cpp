// Event-channel core against Xen 4.17's behaviour: every sub-op's state changes and errnos,
// the 2-level bits in shared_info/vcpu_info, wakeups of blocked and polling vCPUs, hostile
// ports, and teardown with channels in flight.
#include <gtest/gtest.h>
#include <pv/errno.hpp>
#include <pv/shared_info.hpp>

#include "core/event_channel.hpp"
#include "test_domain.hpp"

using namespace hv;

namespace {

struct EventChannelTest : ::testing::Test {
  EventChannelTest() {
    EXPECT_TRUE(registry.add(dom0.domain));
    EXPECT_TRUE(registry.add(dom1.domain));
  }
  long alloc_unbound(TestDomain& caller, pv::domid_t dom, pv::domid_t remote, std::uint32_t* port = nullptr) {
    pv::evtchn_alloc_unbound a{dom, remote, 0};
    const long rc = ops.alloc_unbound(*caller.vcpu[0], a);
    if (port != nullptr) *port = a.port;
    return rc;
  }
  long bind_interdomain(TestDomain& caller, pv::domid_t remote, std::uint32_t rport, std::uint32_t* port = nullptr) {
    pv::evtchn_bind_interdomain b{remote, 0, rport, 0};
    const long rc = ops.bind_interdomain(*caller.vcpu[0], b);
    if (port != nullptr) *port = b.local_port;
    return rc;
  }
  pv::evtchn_status status(TestDomain& caller, pv::domid_t dom, std::uint32_t port, long* rc = nullptr) {
    pv::evtchn_status s{};
    s.dom = dom;
    s.port = port;
    const long r = ops.status(*caller.vcpu[0], s);
    if (rc != nullptr) *rc = r;
    return s;
  }

  TestDomain dom0{0, 2};
  TestDomain dom1{1};
  DomainRegistry registry;
  EventChannelOps ops{registry};
};

TEST_F(EventChannelTest, FreshTableHasReservedPortZeroAndOneBucket) {
  EXPECT_EQ(dom1.events->valid_ports(), 64u);
  long rc;
  EXPECT_EQ(status(dom1, pv::DOMID_SELF, 0, &rc).status, pv::EVTCHNSTAT_closed);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(status(dom1, pv::DOMID_SELF, 63, &rc).status, pv::EVTCHNSTAT_closed);
  EXPECT_EQ(rc, 0);
  status(dom1, pv::DOMID_SELF, 64, &rc);  // beyond the first bucket: not a port at all
  EXPECT_EQ(rc, -pv::XEN_EINVAL);
  EXPECT_EQ(ops.close(dom1.domain, 0), -pv::XEN_EINVAL);  // reserved
  EXPECT_EQ(ops.send(dom1.domain, 0), -pv::XEN_EINVAL);
}

TEST_F(EventChannelTest, AllocUnboundTakesLowestFreePortAndDomidSelfMeansCaller) {
  std::uint32_t port = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, pv::DOMID_SELF, &port), 0);
  EXPECT_EQ(port, 1u);
  pv::evtchn_status s = status(dom1, pv::DOMID_SELF, 1);
  EXPECT_EQ(s.status, pv::EVTCHNSTAT_unbound);
  EXPECT_EQ(s.u.unbound.dom, 1);
  EXPECT_EQ(s.vcpu, 0u);
  // dom0 (privileged) allocates in d1 for itself: DOMID_SELF is dom0, the caller.
  ASSERT_EQ(alloc_unbound(dom0, 1, pv::DOMID_SELF, &port), 0);
  EXPECT_EQ(port, 2u);
  EXPECT_EQ(status(dom1, pv::DOMID_SELF, 2).u.unbound.dom, 0);
}

TEST_F(EventChannelTest, AllocUnboundErrnos) {
  EXPECT_EQ(alloc_unbound(dom1, 0, 1), -pv::XEN_EPERM);   // unprivileged, another domain
  EXPECT_EQ(alloc_unbound(dom1, 7, 1), -pv::XEN_ESRCH);   // no such domain
  EXPECT_EQ(alloc_unbound(dom1, pv::DOMID_IO, 1), -pv::XEN_ESRCH);
  // The refused allocation left nothing behind in dom0.
  EXPECT_EQ(dom0.events->active(), 0u);
  EXPECT_EQ(status(dom0, pv::DOMID_SELF, 1).status, pv::EVTCHNSTAT_closed);
}

TEST_F(EventChannelTest, PortsRunOutAtTheDomainLimitAndBucketsGrow) {
  std::uint32_t port = 0;
  for (unsigned i = 1; i <= EventChannels::kDomUMaxPort; ++i) {
    ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &port), 0) << i;
    ASSERT_EQ(port, i);
    EXPECT_EQ(dom1.events->valid_ports(), (i / 64 + 1) * 64);
  }
  EXPECT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0), -pv::XEN_ENOSPC);
  EXPECT_EQ(ops.close(dom1.domain, 1024), -pv::XEN_EINVAL);
  EXPECT_EQ(ops.close(dom1.domain, 0xFFFFFFFFu), -pv::XEN_EINVAL);
  ASSERT_EQ(ops.close(dom1.domain, 500), 0);
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &port), 0);
  EXPECT_EQ(port, 500u);
}

TEST_F(EventChannelTest, LoopbackInterdomainStartsPendingAndSendsToThePeer) {
  std::uint32_t unbound = 0, local = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, pv::DOMID_SELF, &unbound), 0);
  ASSERT_EQ(bind_interdomain(dom1, pv::DOMID_SELF, unbound, &local), 0);
  EXPECT_EQ(local, 2u);
  // Xen marks the new local port pending (notifications to the unbound port were dropped).
  EXPECT_TRUE(dom1.pending(local));
  EXPECT_FALSE(dom1.pending(unbound));
  EXPECT_EQ(dom1.info().evtchn_upcall_pending, 1);
  EXPECT_EQ(dom1.info().evtchn_pending_sel, 1u);
  pv::evtchn_status s = status(dom1, pv::DOMID_SELF, unbound);
  EXPECT_EQ(s.status, pv::EVTCHNSTAT_interdomain);
  EXPECT_EQ(s.u.interdomain.dom, 1);
  EXPECT_EQ(s.u.interdomain.port, local);
  ASSERT_EQ(ops.send(dom1.domain, local), 0);
  EXPECT_TRUE(dom1.pending(unbound));
}

TEST_F(EventChannelTest, BindInterdomainErrnos) {
  std::uint32_t port = 0;
  ASSERT_EQ(alloc_unbound(dom0, pv::DOMID_SELF, 1, &port), 0);  // dom0's port for d1
  EXPECT_EQ(bind_interdomain(dom1, 9, port), -pv::XEN_ESRCH);
  EXPECT_EQ(bind_interdomain(dom1, 0, port + 1), -pv::XEN_EINVAL);  // free
  EXPECT_EQ(bind_interdomain(dom1, 0, 4096), -pv::XEN_EINVAL);      // beyond the table
  EXPECT_EQ(bind_interdomain(dom0, pv::DOMID_SELF, port), -pv::XEN_EINVAL);  // not for dom0 itself
  EXPECT_EQ(dom1.events->active(), 0u);  // failed binds gave their local port back
  std::uint32_t local = 0;
  ASSERT_EQ(bind_interdomain(dom1, 0, port, &local), 0);
  EXPECT_EQ(local, 1u);
  EXPECT_EQ(bind_interdomain(dom1, 0, port), -pv::XEN_EINVAL);  // already bound
}

TEST_F(EventChannelTest, CloseGivesThePeerBackAnUnboundPort) {
  std::uint32_t p0 = 0, p1 = 0;
  ASSERT_EQ(alloc_unbound(dom0, 1, 0, &p1), 0);  // privileged: in d1, for dom0
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, &p0), 0);
  ASSERT_EQ(ops.send(dom0.domain, p0), 0);
  EXPECT_TRUE(dom1.pending(p1));
  ASSERT_EQ(ops.close(dom1.domain, p1), 0);
  EXPECT_FALSE(dom1.pending(p1));  // Xen clears the pending bit of a closed port
  pv::evtchn_status s = status(dom0, pv::DOMID_SELF, p0);
  EXPECT_EQ(s.status, pv::EVTCHNSTAT_unbound);
  EXPECT_EQ(s.u.unbound.dom, 1);
  EXPECT_EQ(ops.send(dom0.domain, p0), 0);  // unbound: dropped silently
  EXPECT_EQ(ops.close(dom1.domain, p1), -pv::XEN_EINVAL);
}

TEST_F(EventChannelTest, VirqBindingRules) {
  pv::evtchn_bind_virq b{pv::VIRQ_DEBUG, 1, 0};
  ASSERT_EQ(ops.bind_virq(*dom0.vcpu[0], b), 0);  // per-vCPU VIRQ on vCPU 1
  EXPECT_EQ(dom0.events->port(b.port).notify_vcpu, 1);
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], b), -pv::XEN_EEXIST);
  pv::evtchn_bind_virq b0{pv::VIRQ_DEBUG, 0, 0};
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], b0), 0);  // another vCPU: its own binding
  pv::evtchn_bind_virq global{pv::VIRQ_CONSOLE, 1, 0};
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], global), -pv::XEN_EINVAL);  // global: vCPU 0 only
  pv::evtchn_bind_virq bad{pv::NR_VIRQS, 0, 0};
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], bad), -pv::XEN_EINVAL);
  pv::evtchn_bind_virq novcpu{pv::VIRQ_TIMER, 5, 0};
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], novcpu), -pv::XEN_ENOENT);
  pv::evtchn_status s = status(dom0, pv::DOMID_SELF, b.port);
  EXPECT_EQ(s.status, pv::EVTCHNSTAT_virq);
  EXPECT_EQ(s.u.virq, pv::VIRQ_DEBUG);
  EXPECT_EQ(s.vcpu, 1u);
  EXPECT_EQ(ops.send(dom0.domain, b.port), -pv::XEN_EINVAL);  // a VIRQ port cannot be sent
  ops.send_vcpu_virq(*dom0.vcpu[1], pv::VIRQ_DEBUG);
  EXPECT_TRUE(dom0.pending(b.port));
  EXPECT_EQ(dom0.info(1).evtchn_upcall_pending, 1);
  EXPECT_EQ(dom0.info(0).evtchn_upcall_pending, 0);
  ASSERT_EQ(ops.close(dom0.domain, b.port), 0);
  EXPECT_EQ(ops.bind_virq(*dom0.vcpu[0], b), 0);  // free again after close
  // bind_vcpu: a per-vCPU VIRQ stays where it is; a global one moves.
  EXPECT_EQ(ops.bind_vcpu(dom0.domain, b.port, 0), -pv::XEN_EINVAL);
  global.vcpu = 0;
  ASSERT_EQ(ops.bind_virq(*dom0.vcpu[0], global), 0);
  EXPECT_EQ(ops.bind_vcpu(dom0.domain, global.port, 1), 0);
  EXPECT_EQ(ops.bind_vcpu(dom0.domain, global.port, 2), -pv::XEN_ENOENT);
  ops.send_global_virq(dom0.domain, pv::VIRQ_CONSOLE);
  EXPECT_EQ(dom0.info(1).evtchn_pending_sel & 1, 1u);
}

TEST_F(EventChannelTest, IpiLoopsBackToItsVcpu) {
  pv::evtchn_bind_ipi ipi{1, 0};
  ASSERT_EQ(ops.bind_ipi(*dom0.vcpu[0], ipi), 0);
  EXPECT_EQ(status(dom0, pv::DOMID_SELF, ipi.port).status, pv::EVTCHNSTAT_ipi);
  ASSERT_EQ(ops.send(dom0.domain, ipi.port), 0);
  EXPECT_TRUE(dom0.pending(ipi.port));
  EXPECT_EQ(dom0.info(1).evtchn_upcall_pending, 1);
  pv::evtchn_bind_ipi bad{3, 0};
  EXPECT_EQ(ops.bind_ipi(*dom0.vcpu[0], bad), -pv::XEN_ENOENT);
  EXPECT_EQ(ops.bind_vcpu(dom0.domain, ipi.port, 0), -pv::XEN_EINVAL);  // IPIs do not move
}

TEST_F(EventChannelTest, MaskedPortRaisesNothingUntilUnmask) {
  pv::evtchn_bind_ipi ipi{0, 0};
  ASSERT_EQ(ops.bind_ipi(*dom1.vcpu[0], ipi), 0);
  dom1.mask(ipi.port);
  ASSERT_EQ(ops.send(dom1.domain, ipi.port), 0);
  EXPECT_TRUE(dom1.pending(ipi.port));
  EXPECT_EQ(dom1.info().evtchn_pending_sel, 0u);
  EXPECT_EQ(dom1.info().evtchn_upcall_pending, 0);
  ASSERT_EQ(ops.unmask(dom1.domain, ipi.port), 0);
  EXPECT_EQ(dom1.info().evtchn_pending_sel, 1u);
  EXPECT_EQ(dom1.info().evtchn_upcall_pending, 1);
  EXPECT_EQ(ops.unmask(dom1.domain, 64), -pv::XEN_EINVAL);
  EXPECT_EQ(ops.unmask(dom1.domain, 5), 0);  // valid but free: nothing to raise
}

TEST_F(EventChannelTest, SelectorAlreadySetRaisesNoSecondUpcall) {
  pv::evtchn_bind_ipi a{0, 0}, b{0, 0};
  ASSERT_EQ(ops.bind_ipi(*dom1.vcpu[0], a), 0);
  ASSERT_EQ(ops.bind_ipi(*dom1.vcpu[0], b), 0);
  ASSERT_EQ(ops.send(dom1.domain, a.port), 0);
  dom1.info().evtchn_upcall_pending = 0;  // the guest took the upcall but not the selector
  ASSERT_EQ(ops.send(dom1.domain, b.port), 0);
  EXPECT_EQ(dom1.info().evtchn_upcall_pending, 0);  // same word: selector bit was still set
}

TEST_F(EventChannelTest, HostileSendsAndStatusOfOtherDomains) {
  std::uint32_t port = 0;
  ASSERT_EQ(alloc_unbound(dom0, pv::DOMID_SELF, 0, &port), 0);
  pv::evtchn_bind_ipi ipi{0, 0};
  ASSERT_EQ(ops.bind_ipi(*dom0.vcpu[0], ipi), 0);
  // d1 names dom0's ports as if they were its own: they are free (or invalid) in d1.
  EXPECT_EQ(ops.send(dom1.domain, ipi.port), -pv::XEN_EINVAL);
  EXPECT_EQ(ops.send(dom1.domain, 0xFFFFFFFFu), -pv::XEN_EINVAL);
  EXPECT_EQ(ops.close(dom1.domain, port), -pv::XEN_EINVAL);
  EXPECT_FALSE(dom0.pending(ipi.port));
  long rc;
  status(dom1, 0, port, &rc);
  EXPECT_EQ(rc, -pv::XEN_EPERM);
  status(dom1, 0, 4096, &rc);
  EXPECT_EQ(rc, -pv::XEN_EINVAL);  // the port check comes before the permission check
  status(dom0, 1, 1, &rc);
  EXPECT_EQ(rc, 0);  // privileged: any domain
  pv::evtchn_bind_pirq pirq{0xFFFFFFFFu, 0, 0};
  EXPECT_EQ(ops.bind_pirq(*dom1.vcpu[0], pirq), -pv::XEN_EINVAL);
  pirq.pirq = 1;
  EXPECT_EQ(ops.bind_pirq(*dom1.vcpu[0], pirq), -pv::XEN_EPERM);
}

TEST_F(EventChannelTest, ResetClosesOwnPortsOnly) {
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, &p0), 0);
  EXPECT_EQ(ops.reset(*dom1.vcpu[0], 0), -pv::XEN_EPERM);
  EXPECT_EQ(ops.reset(*dom0.vcpu[0], 1), -pv::XEN_EINVAL);  // not paused
  EXPECT_EQ(ops.reset(*dom1.vcpu[0], 5), -pv::XEN_ESRCH);
  ASSERT_EQ(ops.reset(*dom1.vcpu[0], pv::DOMID_SELF), 0);
  EXPECT_EQ(dom1.events->active(), 0u);
  EXPECT_EQ(status(dom0, pv::DOMID_SELF, p0).status, pv::EVTCHNSTAT_unbound);
}

TEST_F(EventChannelTest, BlockWaitsForAnEventAndEnablesDelivery) {
  dom1.info().evtchn_upcall_mask = 1;
  ops.block(*dom1.vcpu[0]);
  EXPECT_EQ(dom1.info().evtchn_upcall_mask, 0);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::blocked);
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, &p0), 0);
  ASSERT_EQ(ops.send(dom0.domain, p0), 0);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::runnable);
  EXPECT_TRUE(events_need_delivery(*dom1.vcpu[0]));
  ops.block(*dom1.vcpu[0]);  // an event is waiting: it does not block
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::runnable);
}

// A sibling's VCPUOP_down may land while the vCPU is on its way into block or poll: it stays
// down, and a later event does not bring it back.
TEST_F(EventChannelTest, BlockAndPollLeaveADownedVcpuDown) {
  Vcpu& v = *dom1.vcpu[0];
  v.state = VcpuState::offline;
  ops.block(v);
  EXPECT_EQ(v.state, VcpuState::offline);
  const std::uint32_t ports[1] = {1};
  EXPECT_EQ(ops.poll(v, ports, 1), 0);
  EXPECT_EQ(v.state, VcpuState::offline);
  EXPECT_EQ(dom1.events->poll_mask.load(), 0u);
  std::uint32_t p1 = 0, p0 = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, &p0), 0);
  ASSERT_EQ(ops.send(dom0.domain, p0), 0);
  EXPECT_EQ(v.state, VcpuState::offline);
}

TEST_F(EventChannelTest, PollWakesOnItsMaskedPortOnly) {
  pv::evtchn_bind_ipi a{0, 0}, b{0, 0};
  ASSERT_EQ(ops.bind_ipi(*dom1.vcpu[0], a), 0);
  ASSERT_EQ(ops.bind_ipi(*dom1.vcpu[0], b), 0);
  dom1.mask(a.port);
  dom1.mask(b.port);
  const std::uint32_t ports[] = {a.port};
  ASSERT_EQ(ops.poll(*dom1.vcpu[0], ports, 1), 0);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::blocked);
  ASSERT_EQ(ops.send(dom1.domain, b.port), 0);  // another masked port: still polling
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::blocked);
  ASSERT_EQ(ops.send(dom1.domain, a.port), 0);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::runnable);
  EXPECT_EQ(dom1.events->poll_mask, 0u);
  // Already pending: returns at once; a bad port is -EINVAL.
  EXPECT_EQ(ops.poll(*dom1.vcpu[0], ports, 1), 0);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::runnable);
  const std::uint32_t bad[] = {b.port + 100};
  dom1.si->evtchn_pending[0] = 0;
  EXPECT_EQ(ops.poll(*dom1.vcpu[0], bad, 1), -pv::XEN_EINVAL);
  EXPECT_EQ(dom1.vcpu[0]->state, VcpuState::runnable);
}

TEST_F(EventChannelTest, DestroyWithChannelsInFlight) {
  std::uint32_t p1 = 0, p0 = 0, loop = 0, loop_local = 0;
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0, &p1), 0);
  ASSERT_EQ(bind_interdomain(dom0, 1, p1, &p0), 0);
  ASSERT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, pv::DOMID_SELF, &loop), 0);
  ASSERT_EQ(bind_interdomain(dom1, pv::DOMID_SELF, loop, &loop_local), 0);
  pv::evtchn_bind_virq v{pv::VIRQ_TIMER, 0, 0};
  ASSERT_EQ(ops.bind_virq(*dom1.vcpu[0], v), 0);
  ASSERT_EQ(ops.send(dom0.domain, p0), 0);
  ASSERT_EQ(ops.send(dom1.domain, p1), 0);
  ops.destroy(dom1.domain);
  EXPECT_EQ(dom1.events->active(), 0u);
  EXPECT_EQ(dom1.events->virq_port(0, pv::VIRQ_TIMER), 0);
  pv::evtchn_status s = status(dom0, pv::DOMID_SELF, p0);
  EXPECT_EQ(s.status, pv::EVTCHNSTAT_unbound);
  EXPECT_EQ(s.u.unbound.dom, 1);
  EXPECT_EQ(alloc_unbound(dom1, pv::DOMID_SELF, 0), -pv::XEN_EINVAL);  // dying: no new ports
  EXPECT_EQ(ops.send(dom0.domain, p0), 0);  // to nobody now
}

}  // namespace
