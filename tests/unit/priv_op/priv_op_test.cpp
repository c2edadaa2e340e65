// priv_op_test: the decoder on real encodings (prefixes, REX, operand sizes, truncation) and
// the emulation against Xen 4.17's answers, driven through emulate_privileged_op with a fake
// machine: MSR values and #GP cases, control registers, clts, cli/sti, port I/O permissions.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <pv/arch_x86_64.hpp>
#include <pv/mmu.hpp>
#include <pv/shared_info.hpp>
#include <vector>

#include "core/priv_op.hpp"
#include "fake_guest.hpp"

namespace {
using namespace hv;

class FakeMachine final : public PrivOpPlatform {
 public:
  std::map<std::uint32_t, std::uint64_t> msrs{{0x1a0, 0x850089}, {0x12345, 7}};
  std::vector<std::pair<std::uint32_t, std::uint64_t>> msr_writes;
  std::uint64_t cr0 = 0x80050033, cr4 = 0x3406f0, efer = 0xd01, xcr0 = 7;
  std::uint64_t fs = 0, gs = 0;
  bool intel = true;
  std::map<std::uint16_t, std::uint32_t> ports{{0x80, 0x5a}, {0x71, 0x26}};
  std::vector<std::pair<std::uint16_t, std::uint32_t>> port_writes;
  int wbinvds = 0;

  bool read_msr_safe(std::uint32_t m, std::uint64_t& v) override {
    auto it = msrs.find(m);
    if (it == msrs.end()) return false;
    v = it->second;
    return true;
  }
  bool write_msr_safe(std::uint32_t m, std::uint64_t v) override {
    msr_writes.emplace_back(m, v);
    return true;
  }
  std::uint64_t read_tsc() override { return 0x1122334455667788ull; }
  std::uint64_t read_cr0() override { return cr0; }
  std::uint64_t read_cr4() override { return cr4; }
  std::uint64_t read_efer() override { return efer; }
  std::uint64_t read_fs_base() override { return fs; }
  std::uint64_t read_gs_base() override { return gs; }
  std::uint64_t read_xcr0() override { return xcr0; }
  bool write_xcr0(std::uint64_t v) override {
    xcr0 = v;
    return true;
  }
  CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t) override {
    switch (leaf) {
      case 0: return intel ? CpuidRegs{0xd, 0x756e6547, 0x6c65746e, 0x49656e69}
                           : CpuidRegs{0xd, 0x68747541, 0x444d4163, 0x69746e65};
      case 1: return {0, 0, 1u << 26, (1u << 4) | (1u << 2)};  // OSXSAVE-capable, TSC, DE
      case 0xd: return {7, 0, 0, 0};
      case 0x80000001: return {0, 0, 0, (1u << 29) | (1u << 27)};  // LM, RDTSCP
      default: return {0, 0, 0, 0};
    }
  }
  void wbinvd() override { ++wbinvds; }
  std::uint32_t port_in(std::uint16_t port, unsigned bytes) override {
    auto it = ports.find(port);
    const std::uint32_t v = it == ports.end() ? 0 : it->second;
    return bytes == 4 ? v : v & ((1u << (bytes * 8)) - 1);
  }
  void port_out(std::uint16_t port, unsigned, std::uint32_t v) override {
    port_writes.emplace_back(port, v);
  }
};

constexpr std::uint64_t kRip = FakeGuestMemory::kBase + 0x100;

struct Guest : FakeGuest {
  FakeMachine hw;
  Guest() : FakeGuest(0, true) {
    regs.rip = kRip;
    regs.cs = pv::FLAT_KERNEL_CS;
    regs.rflags = 0x202;
    vcpu.pv.traps[13] = GuestEntry{0xffffffff80001000ull, false, 0};
    vcpu.pv.traps[14] = GuestEntry{0xffffffff80002000ull, false, 0};
    vcpu.pv.kernel_sp = FakeGuestMemory::kBase + 0x8000;
    regs.rsp = FakeGuestMemory::kBase + 0x8000;
  }
  // Places `bytes` at rip and emulates.
  PrivOpResult run(std::initializer_list<std::uint8_t> bytes) {
    if (bytes.size() != 0) std::memcpy(memory.at(regs.rip), std::data(bytes), bytes.size());
    HypercallContext c = ctx();
    return emulate_privileged_op(c, hw);
  }
  PrivOpResult rdmsr(std::uint32_t msr) {
    regs.rcx = msr;
    return run({0x0f, 0x32});
  }
  std::uint64_t edx_eax() const { return (regs.rdx << 32) | (regs.rax & 0xffffffff); }
};

std::optional<PrivOpInsn> decode(std::initializer_list<std::uint8_t> b) {
  return decode_priv_op(std::span<const std::uint8_t>(std::data(b), b.size()));
}

TEST(PrivOpDecode, ControlRegisterMovesWithRex) {
  auto i = decode({0x0f, 0x20, 0xe0});  // mov %cr4,%rax
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, PrivOpKind::mov_from_cr);
  EXPECT_EQ(i->cr, 4);
  EXPECT_EQ(i->gpr, 0);
  EXPECT_EQ(i->length, 3);
  i = decode({0x41, 0x0f, 0x22, 0xdf});  // mov %r15,%cr3
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, PrivOpKind::mov_to_cr);
  EXPECT_EQ(i->cr, 3);
  EXPECT_EQ(i->gpr, 15);
  EXPECT_EQ(i->length, 4);
  i = decode({0x44, 0x0f, 0x20, 0xc0});  // mov %cr8,%rax
  ASSERT_TRUE(i);
  EXPECT_EQ(i->cr, 8);
}

TEST(PrivOpDecode, PortIoWidthsAndForms) {
  auto i = decode({0xe4, 0x80});
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, PrivOpKind::in);
  EXPECT_EQ(i->io_bytes, 1);
  EXPECT_EQ(i->port, 0x80);
  EXPECT_EQ(i->length, 2);
  i = decode({0x66, 0xef});
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, PrivOpKind::out);
  EXPECT_EQ(i->io_bytes, 2);
  EXPECT_TRUE(i->port_in_dx);
  i = decode({0x48, 0xed});  // REX.W does not widen port I/O
  ASSERT_TRUE(i);
  EXPECT_EQ(i->io_bytes, 4);
  i = decode({0xf3, 0x67, 0x6d});
  ASSERT_TRUE(i);
  EXPECT_EQ(i->kind, PrivOpKind::ins);
  EXPECT_TRUE(i->rep);
  EXPECT_TRUE(i->addr32);
  EXPECT_EQ(i->length, 3);
}

TEST(PrivOpDecode, RefusesForeignTruncatedAndOverlong) {
  EXPECT_FALSE(decode({0x90}));
  EXPECT_FALSE(decode({0x0f, 0x0b}));   // ud2
  EXPECT_FALSE(decode({0x0f, 0x08}));   // invd: Xen does not emulate it for PV
  EXPECT_FALSE(decode({0xf4}));         // hlt: #GP to the guest
  std::size_t needed = 0;
  const std::uint8_t cut[] = {0x0f, 0x20};
  EXPECT_FALSE(decode_priv_op(cut, &needed));
  EXPECT_EQ(needed, 3u);
  std::vector<std::uint8_t> many(14, 0x66);
  many.push_back(0xec);
  EXPECT_TRUE(decode_priv_op(many));   // exactly 15 bytes
  many.insert(many.begin(), 0x66);
  EXPECT_FALSE(decode_priv_op(many));  // 16: #GP
  EXPECT_TRUE(decode({0x40, 0x66, 0xec}));  // a REX before a legacy prefix is ignored
}

TEST(PrivOpMsr, ValuesXenGivesAPvGuest) {
  Guest g;
  ASSERT_EQ(g.rdmsr(0xc0000080), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), 0xd01u);  // SCE|LME|LMA|NXE
  EXPECT_EQ(g.regs.rip, kRip + 2);
  g.hw.efer = 0x1d01;  // SVME is hidden
  g.regs.rip = kRip;
  ASSERT_EQ(g.rdmsr(0xc0000080), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), 0xd01u);
  g.regs.rip = kRip;
  ASSERT_EQ(g.rdmsr(0x277), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), 0x050100070406u);
  g.regs.rip = kRip;
  ASSERT_EQ(g.rdmsr(0x1b), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), 0xfee00900u);
  g.regs.rip = kRip;
  ASSERT_EQ(g.rdmsr(0x1a0), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), (0x850089u & ~(1u << 7) & ~(1u << 18)) | (1u << 11) | (1u << 12) | (1u << 23));
  g.regs.rip = kRip;
  ASSERT_EQ(g.rdmsr(0x3a), PrivOpResult::emulated);  // FEATURE_CONTROL, Intel: locked
  EXPECT_EQ(g.edx_eax(), 1u);
  g.regs.rip = kRip;
  g.regs.rdx = 0xdead;
  ASSERT_EQ(g.rdmsr(0x10), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rdx, 0x11223344u);
  EXPECT_EQ(g.regs.rax, 0x55667788u);
}

// Xen's vMCE: Linux reads MCG_CAP/MCG_STATUS and the banks at boot and panics ("MCA
// architectural violation") if they fault while CPUID shows MCE/MCA.
TEST(PrivOpMsr, MachineCheckMsrsAreXensVirtualMce) {
  Guest g;
  auto read = [&](std::uint32_t msr) {
    g.regs.rip = kRip;
    EXPECT_EQ(g.rdmsr(msr), PrivOpResult::emulated) << std::hex << msr;
    return g.edx_eax();
  };
  auto write = [&](std::uint32_t msr, std::uint64_t value) {
    g.regs.rip = kRip;
    g.regs.rcx = msr;
    g.regs.rax = value & 0xffffffff;
    g.regs.rdx = value >> 32;
    return g.run({0x0f, 0x30});
  };
  EXPECT_EQ(read(0x179), (1u << 24) | (1u << 11) | (1u << 10) | 2u);  // Intel: SER|TES|CMCI, 2 banks
  EXPECT_EQ(read(0x17a), 0u);
  EXPECT_EQ(read(0x17b), 0u);  // no MCG_CTL_P
  EXPECT_EQ(read(0x400), ~0ull);  // MC0_CTL all ones
  EXPECT_EQ(read(0x401), 0u);
  EXPECT_EQ(read(0x408), 0u);  // bank 2 does not exist: reads 0
  g.regs.rip = kRip;
  EXPECT_EQ(g.rdmsr(0x4d0), PrivOpResult::not_emulated);  // MCG_EXT_CTL needs LMCE
  EXPECT_EQ(write(0x401, 5), PrivOpResult::not_emulated);  // only 0 may be written
  EXPECT_EQ(write(0x401, 0), PrivOpResult::emulated);
  EXPECT_EQ(write(0x400, 0), PrivOpResult::emulated);      // MCi_CTL: ignored
  EXPECT_EQ(read(0x400), ~0ull);
  EXPECT_EQ(write(0x17a, 4), PrivOpResult::emulated);
  EXPECT_EQ(read(0x17a), 4u);
  EXPECT_EQ(write(0x281, 0x7fff), PrivOpResult::emulated);  // MC1_CTL2 (Intel CMCI)
  EXPECT_EQ(read(0x281), 0x7fffu);
}

TEST(PrivOpMsr, UnknownMsrIsGpUnlessNoHandlerAndHardwareHasIt) {
  Guest g;
  EXPECT_EQ(g.rdmsr(0xdeadbeef), PrivOpResult::not_emulated);
  EXPECT_EQ(g.regs.rip, kRip);
  EXPECT_EQ(g.rdmsr(0x12345), PrivOpResult::not_emulated);
  g.vcpu.pv.traps[13] = GuestEntry{};  // Xen: "faking RDMSR" before a #GP handler exists
  ASSERT_EQ(g.rdmsr(0x12345), PrivOpResult::emulated);
  EXPECT_EQ(g.edx_eax(), 0u);
  g.regs.rip = kRip;
  EXPECT_EQ(g.rdmsr(0xdeadbeef), PrivOpResult::not_emulated);
}

TEST(PrivOpMsr, SegmentBaseWritesAndEfer) {
  Guest g;
  g.regs.rcx = 0xc0000101;
  g.regs.rdx = 0xffff8880;
  g.regs.rax = 0x12340000;
  ASSERT_EQ(g.run({0x0f, 0x30}), PrivOpResult::emulated);
  ASSERT_EQ(g.cpu.segment_writes.size(), 1u);
  EXPECT_EQ(g.cpu.segment_writes[0].first, pv::SEGBASE_GS_KERNEL);
  EXPECT_EQ(g.cpu.segment_writes[0].second, 0xffff888012340000u);
  g.regs.rip = kRip;
  g.regs.rcx = 0xc0000102;
  g.regs.rdx = 0x8000;  // non-canonical
  g.regs.rax = 0;
  EXPECT_EQ(g.run({0x0f, 0x30}), PrivOpResult::not_emulated);
  g.regs.rdx = 0;
  g.regs.rax = 0x5000;
  ASSERT_EQ(g.run({0x0f, 0x30}), PrivOpResult::emulated);
  EXPECT_EQ(g.vcpu.pv.gs_base_user, 0x5000u);
  g.regs.rip = kRip;
  g.regs.rcx = 0xc0000080;  // EFER: writing back the current value is fine, anything else #GP
  g.regs.rdx = 0;
  g.regs.rax = 0xd01;
  EXPECT_EQ(g.run({0x0f, 0x30}), PrivOpResult::emulated);
  g.regs.rip = kRip;
  g.regs.rax = 0x501;
  EXPECT_EQ(g.run({0x0f, 0x30}), PrivOpResult::not_emulated);
  g.regs.rcx = 0x1a0;  // MISC_ENABLE: writes dropped
  g.regs.rax = 0;
  EXPECT_EQ(g.run({0x0f, 0x30}), PrivOpResult::emulated);
}

TEST(PrivOpMsr, UserModeGetsGp) {
  Guest g;
  g.vcpu.mm.kernel_mode = false;
  EXPECT_EQ(g.rdmsr(0x277), PrivOpResult::not_emulated);
  EXPECT_EQ(g.run({0x0f, 0x20, 0xc0}), PrivOpResult::not_emulated);
  EXPECT_EQ(g.run({0x0f, 0x06}), PrivOpResult::not_emulated);
}

TEST(PrivOpCr, ReadsShowTheGuestView) {
  Guest g;
  g.vcpu.pv.virtual_ts = true;
  ASSERT_EQ(g.run({0x0f, 0x20, 0xc3}), PrivOpResult::emulated);  // mov %cr0,%rbx
  EXPECT_EQ(g.regs.rbx, 0x80050033u | 8u);
  g.regs.rip = kRip;
  ASSERT_EQ(g.run({0x0f, 0x20, 0xe0}), PrivOpResult::emulated);  // mov %cr4,%rax
  EXPECT_EQ(g.regs.rax, 0x3406f0u & priv_op::kCr4GuestVisibleMask);
  g.regs.rip = kRip;
  g.vcpu.mm.guest_table = 0x1234;
  ASSERT_EQ(g.run({0x41, 0x0f, 0x20, 0xd9}), PrivOpResult::emulated);  // mov %cr3,%r9
  EXPECT_EQ(g.regs.r9, 0x1234000u);
  g.regs.rip = kRip;
  g.shared.vcpu_info[0].arch.cr2 = 0xabc;
  ASSERT_EQ(g.run({0x0f, 0x20, 0xd0}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rax, 0xabcu);
  g.regs.rip = kRip;
  EXPECT_EQ(g.run({0x0f, 0x20, 0xc8}), PrivOpResult::not_emulated);  // %cr1
  EXPECT_EQ(g.run({0xf0, 0x0f, 0x20, 0xc0}), PrivOpResult::not_emulated);
}

TEST(PrivOpCr, CltsCr0AndCr4Writes) {
  Guest g;
  g.vcpu.pv.virtual_ts = true;
  ASSERT_EQ(g.run({0x0f, 0x06}), PrivOpResult::emulated);
  EXPECT_FALSE(g.vcpu.pv.virtual_ts);
  EXPECT_FALSE(g.cpu.fpu_trap);
  EXPECT_EQ(g.regs.rip, kRip + 2);
  g.regs.rax = 0x80050033 | 8;  // only TS differs: accepted
  ASSERT_EQ(g.run({0x0f, 0x22, 0xc0}), PrivOpResult::emulated);
  EXPECT_TRUE(g.vcpu.pv.virtual_ts);
  EXPECT_TRUE(g.cpu.fpu_trap);
  g.regs.rax = 0x80000033;  // clearing WP: refused
  EXPECT_EQ(g.run({0x0f, 0x22, 0xc0}), PrivOpResult::not_emulated);
  g.regs.rax = priv_op::X86_CR4_OSXSAVE | priv_op::X86_CR4_FSGSBASE | (1u << 7);
  ASSERT_EQ(g.run({0x0f, 0x22, 0xe0}), PrivOpResult::emulated);
  // FSGSBASE is not in this guest's CPUID: dropped; PGE is not guest-controlled.
  EXPECT_EQ(g.vcpu.pv.guest_cr4, priv_op::X86_CR4_OSXSAVE);
}

TEST(PrivOpMisc, CliStiNeedVirtualIoplWbinvdIsNopForUnprivileged) {
  Guest g;
  EXPECT_EQ(g.run({0xfa}), PrivOpResult::not_emulated);
  g.vcpu.pv.iopl = 1;
  ASSERT_EQ(g.run({0xfb}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rip, kRip + 1);
  ASSERT_EQ(g.run({0x0f, 0x09}), PrivOpResult::emulated);
  EXPECT_EQ(g.hw.wbinvds, 1);
  Guest u;
  u.domain.memory.privileged = false;
  ASSERT_EQ(u.run({0x0f, 0x09}), PrivOpResult::emulated);
  EXPECT_EQ(u.hw.wbinvds, 0);
}

TEST(PrivOpMisc, XsetbvValidatesLikeXen) {
  Guest g;
  g.regs.rcx = 0;
  g.regs.rax = 3;
  ASSERT_EQ(g.run({0x0f, 0x01, 0xd1}), PrivOpResult::emulated);
  EXPECT_EQ(g.hw.xcr0, 3u);
  g.regs.rax = 5;  // AVX without SSE
  EXPECT_EQ(g.run({0x0f, 0x01, 0xd1}), PrivOpResult::not_emulated);
  g.regs.rax = 0xf;  // not offered
  EXPECT_EQ(g.run({0x0f, 0x01, 0xd1}), PrivOpResult::not_emulated);
}

TEST(PrivOpFetch, UnreadableInstructionIsAPageFault) {
  Guest g;
  g.regs.rip = 0x5000;  // outside the fake guest memory
  ASSERT_EQ(g.run({}), PrivOpResult::emulated);
  EXPECT_EQ(g.shared.vcpu_info[0].arch.cr2, 0x5000u);
  EXPECT_EQ(g.regs.rip, 0xffffffff80002000u);  // the #PF handler
}

TEST(PrivOpIo, NeedsIoplThenPermittedPortsReachHardware) {
  Guest g;
  ASSERT_TRUE(g.domain.io_ports.permit(0, 0xffff));
  ASSERT_TRUE(g.domain.io_ports.deny(0x3f8, 0x3ff));
  EXPECT_EQ(g.run({0xe4, 0x80}), PrivOpResult::not_emulated);  // iopl 0
  g.vcpu.pv.iopl = 1;
  g.regs.rax = 0xffffffffffffff00;
  ASSERT_EQ(g.run({0xe4, 0x80}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rax, 0xffffffffffffff5au);
  g.regs.rdx = 0x3ff;
  ASSERT_EQ(g.run({0xec}), PrivOpResult::emulated);  // denied port reads all ones
  EXPECT_EQ(g.regs.rax & 0xff, 0xffu);
  g.regs.rax = 0x41;
  ASSERT_EQ(g.run({0xee}), PrivOpResult::emulated);  // and swallows writes
  EXPECT_TRUE(g.hw.port_writes.empty());
  g.regs.rdx = 0x80;
  ASSERT_EQ(g.run({0xed}), PrivOpResult::emulated);  // 32-bit in zero-extends
  EXPECT_EQ(g.regs.rax, 0x5au);
}

TEST(PrivOpIo, RtcIsAlwaysEmulatedAndPciAddressLatched) {
  Guest g;
  g.vcpu.pv.iopl = 1;
  ASSERT_TRUE(g.domain.io_ports.permit(0, 0xffff));
  g.regs.rax = 0x8a;
  ASSERT_EQ(g.run({0xe6, 0x70}), PrivOpResult::emulated);
  EXPECT_EQ(g.domain.cmos_index, 0x8a);
  EXPECT_TRUE(g.hw.port_writes.empty());  // only latched
  ASSERT_EQ(g.run({0xe4, 0x71}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rax & 0xff, 0x26u);
  ASSERT_EQ(g.hw.port_writes.size(), 1u);
  EXPECT_EQ(g.hw.port_writes[0], (std::pair<std::uint16_t, std::uint32_t>{0x70, 0x0a}));
  g.regs.rdx = 0xcf8;
  g.regs.rax = 0x80001234;
  ASSERT_EQ(g.run({0xef}), PrivOpResult::emulated);
  EXPECT_EQ(g.domain.pci_cf8, 0x80001234u);
  g.regs.rax = 0;
  ASSERT_EQ(g.run({0xed}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rax, 0x80001234u);
}

TEST(PrivOpIo, RepInsFillsGuestMemoryAndFaultsCleanly) {
  Guest g;
  g.vcpu.pv.iopl = 1;
  ASSERT_TRUE(g.domain.io_ports.permit(0x80, 0x80));
  g.regs.rdx = 0x80;
  g.regs.rdi = FakeGuestMemory::kBase + 0x400;
  g.regs.rcx = 3;
  ASSERT_EQ(g.run({0xf3, 0x6c}), PrivOpResult::emulated);
  EXPECT_EQ(g.regs.rcx, 0u);
  EXPECT_EQ(g.regs.rdi, FakeGuestMemory::kBase + 0x403);
  EXPECT_EQ(std::memcmp(g.memory.at(FakeGuestMemory::kBase + 0x400), "\x5a\x5a\x5a", 3), 0);
  EXPECT_EQ(g.regs.rip, kRip + 2);
  g.regs.rip = kRip;
  g.regs.rdi = 0x3000;  // unmapped: #PF (write) at it
  g.regs.rcx = 2;
  ASSERT_EQ(g.run({0xf3, 0x6c}), PrivOpResult::emulated);
  EXPECT_EQ(g.shared.vcpu_info[0].arch.cr2, 0x3000u);
  EXPECT_EQ(g.regs.rip, 0xffffffff80002000u);
}

}  // namespace
