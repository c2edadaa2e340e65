// nmi_test: VCPUOP_send_nmi and NMI delivery against Xen 4.17's do_vcpu_op, process_nmi and
// async_exception_cleanup: refusals, the bounce frame, masking until HYPERVISOR_iret, the
// deferred second NMI, a dropped NMI without a callback; and the DR6 merge of do_debug.
#include <gtest/gtest.h>

#include <cstring>
#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>

#include "core/debugreg.hpp"
#include "core/nmi.hpp"
#include "fake_guest.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kStackTop = FakeGuestMemory::kBase + 0x8000;
constexpr std::uint64_t kNmiHandler = 0xFFFFFFFF80001000ull;
constexpr std::uint64_t kRip = 0xFFFFFFFF80005000ull;

struct Pv : FakeGuest {
  Vcpu other{domain, 1};
  Pv() {
    EXPECT_TRUE(domain.add_vcpu(other));
    other.state = VcpuState::blocked;
    regs.rip = kRip;
    regs.cs = pv::FLAT_KERNEL_CS;
    regs.ss = pv::FLAT_KERNEL_SS;
    regs.rsp = kStackTop - 0x100;
    regs.rflags = 0x202;
  }
  long send_nmi(std::uint64_t id, std::uint64_t arg = 0) { return call(pv::hypercall::vcpu_op, pv::VCPUOP_send_nmi, id, arg); }
  long register_nmi() {
    pv::callback_register reg{pv::CALLBACKTYPE_nmi, 0, 0, kNmiHandler};
    std::memcpy(memory.at(kStackTop - 0x1000), &reg, sizeof reg);
    return call(pv::hypercall::callback_op, pv::CALLBACKOP_register, kStackTop - 0x1000);
  }
  bool deliver() {
    HypercallContext c = ctx();
    return deliver_pending_nmi(c);
  }
  // The guest's NMI callback returning: HYPERVISOR_iret with the frame it was given.
  void iret_from_bounce() {
    std::uint64_t f[5];  // rcx, r11, rip, cs, rflags (rsp, ss follow)
    std::memcpy(f, memory.at(regs.rsp), sizeof f);
    std::uint64_t rsp_ss[2];
    std::memcpy(rsp_ss, memory.at(regs.rsp + 40), sizeof rsp_ss);
    pv::iret_context frame{0, f[1], f[0], 0, f[2], f[3] & 0xffff, f[4], rsp_ss[0], rsp_ss[1]};
    regs.rsp -= sizeof frame;
    std::memcpy(memory.at(regs.rsp), &frame, sizeof frame);
    call(pv::hypercall::iret);
  }
};

TEST(SendNmi, RefusesAnArgumentAndUnknownVcpus) {
  Pv p;
  EXPECT_EQ(p.send_nmi(0, kStackTop - 8), -pv::XEN_EINVAL);
  EXPECT_EQ(p.send_nmi(2), -pv::XEN_ENOENT);
  EXPECT_EQ(p.send_nmi(1ull << 32), -pv::XEN_ENOENT);
  EXPECT_FALSE(p.vcpu.nmi_pending);
}

TEST(SendNmi, MarksPendingAndWakesABlockedTarget) {
  Pv p;
  EXPECT_EQ(p.send_nmi(1), 0);
  EXPECT_TRUE(p.other.nmi_pending);
  EXPECT_EQ(p.other.state, VcpuState::runnable);
  EXPECT_FALSE(p.vcpu.nmi_pending);
}

TEST(NmiDelivery, WithoutACallbackTheNmiIsDropped) {
  Pv p;
  ASSERT_EQ(p.send_nmi(0), 0);
  EXPECT_FALSE(p.deliver());
  EXPECT_FALSE(p.vcpu.nmi_pending);
  EXPECT_EQ(p.vcpu.async_exception_mask, 0);
  EXPECT_EQ(p.regs.rip, kRip);
  ASSERT_EQ(p.register_nmi(), 0);
  EXPECT_FALSE(p.deliver());  // registering later does not bring it back
}

TEST(NmiDelivery, BouncesMasksAndDefersTheNextUntilIret) {
  Pv p;
  ASSERT_EQ(p.register_nmi(), 0);
  ASSERT_EQ(p.send_nmi(0), 0);
  const std::uint64_t old_rsp = p.regs.rsp;
  ASSERT_TRUE(p.deliver());
  EXPECT_EQ(p.regs.rip, kNmiHandler);
  EXPECT_EQ(p.regs.rsp, (old_rsp & ~15ull) - 7 * 8);  // no error code
  EXPECT_EQ(p.word(p.regs.rsp + 16), kRip);  // the interrupted rip, after rcx and r11
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 1);  // the NMI callback masks events
  EXPECT_EQ(p.vcpu.async_exception_mask, kAsyncTrapNmi);

  ASSERT_EQ(p.send_nmi(0), 0);  // from inside the callback: held back
  EXPECT_FALSE(p.deliver());
  EXPECT_TRUE(p.vcpu.nmi_pending);
  p.iret_from_bounce();
  EXPECT_EQ(p.vcpu.async_exception_mask, 0);
  EXPECT_EQ(p.regs.rip, kRip);
  ASSERT_TRUE(p.deliver());  // now it goes, interrupting the same place
  EXPECT_EQ(p.word(p.regs.rsp + 16), kRip);
  EXPECT_FALSE(p.vcpu.nmi_pending);
}

TEST(NmiDelivery, UnregisteringClearsTheCallback) {
  Pv p;
  ASSERT_EQ(p.register_nmi(), 0);
  pv::callback_unregister reg{pv::CALLBACKTYPE_nmi, 0};
  std::memcpy(p.memory.at(kStackTop - 0x1000), &reg, sizeof reg);
  EXPECT_EQ(p.call(pv::hypercall::callback_op, pv::CALLBACKOP_unregister, kStackTop - 0x1000), 0);
  ASSERT_EQ(p.send_nmi(0), 0);
  EXPECT_FALSE(p.deliver());
}

TEST(DebugRegisters, Dr6MergeKeepsUnacknowledgedHitsAndAddsNewOnes) {
  EXPECT_EQ(merge_dr6(kDr6Default, kDr6Default | 0x2), kDr6Default | 0x2);
  EXPECT_EQ(merge_dr6(kDr6Default | 0x1, kDr6Default | 0x4000), kDr6Default | 0x4001);  // B0 stays, BS added
  EXPECT_EQ(merge_dr6(kDr6Default, kDr6Default & ~0x10000ull), kDr6Default & ~0x10000ull);  // RTM clears
  EXPECT_TRUE(dr7_active(0x401));
  EXPECT_FALSE(dr7_active(kDr7Disabled | 0x30000));
}

TEST(DebugRegisters, SetDebugregMarksTheRegistersForLoading) {
  Pv p;
  EXPECT_EQ(p.call(pv::hypercall::set_debugreg, 0, 0x400000), 0);
  EXPECT_TRUE(p.vcpu.pv.dr_dirty);
  p.vcpu.pv.dr_dirty = false;
  EXPECT_EQ(p.call(pv::hypercall::set_debugreg, 7, 1ull << 33), -pv::XEN_EINVAL);
  EXPECT_FALSE(p.vcpu.pv.dr_dirty);  // a refused value changes nothing
  EXPECT_EQ(p.call(pv::hypercall::set_debugreg, 7, 0x401), 0);
  EXPECT_TRUE(p.vcpu.pv.dr_dirty);
}

}  // namespace
