// VCPUOP_initialise (Xen 4.17 default_initialise_vcpu + arch_set_info_guest for 64-bit PV):
// a good context installs every part; every refused one returns Xen's errno in Xen's order
// and leaves the vCPU uninitialised with no reference taken (decode -> validate -> commit).
#include <gtest/gtest.h>

#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/vcpu.hpp>
#include <pv/vcpu_context.hpp>

#include "core/descriptors.hpp"
#include "core/hypercall.hpp"
#include "fake_guest.hpp"
#include "fake_machine.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kCtx = FakeGuestMemory::kBase + 0x1000;
constexpr std::uint64_t kKernelText = 0xffffffff80001000ull;

// Domain 1 (frames of m.d1) with a second, never-initialised vCPU.
struct VcpuInitialise : ::testing::Test, FakeGuest {
  mmtest::FakeMachine m;
  Vcpu vcpu1{domain, 1};
  Mfn l4 = m.new_frame(m.d1);
  Mfn gdt = m.new_frame(m.d1);
  pv::vcpu_guest_context c{};

  VcpuInitialise() {
    EXPECT_TRUE(domain.add_vcpu(vcpu1));
    m.validator.set_segdesc_check(check_segdesc_page);
    c.flags = pv::VGCF_in_kernel;
    c.user_regs.rip = kKernelText;
    c.user_regs.rsp = 0xffffffff80200000ull;
    c.user_regs.cs = pv::FLAT_KERNEL_CS64;
    c.user_regs.ss = pv::FLAT_KERNEL_SS;
    c.ctrlreg[3] = l4 << 12;  // xen_pfn_to_cr3
  }
  long initialise(std::uint64_t arg = kCtx) {
    EXPECT_TRUE(memory.write(kCtx, c).ok());
    HypercallContext x = ctx(&m.ops);
    return dispatch_hypercall(x, pv::hypercall::vcpu_op, HypercallArgs{pv::VCPUOP_initialise, 1, arg, 0, 0});
  }
  long op(unsigned cmd, unsigned id) {
    HypercallContext x = ctx(&m.ops);
    return dispatch_hypercall(x, pv::hypercall::vcpu_op, HypercallArgs{cmd, id, 0, 0, 0});
  }
  // Nothing of a refused context may stay behind.
  void expect_untouched() {
    EXPECT_FALSE(vcpu1.initialised);
    EXPECT_EQ(vcpu1.state, VcpuState::offline);
    EXPECT_EQ(vcpu1.mm.guest_table, 0u);
    EXPECT_EQ(vcpu1.mm.guest_table_user, 0u);
    EXPECT_EQ(vcpu1.pv.gdt_ents, 0u);
    EXPECT_EQ(m.pages[l4].type_count(), 0u);
    EXPECT_EQ(m.pages[gdt].type_count(), 0u);
  }
};

TEST_F(VcpuInitialise, GoodContextInstallsEveryPart) {
  c.user_regs.rflags = 0x3000;  // IOPL 3: virtualised
  c.user_regs.cs = pv::FLAT_KERNEL_CS64 & ~3;  // RPL 0: fixed up to 3, as Xen does
  c.user_regs.rdi = 42;
  c.trap_ctxt[14] = pv::trap_info{0, 4, 0, 0, kKernelText + 0x100};  // index = vector
  c.kernel_ss = pv::FLAT_KERNEL_SS & ~3;
  c.kernel_sp = 0xffffffff80300000ull;
  c.event_callback_eip = kKernelText + 0x200;
  c.failsafe_callback_eip = kKernelText + 0x300;
  c.syscall_callback_eip = kKernelText + 0x400;
  c.flags |= pv::VGCF_failsafe_disables_events;
  c.gdt_frames[0] = gdt;
  c.gdt_ents = 16;
  c.gs_base_kernel = 0xffff888000001000ull;
  c.debugreg[0] = 0x1000;
  c.debugreg[7] = 0x1;
  c.debugreg[1] = 0xffff830000000000ull;  // a hypervisor address: ignored, as in Xen
  ASSERT_EQ(initialise(), 0);
  EXPECT_TRUE(vcpu1.initialised);
  EXPECT_EQ(vcpu1.state, VcpuState::offline) << "without VGCF_online it waits for VCPUOP_up";
  EXPECT_EQ(vcpu1.regs.rip, kKernelText);
  EXPECT_EQ(vcpu1.regs.rdi, 42u);
  EXPECT_EQ(vcpu1.regs.cs, pv::FLAT_KERNEL_CS64);
  EXPECT_EQ(vcpu1.pv.iopl, 3);
  EXPECT_EQ(vcpu1.regs.rflags & (RFLAGS_IOPL | RFLAGS_IF), RFLAGS_IF);
  EXPECT_EQ(vcpu1.pv.traps[14].address, kKernelText + 0x100);
  EXPECT_TRUE(vcpu1.pv.traps[14].mask_events);
  EXPECT_EQ(vcpu1.pv.kernel_ss, pv::FLAT_KERNEL_SS);
  EXPECT_TRUE(vcpu1.pv.event_callback.mask_events);
  EXPECT_TRUE(vcpu1.pv.failsafe_callback.mask_events);
  EXPECT_FALSE(vcpu1.pv.syscall_callback.mask_events);
  EXPECT_EQ(vcpu1.pv.syscall_callback.address, kKernelText + 0x400);
  EXPECT_EQ(vcpu1.pv.gs_base_kernel, 0xffff888000001000ull);
  EXPECT_EQ(vcpu1.pv.dr[0], 0x1000u);
  EXPECT_EQ(vcpu1.pv.dr[1], 0u);
  EXPECT_EQ(vcpu1.pv.dr7, 0x401u);
  EXPECT_TRUE(vcpu1.mm.kernel_mode);
  EXPECT_EQ(vcpu1.mm.guest_table, l4);
  EXPECT_EQ(m.pages[l4].type(), PageType::l4);
  EXPECT_EQ(vcpu1.pv.gdt_frames[0], gdt);
  EXPECT_EQ(m.pages[gdt].type(), PageType::seg_desc);
  EXPECT_EQ(initialise(), -pv::XEN_EEXIST);  // only once
  EXPECT_EQ(op(pv::VCPUOP_is_up, 1), 0);
  EXPECT_EQ(op(pv::VCPUOP_up, 1), 0);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 1), 1);
  EXPECT_EQ(vcpu1.state, VcpuState::runnable);
}

TEST_F(VcpuInitialise, UpNeedsAContextAndOnlineComesUpAtOnce) {
  EXPECT_EQ(op(pv::VCPUOP_up, 1), -pv::XEN_EINVAL);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 1), 0);
  c.flags |= pv::VGCF_online;
  ASSERT_EQ(initialise(), 0);
  EXPECT_EQ(vcpu1.state, VcpuState::runnable);
}

TEST_F(VcpuInitialise, FaultAndExistingComeInXensOrder) {
  EXPECT_EQ(initialise(0x10), -pv::XEN_EFAULT);
  expect_untouched();
  vcpu.initialised = true;  // vCPU 0: the copy succeeds, then -EEXIST
  EXPECT_TRUE(memory.write(kCtx, c).ok());
  HypercallContext x = ctx(&m.ops);
  EXPECT_EQ(dispatch_hypercall(x, pv::hypercall::vcpu_op, HypercallArgs{pv::VCPUOP_initialise, 0, kCtx, 0, 0}),
            -pv::XEN_EEXIST);
  EXPECT_EQ(dispatch_hypercall(x, pv::hypercall::vcpu_op, HypercallArgs{pv::VCPUOP_initialise, 0, 0x10, 0, 0}),
            -pv::XEN_EFAULT);
}

TEST_F(VcpuInitialise, EveryBadFieldIsRefusedUntouched) {
  c.gdt_frames[0] = gdt;
  c.gdt_ents = 16;
  const pv::vcpu_guest_context good = c;
  const std::uint64_t bad = 0x0000800000000000ull;  // non-canonical
  auto refused = [&](auto&& spoil) {
    c = good;
    spoil();
    EXPECT_EQ(initialise(), -pv::XEN_EINVAL);
    expect_untouched();
  };
  refused([&] { c.user_regs.rip = bad; });
  refused([&] { c.user_regs.rsp = bad; });
  refused([&] { c.kernel_sp = bad; });
  refused([&] { c.fs_base = bad; });
  refused([&] { c.gs_base_user = bad; });
  refused([&] { c.event_callback_eip = bad; });
  refused([&] { c.failsafe_callback_eip = bad; });
  refused([&] { c.syscall_callback_eip = bad; });
  refused([&] { c.trap_ctxt[255].address = bad; });
  refused([&] { c.ldt_ents = 1, c.ldt_base = bad; });
  refused([&] { c.ldt_base = 0xffff830000000000ull; });  // hypervisor range, even with no entries
  refused([&] { c.ldt_base = 0x1008; });                 // unaligned, even with no entries
  refused([&] { c.ldt_ents = 8193; });
  refused([&] { c.gdt_ents = kGuestGdtEntries + 1; });
  refused([&] { c.flags &= ~pv::VGCF_in_kernel; });  // user mode without a user root
  refused([&] { c.gdt_frames[0] = m.new_frame(m.d2); });  // another domain's frame
  refused([&] { c.ctrlreg[3] = m.new_frame(m.d2) << 12; });  // not our L4
  refused([&] { c.ctrlreg[3] = gdt << 12; });  // typed seg_desc by this very context
  refused([&] { c.ctrlreg[1] = m.new_frame(m.d2) << 12; });  // user root not ours: kernel root given back
  c = good;
  EXPECT_EQ(initialise(), 0);
}

TEST_F(VcpuInitialise, UserModeStartWithAUserRoot) {
  const Mfn user = m.new_frame(m.d1);
  c.flags = 0;
  c.ctrlreg[1] = user << 12;
  ASSERT_EQ(initialise(), 0);
  EXPECT_FALSE(vcpu1.mm.kernel_mode);
  EXPECT_EQ(vcpu1.mm.guest_table_user, user);
  EXPECT_EQ(m.pages[user].type(), PageType::l4);
}

}  // namespace
