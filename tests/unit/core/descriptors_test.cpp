// descriptors_test: Xen 4.17's check_descriptor rules for 64-bit PV, and set_gdt,
// update_descriptor, set_debugreg and get_debugreg over the fake machine's frame table:
// every refusal leaves the references as they were.
#include <gtest/gtest.h>

#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>

#include "core/descriptors.hpp"
#include "core/hypercall.hpp"
#include "fake_cpu.hpp"
#include "fake_guest_memory.hpp"
#include "fake_machine.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kCode0 = 0x00AF9A000000FFFF;  // flat 64-bit code, DPL 0
constexpr std::uint64_t kCode3 = 0x00AFFA000000FFFF;
constexpr std::uint64_t kData1 = 0x00CFB2000000FFFF;  // flat data, DPL 1
constexpr std::uint64_t kData3 = 0x00CFF2000000FFFF;
constexpr std::uint64_t kTss = 0x0000890000000067;
constexpr std::uint64_t kList = FakeGuestMemory::kBase;  // where tests put frame lists

// A 64-bit call gate's low half: target selector, DPL, P, type 0xC, offset 0x1234.
constexpr std::uint64_t call_gate(std::uint16_t sel, unsigned dpl, std::uint8_t reserved = 0) {
  return 0x1234 | (std::uint64_t{sel} << 16) | (std::uint64_t{reserved} << 32) |
         (std::uint64_t{0x8C00u | (dpl << 13)} << 32);
}

std::uint64_t checked(std::uint64_t d) {
  EXPECT_TRUE(check_descriptor(d)) << std::hex << d;
  return d;
}
bool accepted(std::uint64_t d) { return check_descriptor(d); }

TEST(CheckDescriptor, NotPresentIsAcceptedUnchanged) {
  EXPECT_EQ(checked(kTss & ~(1ull << 47)), kTss & ~(1ull << 47));
  EXPECT_EQ(checked(0), 0u);
}

TEST(CheckDescriptor, CodeAndDataGetDpl3) {
  EXPECT_EQ(checked(kCode0), kCode3);
  EXPECT_EQ(checked(kData1), kData3);
  EXPECT_EQ(checked(kCode3), kCode3);
  EXPECT_EQ(checked(0x00CF92000000FFFF), kData3) << "DPL 0 data";
}

TEST(CheckDescriptor, SystemDescriptorsOtherThanCallGatesAreRefused) {
  EXPECT_FALSE(accepted(kTss));
  EXPECT_FALSE(accepted(0x00008B0000000067)) << "busy TSS";
  EXPECT_FALSE(accepted(0x0000820000000000)) << "LDT";
  EXPECT_FALSE(accepted(0x00008E0000101234)) << "interrupt gate";
  EXPECT_FALSE(accepted(0x0000EF0000101234)) << "trap gate, DPL 3";
}

TEST(CheckDescriptor, TypeZeroIsTheUpperHalfOfAGateAndStaysAsIs) {
  EXPECT_EQ(checked(0x0000800000000000), 0x0000800000000000u) << "present, DPL 0 kept";
  EXPECT_EQ(checked(0xffffffff), 0xffffffffu) << "upper half: offset bits 63:32";
}

TEST(CheckDescriptor, CallGatesGetDpl0WithTheGuestDplInTheSelectorRpl) {
  EXPECT_EQ(checked(call_gate(0x10, 3)), call_gate(0x13, 0));
  EXPECT_EQ(checked(call_gate(0x10, 0)), call_gate(0x13, 0)) << "DPL raised to 3 first";
  EXPECT_EQ(checked(call_gate(pv::FLAT_KERNEL_CS, 3)), call_gate(pv::FLAT_KERNEL_CS, 0));
  EXPECT_EQ(checked(call_gate(0xe00c, 3)), call_gate(0xe00f, 0)) << "LDT selector";
  EXPECT_EQ(checked(call_gate(0xdff8, 3)), call_gate(0xdffb, 0)) << "last guest GDT entry";
  EXPECT_FALSE(accepted(call_gate(0xe008, 3))) << "the hypervisor's ring-0 CS";
  EXPECT_FALSE(accepted(call_gate(0xe000, 3)));
  EXPECT_FALSE(accepted(call_gate(0x10, 3, 0x01))) << "reserved bits";
}

TEST(CheckDescriptor, PageCheckFixesUpInPlaceOrRefusesTheWholePage) {
  std::uint64_t page[512] = {};
  page[1] = kCode0;
  page[2] = kData1;
  EXPECT_TRUE(check_segdesc_page(page).ok());
  EXPECT_EQ(page[1], kCode3);
  EXPECT_EQ(page[2], kData3);
  page[511] = kTss;
  EXPECT_EQ(check_segdesc_page(page).code(), -pv::XEN_EINVAL);
}

struct Descriptors : ::testing::Test {
  mmtest::FakeMachine m;
  Domain domain{1, false};  // owns the frames of m.d1
  Vcpu vcpu{domain, 0};
  FakeGuestMemory memory;
  HypervisorInfo info{};
  GuestRegisters regs{};
  FakeCpu cpu;
  HypercallContext ctx{vcpu, memory, info, regs, cpu, &m.ops};

  Descriptors() { m.validator.set_segdesc_check(check_segdesc_page); }
  long call(unsigned nr, std::uint64_t a1, std::uint64_t a2 = 0) {
    return dispatch_hypercall(ctx, nr, HypercallArgs{a1, a2, 0, 0, 0});
  }
  long set_gdt(std::initializer_list<Mfn> frames, unsigned entries) {
    unsigned i = 0;
    for (Mfn f : frames) EXPECT_TRUE(memory.write(kList + 8 * i++, f).ok());
    return call(pv::hypercall::set_gdt, kList, entries);
  }
  Mfn gdt_frame() {
    Mfn f = m.new_frame(m.d1);
    m.word(f, 1) = kCode0;
    m.word(f, 2) = kData1;
    return f;
  }
  std::uint64_t type_refs(Mfn f) const { return m.pages[f].type_count(); }
};

TEST_F(Descriptors, SetGdtTypesTheFramesAndFixesThemUp) {
  Mfn a = gdt_frame(), b = gdt_frame();
  ASSERT_EQ(set_gdt({a, b}, 513), 0);
  EXPECT_EQ(m.pages[a].type(), PageType::seg_desc);
  EXPECT_EQ(type_refs(a), 1u);
  EXPECT_EQ(type_refs(b), 1u);
  EXPECT_EQ(m.word(a, 1), kCode3);
  EXPECT_EQ(m.word(b, 2), kData3);
  EXPECT_EQ(vcpu.pv.gdt_ents, 513u);
  EXPECT_EQ(cpu.gdt_loads, 1);
  // A new GDT takes its references before the old one's go.
  ASSERT_EQ(set_gdt({b}, 16), 0);
  EXPECT_EQ(type_refs(a), 0u);
  EXPECT_EQ(type_refs(b), 1u);
  ASSERT_EQ(set_gdt({}, 0), 0);
  EXPECT_EQ(type_refs(b), 0u);
  EXPECT_EQ(vcpu.pv.gdt_ents, 0u);
  EXPECT_EQ(cpu.gdt_loads, 3);
}

TEST_F(Descriptors, SetGdtLimitsAndFaults) {
  EXPECT_EQ(set_gdt({}, kGuestGdtEntries + 1), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::set_gdt, 0x1000, 1), -pv::XEN_EFAULT);
  Mfn frames[kGuestGdtFrames];
  for (Mfn& f : frames) f = gdt_frame();
  for (unsigned i = 0; i < kGuestGdtFrames; ++i) ASSERT_TRUE(memory.write(kList + 8 * i, frames[i]).ok());
  EXPECT_EQ(call(pv::hypercall::set_gdt, kList, kGuestGdtEntries), 0) << "all 14 pages";
  EXPECT_EQ(type_refs(frames[13]), 1u);
  destroy_gdt(vcpu.pv, m.frames);  // as domain teardown does
  EXPECT_EQ(type_refs(frames[0]), 0u);
  EXPECT_EQ(m.pages[frames[0]].count(), 1u) << "only the allocation reference left";
  EXPECT_EQ(mmtest::check_consistency(m), "");
}

TEST_F(Descriptors, SetGdtRefusesBadFramesAndKeepsTheOldGdt) {
  Mfn old = gdt_frame(), good = gdt_frame();
  ASSERT_EQ(set_gdt({old}, 8), 0);
  Mfn foreign = m.new_frame(m.d2);
  Mfn writable = gdt_frame();
  ASSERT_TRUE(m.frames.get_page_type(writable, PageType::writable).ok());  // as if mapped RW
  Mfn tss = gdt_frame();
  m.word(tss, 5) = kTss;
  for (Mfn bad : {foreign, writable, tss, Mfn{mmtest::kFrames + 5}, Mfn{mmtest::kXenImageFirst}}) {
    EXPECT_EQ(set_gdt({good, bad}, 1024), -pv::XEN_EINVAL) << bad;
    EXPECT_EQ(type_refs(good), 0u) << "the first frame's reference was released";
    EXPECT_EQ(m.pages[good].count(), 1u);
    EXPECT_EQ(vcpu.pv.gdt_frames[0], old);
    EXPECT_EQ(type_refs(old), 1u);
  }
  EXPECT_EQ(m.pages[tss].type(), PageType::none) << "failed validation leaves no type";
  EXPECT_EQ(cpu.gdt_loads, 1);
}

TEST_F(Descriptors, UpdateDescriptorChecksAlignmentDescriptorAndOwnership) {
  Mfn plain = m.new_frame(m.d1);
  const std::uint64_t at = (plain << 12) + 3 * 8;
  EXPECT_EQ(call(pv::hypercall::update_descriptor, at + 4, kCode0), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, at, kTss), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, (m.new_frame(m.d2) << 12), kCode0), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, (mmtest::kFrames + 1) << 12, kCode0), -pv::XEN_EINVAL);
  Mfn l1 = m.new_frame(m.d1);
  ASSERT_TRUE(m.frames.get_page_type(l1, PageType::l1).ok());
  EXPECT_EQ(call(pv::hypercall::update_descriptor, l1 << 12, kCode0), -pv::XEN_EINVAL) << "page table";
  EXPECT_EQ(m.word(l1, 0), 0u);
  EXPECT_EQ(m.word(plain, 3), 0u);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, at, kCode0), 0) << "a plain page";
  EXPECT_EQ(m.word(plain, 3), kCode3);
  EXPECT_EQ(type_refs(plain), 0u);
  EXPECT_EQ(m.pages[plain].count(), 1u);
  EXPECT_EQ(cpu.gdt_loads, 0) << "not in the GDT";
}

TEST_F(Descriptors, UpdateDescriptorInTheGdtReloadsTheCopy) {
  Mfn f = gdt_frame();
  ASSERT_EQ(set_gdt({f}, 512), 0);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, (f << 12) + 8 * 7, kData1), 0);
  EXPECT_EQ(m.word(f, 7), kData3);
  EXPECT_EQ(type_refs(f), 1u);
  EXPECT_EQ(m.pages[f].count(), 2u);
  EXPECT_EQ(cpu.gdt_loads, 2);
  EXPECT_EQ(call(pv::hypercall::update_descriptor, (f << 12) + 8 * 8, kTss), -pv::XEN_EINVAL);
  EXPECT_EQ(m.word(f, 8), 0u);
}

TEST_F(Descriptors, DebugAddressRegistersMustNotNameTheHypervisor) {
  EXPECT_EQ(vcpu.pv.dr6, 0xffff0ff0u) << "Xen's initial values";
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 7), 0x400);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 0, 0x7fff'ffff'fff8), 0);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 3, 0xffff'ffff'8000'1003), 0) << "no alignment rule";
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 1, 0xffff'8800'0000'0000), 0) << "HYPERVISOR_VIRT_END";
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 1, 0xffff'87ff'ffff'fff8), -pv::XEN_EPERM);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 2, 0xffff'8000'0000'0000), -pv::XEN_EPERM);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 2, 0x0000'8000'0000'0000), -pv::XEN_EPERM);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 0), 0x7fff'ffff'fff8);
  EXPECT_EQ(static_cast<std::uint64_t>(call(pv::hypercall::get_debugreg, 1)), 0xffff'8800'0000'0000u);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 2), 0);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 8, 0), -pv::XEN_ENODEV);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 8), -pv::XEN_ENODEV);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, (1ull << 32) | 0), 0x7fff'ffff'fff8) << "reg is an int";
}

TEST_F(Descriptors, Dr6AndDr7ReservedBitsAndAliases) {
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 6, 0), 0);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 6), 0xffff0ff0);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 4, 0x100f), 0) << "DR4 is DR6";
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 6), 0xffff0fff);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 6, 1ull << 32), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 7, 0xd801), 0);
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 7), 0x0401) << "bits 11, 12, 14, 15 cleared, 10 set";
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 5, 0x000d0003), 0) << "DR5 is DR7";
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 5), 0x000d0403);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 7, 0x2000), -pv::XEN_EPERM) << "GD";
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 7, 1ull << 32), -pv::XEN_EINVAL);
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 7, 0x00200001), -pv::XEN_EPERM) << "I/O breakpoint, CR4.DE clear";
  EXPECT_EQ(call(pv::hypercall::set_debugreg, 7, 0x00200000), 0) << "I/O type but nothing enabled";
  EXPECT_EQ(call(pv::hypercall::get_debugreg, 7), 0x00200400);
}

}  // namespace
