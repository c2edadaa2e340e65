// pv_cpu_test: bounce frames and the PV CPU hypercalls, checked word by word against Xen
// 4.17's create_bounce_frame / do_iret semantics, plus the hostile cases (no handler, a stack
// in the hypervisor range, an unmapped stack, a bad iret frame): the domain crashes, nothing
// else happens.
#include <gtest/gtest.h>

#include <cstring>
#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/shared_info.hpp>

#include "core/pv_cpu.hpp"
#include "fake_guest.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kStackTop = FakeGuestMemory::kBase + 0x8000;
constexpr std::uint64_t kHandler = 0xFFFFFFFF80001234ull;

struct Pv : FakeGuest {
  Pv() {
    regs.rip = 0xFFFFFFFF80005000ull;
    regs.cs = pv::FLAT_KERNEL_CS;
    regs.ss = pv::FLAT_KERNEL_SS;
    regs.rsp = kStackTop - 8;  // deliberately not 16-byte aligned
    regs.rflags = 0x246 | (1u << 8) | (1u << 18);  // IF, ZF, PF + TF, AC
    regs.rcx = 0x1111;
    regs.r11 = 0x2222;
  }
};

TEST(BounceFrame, KernelModePageFaultMatchesXensLayout) {
  Pv p;
  p.vcpu.pv.traps[14] = GuestEntry{kHandler, false, 0};
  auto ctx = p.ctx();
  ASSERT_TRUE(deliver_exception(ctx, 14, true, 0x7 /* P|W|U from hardware */, 0xdead000));
  const std::uint64_t base = (kStackTop - 16) - 8 * 8;  // aligned down, 8 words with error code
  EXPECT_EQ(p.regs.rsp, base);
  EXPECT_EQ(p.word(base + 0), 0x1111u);               // rcx
  EXPECT_EQ(p.word(base + 8), 0x2222u);               // r11
  EXPECT_EQ(p.word(base + 16), 0x3u);                 // error code: U/S cleared (kernel mode)
  EXPECT_EQ(p.word(base + 24), 0xFFFFFFFF80005000u);  // rip
  EXPECT_EQ(p.word(base + 32), pv::FLAT_KERNEL_CS & ~3u);  // CS, RPL 0: "kernel context"; mask 0
  EXPECT_EQ(p.word(base + 40) & (1u << 9), 1u << 9);  // IF = !upcall mask
  EXPECT_EQ(p.word(base + 48), kStackTop - 8);        // interrupted rsp
  EXPECT_EQ(p.word(base + 56), pv::FLAT_KERNEL_SS);
  EXPECT_EQ(p.shared.vcpu_info[0].arch.cr2, 0xdead000u);
  EXPECT_EQ(p.regs.rip, kHandler);
  EXPECT_EQ(p.regs.cs, pv::FLAT_KERNEL_CS);
  EXPECT_EQ(p.regs.rflags & ((1u << 8) | (1u << 18)), 0u);  // TF and AC cleared
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 0);  // trap gate: events stay as they were
}

TEST(BounceFrame, MaskedEventsShowInCsAndRflagsAndInterruptGatesMask) {
  Pv p;
  p.shared.vcpu_info[0].evtchn_upcall_mask = 1;
  p.vcpu.pv.traps[3] = GuestEntry{kHandler, true, 3};
  auto ctx = p.ctx();
  ASSERT_TRUE(deliver_exception(ctx, 3, false, 0));
  const std::uint64_t base = (kStackTop - 16) - 7 * 8;
  EXPECT_EQ(p.word(base + 24), (std::uint64_t{1} << 32) | (pv::FLAT_KERNEL_CS & ~3u));
  EXPECT_EQ(p.word(base + 32) & (1u << 9), 0u);  // IF clear: events were masked
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 1);
  Pv q;
  q.vcpu.pv.traps[3] = GuestEntry{kHandler, true, 3};
  auto c2 = q.ctx();
  ASSERT_TRUE(deliver_exception(c2, 3, false, 0));
  EXPECT_EQ(q.shared.vcpu_info[0].evtchn_upcall_mask, 1);  // TI_IF: masked on delivery
}

TEST(BounceFrame, FromUserModeSwitchesToTheKernelStack) {
  Pv p;
  p.vcpu.mm.kernel_mode = false;
  p.vcpu.mm.guest_table_user = 5;
  p.vcpu.pv.kernel_sp = kStackTop - 0x100;
  p.regs.cs = pv::FLAT_USER_CS;
  p.regs.rsp = 0x7000;  // user stack, not mapped in the fake: must not be touched
  p.vcpu.pv.traps[14] = GuestEntry{kHandler, false, 0};
  auto ctx = p.ctx();
  ASSERT_TRUE(deliver_exception(ctx, 14, true, 0x6, 0x1000));
  EXPECT_TRUE(p.vcpu.mm.kernel_mode);
  EXPECT_EQ(p.cpu.toggles, 1);
  const std::uint64_t base = (kStackTop - 0x100) - 8 * 8;
  EXPECT_EQ(p.regs.rsp, base);
  EXPECT_EQ(p.word(base + 16), 0x6u | 4u);            // U/S set: user-mode fault
  EXPECT_EQ(p.word(base + 32), pv::FLAT_USER_CS);     // RPL 3 kept
  EXPECT_EQ(p.word(base + 48), 0x7000u);
}

TEST(BounceFrame, HostileStatesCrashOnlyTheDomain) {
  {
    Pv p;  // no handler
    auto ctx = p.ctx();
    EXPECT_FALSE(deliver_exception(ctx, 13, true, 0));
    EXPECT_TRUE(p.domain.is_shut_down());
  }
  {
    Pv p;  // stack in the hypervisor range
    p.vcpu.pv.traps[6] = GuestEntry{kHandler, false, 0};
    p.regs.rsp = 0xFFFF830000001000ull;
    auto ctx = p.ctx();
    EXPECT_FALSE(deliver_exception(ctx, 6, false, 0));
    EXPECT_EQ(p.domain.shutdown_reason(), 3u);
  }
  {
    Pv p;  // unmapped stack
    p.vcpu.pv.traps[6] = GuestEntry{kHandler, false, 0};
    p.regs.rsp = 0x400000;
    auto ctx = p.ctx();
    EXPECT_FALSE(deliver_exception(ctx, 6, false, 0));
    EXPECT_TRUE(p.domain.is_shut_down());
  }
}

TEST(UserSyscall, GoesToTheCallbackOrBecomesUd) {
  Pv p;
  p.vcpu.mm.kernel_mode = false;
  p.vcpu.mm.guest_table_user = 9;
  p.vcpu.pv.kernel_sp = kStackTop;
  p.regs.cs = pv::FLAT_USER_CS;
  p.regs.rip = 0x401002;
  p.regs.rflags = 0x646;  // DF set
  p.vcpu.pv.syscall_callback = GuestEntry{kHandler, true, 0};
  auto ctx = p.ctx();
  ASSERT_TRUE(deliver_user_syscall(ctx));
  EXPECT_EQ(p.regs.rip, kHandler);
  EXPECT_EQ(p.regs.rsp, kStackTop - 7 * 8);
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 1);
  EXPECT_EQ(p.word(kStackTop - 7 * 8 + 24) & 0xFFFF, pv::FLAT_USER_CS);
  Pv q;
  q.vcpu.mm.kernel_mode = false;
  q.vcpu.mm.guest_table_user = 9;
  q.vcpu.pv.kernel_sp = kStackTop;
  q.regs.rip = 0x401002;
  q.vcpu.pv.traps[6] = GuestEntry{kHandler, false, 0};
  auto c2 = q.ctx();
  ASSERT_TRUE(deliver_user_syscall(c2));  // no callback: #UD at the syscall itself
  EXPECT_EQ(q.word(kStackTop - 7 * 8 + 16), 0x401000u);
}

TEST(SoftInterrupt, DplAgainstGuestMode) {
  Pv p;
  p.vcpu.pv.traps[0x80] = GuestEntry{kHandler, false, 3};
  p.vcpu.pv.traps[0x81] = GuestEntry{kHandler, false, 1};
  p.vcpu.pv.traps[0x82] = GuestEntry{kHandler, false, 0};
  EXPECT_TRUE(soft_interrupt_permitted(p.vcpu, 0x80));
  EXPECT_TRUE(soft_interrupt_permitted(p.vcpu, 0x81));
  EXPECT_FALSE(soft_interrupt_permitted(p.vcpu, 0x82));
  p.vcpu.mm.kernel_mode = false;
  EXPECT_TRUE(soft_interrupt_permitted(p.vcpu, 0x80));
  EXPECT_FALSE(soft_interrupt_permitted(p.vcpu, 0x81));
}

TEST(Iret, RestoresStateAndUpcallMask) {
  Pv p;
  pv::iret_context frame{0xAAAA, 0xBBBB, 0xCCCC, 0, 0xFFFFFFFF80009000ull, pv::FLAT_KERNEL_CS & ~3u,
                         0x3202 /* IF + IOPL 3 */, kStackTop - 0x40, pv::FLAT_KERNEL_SS & ~3u};
  p.regs.rsp = kStackTop - 0x200;
  std::memcpy(p.memory.at(p.regs.rsp), &frame, sizeof frame);
  p.shared.vcpu_info[0].evtchn_upcall_mask = 1;
  EXPECT_EQ(p.call(pv::hypercall::iret), 0xAAAA);
  EXPECT_EQ(p.regs.rip, 0xFFFFFFFF80009000u);
  EXPECT_EQ(p.regs.cs, pv::FLAT_KERNEL_CS);  // RPL forced to 3
  EXPECT_EQ(p.regs.ss, pv::FLAT_KERNEL_SS);
  EXPECT_EQ(p.regs.rflags & RFLAGS_IOPL, 0u);
  EXPECT_EQ(p.regs.rcx, 0xCCCCu);
  EXPECT_EQ(p.regs.r11, 0xBBBBu);
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 0);
  EXPECT_EQ(p.cpu.toggles, 0);
  frame.flags = pv::VGCF_in_syscall;
  frame.rflags = 0x2;  // IF clear: events masked on return
  std::memcpy(p.memory.at(p.regs.rsp = kStackTop - 0x200), &frame, sizeof frame);
  p.regs.rcx = p.regs.r11 = 7;
  p.call(pv::hypercall::iret);
  EXPECT_EQ(p.regs.rcx, 7u);
  EXPECT_EQ(p.shared.vcpu_info[0].evtchn_upcall_mask, 1);
}

TEST(Iret, ToUserModeNeedsUserTablesAndBadFramesCrash) {
  Pv p;
  pv::iret_context frame{0, 0, 0, 0, 0x400000, pv::FLAT_USER_CS, 0x202, 0x7ff0, pv::FLAT_USER_SS};
  p.regs.rsp = kStackTop - 0x200;
  std::memcpy(p.memory.at(p.regs.rsp), &frame, sizeof frame);
  p.call(pv::hypercall::iret);
  EXPECT_TRUE(p.domain.is_shut_down());  // no user page tables
  Pv q;
  q.vcpu.mm.guest_table_user = 42;
  q.regs.rsp = kStackTop - 0x200;
  std::memcpy(q.memory.at(q.regs.rsp), &frame, sizeof frame);
  q.call(pv::hypercall::iret);
  EXPECT_FALSE(q.vcpu.mm.kernel_mode);
  EXPECT_EQ(q.cpu.toggles, 1);
  Pv r;
  r.regs.rsp = 0xFFFF830000000000ull;  // frame "in" the hypervisor
  r.call(pv::hypercall::iret);
  EXPECT_TRUE(r.domain.is_shut_down());
}

TEST(TrapTable, InstallsClearsAndValidates) {
  Pv p;
  pv::trap_info table[3] = {{14, 0, pv::FLAT_KERNEL_CS, 0, kHandler},
                            {0x80, 3 | pv::TI_IF_FLAG, pv::FLAT_KERNEL_CS, 0, kHandler + 16},
                            {0, 0, 0, 0, 0}};
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), table, sizeof table);
  EXPECT_EQ(p.call(pv::hypercall::set_trap_table, FakeGuestMemory::kBase), 0);
  EXPECT_EQ(p.vcpu.pv.traps[14].address, kHandler);
  EXPECT_TRUE(p.vcpu.pv.traps[0x80].mask_events);
  EXPECT_EQ(p.vcpu.pv.traps[0x80].dpl, 3);
  table[0].address = 0x0000900000000000ull;  // non-canonical
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), table, sizeof table);
  EXPECT_EQ(p.call(pv::hypercall::set_trap_table, FakeGuestMemory::kBase), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::set_trap_table, 0xFFFF82D040000000ull), -pv::XEN_EFAULT);
  EXPECT_EQ(p.call(pv::hypercall::set_trap_table, 0), 0);
  EXPECT_EQ(p.vcpu.pv.traps[14].address, 0u);
}

TEST(Callbacks, RegisterUnregisterAndStackSwitch) {
  Pv p;
  auto reg = [&](std::uint16_t type, std::uint16_t flags, std::uint64_t addr) {
    pv::callback_register r{type, flags, 0, addr};
    std::memcpy(p.memory.at(FakeGuestMemory::kBase), &r, sizeof r);
    return p.call(pv::hypercall::callback_op, pv::CALLBACKOP_register, FakeGuestMemory::kBase);
  };
  EXPECT_EQ(reg(pv::CALLBACKTYPE_event, 0, kHandler), 0);
  EXPECT_TRUE(p.vcpu.pv.event_callback.mask_events);
  EXPECT_EQ(reg(pv::CALLBACKTYPE_syscall, pv::CALLBACKF_mask_events, kHandler + 8), 0);
  EXPECT_TRUE(p.vcpu.pv.syscall_callback.mask_events);
  EXPECT_EQ(reg(pv::CALLBACKTYPE_failsafe, 0, kHandler + 16), 0);
  EXPECT_FALSE(p.vcpu.pv.failsafe_callback.mask_events);
  EXPECT_EQ(reg(pv::CALLBACKTYPE_nmi, 0, kHandler + 24), 0);
  EXPECT_EQ(p.vcpu.pv.traps[2].address, kHandler + 24);
  EXPECT_EQ(reg(9, 0, kHandler), -pv::XEN_ENOSYS);
  EXPECT_EQ(reg(pv::CALLBACKTYPE_event, 0, 0x0000800000000000ull), -pv::XEN_EINVAL);
  pv::callback_unregister u{pv::CALLBACKTYPE_syscall, 0};
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &u, sizeof u);
  EXPECT_EQ(p.call(pv::hypercall::callback_op, pv::CALLBACKOP_unregister, FakeGuestMemory::kBase), -pv::XEN_EINVAL);
  u.type = pv::CALLBACKTYPE_nmi;
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &u, sizeof u);
  EXPECT_EQ(p.call(pv::hypercall::callback_op, pv::CALLBACKOP_unregister, FakeGuestMemory::kBase), 0);
  EXPECT_EQ(p.vcpu.pv.traps[2].address, 0u);
  EXPECT_EQ(p.call(pv::hypercall::stack_switch, pv::FLAT_KERNEL_SS & ~3u, 0xFFFF888000010000ull), 0);
  EXPECT_EQ(p.vcpu.pv.kernel_ss, pv::FLAT_KERNEL_SS);
  EXPECT_EQ(p.vcpu.pv.kernel_sp, 0xFFFF888000010000u);
}

TEST(SegmentBaseAndFpu, GoToThePlatformAfterValidation) {
  Pv p;
  EXPECT_EQ(p.call(pv::hypercall::set_segment_base, pv::SEGBASE_FS, 0x7f0000001000ull), 0);
  EXPECT_EQ(p.call(pv::hypercall::set_segment_base, pv::SEGBASE_GS_KERNEL, 0x0000800000000000ull), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::set_segment_base, 9, 0), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::set_segment_base, pv::SEGBASE_GS_USER_SEL, 0x1002b), 0);
  ASSERT_EQ(p.cpu.segment_writes.size(), 2u);
  EXPECT_EQ(p.cpu.segment_writes[1].second, 0x2bu);
  EXPECT_EQ(p.call(pv::hypercall::fpu_taskswitch, 1), 0);
  EXPECT_TRUE(p.cpu.fpu_trap);
  EXPECT_TRUE(p.vcpu.pv.virtual_ts);
  EXPECT_EQ(p.call(pv::hypercall::fpu_taskswitch, 0), 0);
  EXPECT_FALSE(p.cpu.fpu_trap);
}

}  // namespace

#include "core/cpuid_policy.hpp"

namespace {

hv::CpuidRegs fake_host(std::uint32_t leaf, std::uint32_t) {
  if (leaf == 1) return {0x806F8, 0, 0xFFFFFFFF & ~(1u << 31), 0xFFFFFFFF};
  if (leaf == 0x80000001) return {0, 0, 0xFFFFFFFF, 0xFFFFFFFF};
  return {leaf, 1, 2, 3};
}

TEST(CpuidPolicy, XenLeavesAndFiltering) {
  auto sig = hv::guest_cpuid(0x40000000, 0, fake_host);
  EXPECT_EQ(sig.eax, 0x40000005u);
  char text[13] = {};
  std::memcpy(text, &sig.ebx, 4);
  std::memcpy(text + 4, &sig.ecx, 4);
  std::memcpy(text + 8, &sig.edx, 4);
  EXPECT_STREQ(text, "XenVMMXenVMM");
  EXPECT_EQ(hv::guest_cpuid(0x40000001, 0, fake_host).eax, 0x40011u);
  EXPECT_EQ(hv::guest_cpuid(0x40000002, 0, fake_host).ebx, 0x40000000u);
  EXPECT_EQ(hv::guest_cpuid(0x40000006, 0, fake_host).eax, 0u);
  auto l1 = hv::guest_cpuid(1, 0, fake_host);
  EXPECT_TRUE(l1.ecx & (1u << 31));   // hypervisor
  EXPECT_FALSE(l1.ecx & (1u << 5));   // VMX
  EXPECT_FALSE(l1.ecx & (1u << 21));  // x2APIC
  EXPECT_TRUE(l1.ecx & (1u << 26));   // XSAVE kept
  EXPECT_FALSE(hv::guest_cpuid(0x80000001, 0, fake_host).ecx & (1u << 2));  // SVM
  EXPECT_EQ(hv::guest_cpuid(7, 0, fake_host).ebx, 1u);  // FSGSBASE (bit 0) is a PV feature
  EXPECT_EQ(hv::guest_cpuid(0xb, 0, fake_host).ebx, 1u);  // leaves without a feature word pass
  // Xen's PV default featureset: no PSE, PGE, PSE36, 1 GiB pages or monitor; OSXSAVE follows
  // the guest's CR4.
  EXPECT_FALSE(l1.edx & (1u << 3));   // PSE
  EXPECT_FALSE(l1.edx & (1u << 13));  // PGE
  EXPECT_FALSE(l1.edx & (1u << 17));  // PSE36
  EXPECT_TRUE(l1.edx & (1u << 0));    // FPU
  EXPECT_FALSE(l1.ecx & (1u << 3));   // MONITOR
  EXPECT_FALSE(l1.ecx & (1u << 27));  // OSXSAVE while the guest's CR4 lacks it
  EXPECT_TRUE(hv::guest_cpuid(1, 0, fake_host, true).ecx & (1u << 27));
  auto e1 = hv::guest_cpuid(0x80000001, 0, fake_host);
  EXPECT_FALSE(e1.edx & (1u << 26));  // 1 GiB pages
  EXPECT_TRUE(e1.edx & (1u << 29));   // long mode
  EXPECT_TRUE(e1.edx & (1u << 20));   // NX
  const std::uint8_t forced[7] = {0x0F, 0x0B, 'x', 'e', 'n', 0x0F, 0xA2};
  const std::uint8_t plain[7] = {0x0F, 0x0B, 'x', 'e', 'n', 0x0F, 0xA3};
  EXPECT_TRUE(hv::is_forced_cpuid(forced));
  EXPECT_FALSE(hv::is_forced_cpuid(plain));
}

}  // namespace

#include <pv/mmu.hpp>
#include <pv/multicall.hpp>
#include <pv/physdev.hpp>
#include <pv/version.hpp>

namespace {

TEST(VmAssist, PV64MaskAndCommands) {
  Pv p;
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, pv::VMASST_CMD_enable, pv::VMASST_TYPE_writable_pagetables), 0);
  EXPECT_EQ(p.domain.memory.vm_assist, 1u << pv::VMASST_TYPE_writable_pagetables);
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, pv::VMASST_CMD_enable, pv::VMASST_TYPE_m2p_strict), 0);
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, pv::VMASST_CMD_disable, pv::VMASST_TYPE_m2p_strict), 0);
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, pv::VMASST_CMD_enable, 6), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, pv::VMASST_CMD_enable, 64), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::vm_assist, 7, pv::VMASST_TYPE_writable_pagetables), -pv::XEN_ENOSYS);
}

TEST(Multicall, RunsEachCallAndWritesResults) {
  Pv p;
  pv::multicall_entry calls[3] = {};
  calls[0].op = pv::hypercall::xen_version;  // -> 4.17
  calls[1].op = 99;                          // -> -ENOSYS
  calls[2].op = pv::hypercall::multicall;    // nested -> -EINVAL
  const std::uint64_t list = FakeGuestMemory::kBase + 0x1000;
  std::memcpy(p.memory.at(list), calls, sizeof calls);
  EXPECT_EQ(p.call(pv::hypercall::multicall, list, 3), 0);
  std::memcpy(calls, p.memory.at(list), sizeof calls);
  EXPECT_EQ(calls[0].result, 0x40011u);
  EXPECT_EQ(static_cast<long>(calls[1].result), -pv::XEN_ENOSYS);
  EXPECT_EQ(static_cast<long>(calls[2].result), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::multicall, 0xFFFF830000000000ull, 1), -pv::XEN_EFAULT);
  EXPECT_EQ(p.call(pv::hypercall::multicall, list, 0), 0);
  EXPECT_EQ(p.call(pv::hypercall::multicall, list, 0xFFFFFFFF), -pv::XEN_EINVAL);
}

TEST(PhysdevOp, SetIopl) {
  Pv p;
  pv::physdev_set_iopl op{1};
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &op, sizeof op);
  EXPECT_EQ(p.call(pv::hypercall::physdev_op, pv::PHYSDEVOP_set_iopl, FakeGuestMemory::kBase), 0);
  EXPECT_EQ(p.vcpu.pv.iopl, 1);
  op.iopl = 4;
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &op, sizeof op);
  EXPECT_EQ(p.call(pv::hypercall::physdev_op, pv::PHYSDEVOP_set_iopl, FakeGuestMemory::kBase), -pv::XEN_EINVAL);
  EXPECT_EQ(p.call(pv::hypercall::physdev_op, 1000, 0), -pv::XEN_ENOSYS);
}

}  // namespace

#include <pv/memory.hpp>

namespace {

TEST(MemoryOp, DescribesMemoryAndTheM2P) {
  Pv p;
  p.info.max_page = 0x20000;
  p.info.m2p_first_mfn = 0x1fe00;
  p.info.m2p_frames = 600;  // two 2 MiB extents
  p.domain.memory.tot_pages = 100;
  p.domain.memory.max_pages = 200;
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_maximum_ram_page), 0x20000);
  pv::domid_t self = pv::DOMID_SELF, other = 7;
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &self, sizeof self);
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_current_reservation, FakeGuestMemory::kBase), 100);
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_maximum_reservation, FakeGuestMemory::kBase), 200);
  std::memcpy(p.memory.at(FakeGuestMemory::kBase), &other, sizeof other);
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_current_reservation, FakeGuestMemory::kBase), -pv::XEN_ESRCH);

  const std::uint64_t list_va = FakeGuestMemory::kBase + 0x100, out_va = FakeGuestMemory::kBase + 0x200;
  pv::xen_machphys_mfn_list list{8, 0, {out_va}, 0};
  std::memcpy(p.memory.at(list_va), &list, sizeof list);
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_machphys_mfn_list, list_va), 0);
  std::memcpy(&list, p.memory.at(list_va), sizeof list);
  EXPECT_EQ(list.nr_extents, 2u);
  EXPECT_EQ(p.word(out_va + 8), 0x1fe00u + 512);

  pv::xen_machphys_mapping m{};
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_machphys_mapping, list_va), 0);
  std::memcpy(&m, p.memory.at(list_va), sizeof m);
  EXPECT_EQ(m.v_start, pv::MACH2PHYS_VIRT_START);
  EXPECT_EQ(m.max_mfn, pv::MACH2PHYS_NR_ENTRIES - 1);  // unprivileged: the whole range
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_memory_map, list_va), -pv::XEN_ENOSYS);
  EXPECT_EQ(p.call(pv::hypercall::memory_op, pv::XENMEM_machine_memory_map, list_va), -pv::XEN_EPERM);
}

}  // namespace
