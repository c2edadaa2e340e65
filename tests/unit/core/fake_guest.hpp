// FakeGuest: what a hypercall or trap handler sees of its caller, for hosted tests: a domain
// with vCPU 0 (runnable) and its shared_info, a fake address space, live registers and a fake
// CPU. Fixtures derive from it and set the registers and entry points their case needs.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <pv/shared_info.hpp>

#include "core/domain.hpp"
#include "core/hypercall.hpp"
#include "fake_cpu.hpp"
#include "fake_guest_memory.hpp"

struct FakeGuest {
  hv::Domain domain;
  hv::Vcpu vcpu{domain, 0};
  FakeGuestMemory memory;
  hv::HypervisorInfo info{};
  hv::GuestRegisters regs{};
  FakeCpu cpu;
  pv::shared_info shared{};

  explicit FakeGuest(pv::domid_t id = 1, bool privileged = false) : domain(id, privileged) {
    EXPECT_TRUE(domain.add_vcpu(vcpu));
    vcpu.state = hv::VcpuState::runnable;
    domain.shared_info = &shared;
  }
  FakeGuest(const FakeGuest&) = delete;
  FakeGuest& operator=(const FakeGuest&) = delete;

  hv::HypercallContext ctx(hv::MmOps* mm = nullptr) { return hv::HypercallContext{vcpu, memory, info, regs, cpu, mm}; }
  long call(unsigned nr, std::uint64_t a1 = 0, std::uint64_t a2 = 0, std::uint64_t a3 = 0) {
    hv::HypercallContext c = ctx();
    return hv::dispatch_hypercall(c, nr, {a1, a2, a3, 0, 0});
  }
  // The 8 bytes at a guest address (a bounce frame's words, a copied-out struct).
  std::uint64_t word(std::uint64_t va) {
    std::uint64_t v;
    std::memcpy(&v, memory.at(va), 8);
    return v;
  }
};
