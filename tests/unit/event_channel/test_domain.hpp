// TestDomain: a domain with its own shared_info page and port table, its vCPUs runnable,
// for the event-channel tests (single- and multi-threaded).
#pragma once
#include <gtest/gtest.h>
#include <pv/shared_info.hpp>

#include <memory>

#include "core/event_channel.hpp"

namespace hv {

struct TestDomain {
  explicit TestDomain(pv::domid_t id, unsigned vcpus = 1) : domain(id, id == 0) {
    for (unsigned i = 0; i < vcpus; ++i) {
      vcpu[i] = std::make_unique<Vcpu>(domain, i);
      vcpu[i]->state = VcpuState::runnable;
      EXPECT_TRUE(domain.add_vcpu(*vcpu[i]));
    }
    domain.shared_info = si.get();
    events->init(id == 0 ? EventChannels::kDom0MaxPort : EventChannels::kDomUMaxPort);
    domain.events = events.get();
  }
  bool pending(std::uint32_t port) const { return (si->evtchn_pending[port / 64] >> (port % 64)) & 1; }
  void mask(std::uint32_t port) { si->evtchn_mask[port / 64] |= std::uint64_t{1} << (port % 64); }
  pv::vcpu_info& info(unsigned v = 0) { return si->vcpu_info[v]; }

  std::unique_ptr<pv::shared_info> si = std::make_unique<pv::shared_info>();
  std::unique_ptr<EventChannels> events = std::make_unique<EventChannels>();
  Domain domain;
  std::unique_ptr<Vcpu> vcpu[Domain::kMaxVcpus];
};

}  // namespace hv
