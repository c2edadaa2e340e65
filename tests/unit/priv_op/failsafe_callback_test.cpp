// failsafe_callback_test: Xen 4.17's 64-bit failsafe frame (load_segments) word by word, from
// kernel and from user mode, the event mask it may set, and an unwritable stack crashing the
// domain.
#include <gtest/gtest.h>

#include <cstring>
#include <pv/arch_x86_64.hpp>
#include <pv/shared_info.hpp>

#include "core/failsafe_callback.hpp"
#include "fake_guest.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kCallback = 0xffffffff80003000ull;

struct Guest : FakeGuest {
  Guest() {
    vcpu.pv.failsafe_callback = GuestEntry{kCallback, false, 0};
    regs.rip = 0xffffffff80005000ull;
    regs.cs = pv::FLAT_KERNEL_CS;
    regs.ss = pv::FLAT_KERNEL_SS;
    regs.rsp = FakeGuestMemory::kBase + 0x4008;
    regs.rflags = 0x202 | (1u << 8);
    regs.rcx = 0x1111;
    regs.r11 = 0x2222;
  }
  bool deliver() {
    HypercallContext c = ctx();
    return deliver_failsafe_callback(c, DataSelectors{0x2b, 0x33, 0x3b, 0x43});
  }
};

TEST(FailsafeCallback, KernelModeFrameMatchesXen) {
  Guest g;
  g.shared.vcpu_info[0].evtchn_upcall_mask = 1;
  ASSERT_TRUE(g.deliver());
  const std::uint64_t top = FakeGuestMemory::kBase + 0x4000;  // rsp aligned down to 16
  const std::uint64_t base = top - 11 * 8;
  EXPECT_EQ(g.regs.rsp, base);
  const std::uint64_t expected[11] = {0x1111, 0x2222, 0x2b, 0x33, 0x3b, 0x43,
                                      0xffffffff80005000ull,
                                      (pv::FLAT_KERNEL_CS & ~3u) | (1ull << 32),
                                      (0x202 | (1u << 8)) & ~std::uint64_t{1u << 9},  // IF = !mask
                                      FakeGuestMemory::kBase + 0x4008, pv::FLAT_KERNEL_SS};
  for (unsigned i = 0; i < 11; ++i) EXPECT_EQ(g.word(base + 8 * i), expected[i]) << "word " << i;
  EXPECT_EQ(g.regs.rip, kCallback);
  EXPECT_EQ(g.regs.cs, pv::FLAT_KERNEL_CS);
  EXPECT_EQ(g.regs.ss, pv::FLAT_KERNEL_SS);
  EXPECT_EQ(g.regs.rflags & (1u << 8), 0u);  // TF cleared
  EXPECT_EQ(g.cpu.toggles, 0);
}

TEST(FailsafeCallback, UserModeSwitchesToKernelStackAndMasksIfAsked) {
  Guest g;
  g.vcpu.mm.kernel_mode = false;
  g.vcpu.pv.kernel_sp = FakeGuestMemory::kBase + 0x6000;
  g.vcpu.pv.failsafe_callback.mask_events = true;
  g.regs.cs = pv::FLAT_USER_CS;
  g.regs.ss = pv::FLAT_USER_SS;
  g.regs.rsp = 0x7fff0000;  // the user stack is never touched
  ASSERT_TRUE(g.deliver());
  EXPECT_EQ(g.cpu.toggles, 1);
  const std::uint64_t base = FakeGuestMemory::kBase + 0x6000 - 11 * 8;
  EXPECT_EQ(g.regs.rsp, base);
  EXPECT_EQ(g.word(base + 7 * 8), std::uint64_t{pv::FLAT_USER_CS});  // RPL 3 kept, mask 0
  EXPECT_EQ(g.word(base + 8 * 8) & (1u << 9), 1u << 9);               // events were on
  EXPECT_EQ(g.word(base + 9 * 8), 0x7fff0000u);
  EXPECT_EQ(g.word(base + 10 * 8), std::uint64_t{pv::FLAT_USER_SS});
  EXPECT_EQ(g.shared.vcpu_info[0].evtchn_upcall_mask, 1);
}

TEST(FailsafeCallback, UnwritableStackCrashesTheDomain) {
  Guest g;
  g.regs.rsp = 0x1000;
  EXPECT_FALSE(g.deliver());
  EXPECT_EQ(g.domain.shutdown_reason(), 3u);  // SHUTDOWN_crash
  EXPECT_TRUE(g.domain.is_shut_down());
}

}  // namespace
