// ptwr_emulate_test: whole-instruction writable-page-table emulation (MmOps::ptwr_emulate)
// for the read-modify-write forms Linux's PTE helpers use, and update_va_mapping_otherdomain.
#include <vector>

#include "core/x86_decode.hpp"
#include "mm_test_util.hpp"

namespace {
using namespace mmtest;
using hv::PtwrOutcome;
using hv::PtwrRegisters;

class PtwrEmulateTest : public MmTest {
 protected:
  // d1's live tree with its L1 mapped read-only (slot 10) and the assist on; returns the
  // machine address of L1 entry `index`.
  std::uint64_t setup(Tree& t, unsigned index) {
    t = live_tree(m.d1);
    EXPECT_EQ(mmu(m.d1, ptr(t.l1, 10), pte::make(t.l1, kP)), 0);
    EXPECT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_enable, pv::VMASST_TYPE_writable_pagetables).code(), 0);
    return (t.l1 << 12) | (index * 8);
  }
  PtwrOutcome run(std::vector<std::uint8_t> insn, std::uint64_t maddr, PtwrRegisters& regs) {
    auto s = hv::x86dec::decode_store(insn);
    EXPECT_TRUE(s.has_value());
    if (!s) return PtwrOutcome::refused;
    return m.ops.ptwr_emulate(m.caller(m.d1), *s, maddr, regs);
  }
};

TEST_F(PtwrEmulateTest, LockedBitHelpersOnAnEntry) {
  Tree t;
  const std::uint64_t maddr = setup(t, 5);
  Mfn f = m.new_frame(m.d1);
  PtwrRegisters regs{};
  regs.gpr[6] = pte::make(f, kRW);
  ASSERT_EQ(run({0x48, 0x89, 0x37}, maddr, regs), PtwrOutcome::emulated);  // mov %rsi,(%rdi)
  EXPECT_EQ(page(f).type_count(), 1u) << "writable mapping";
  // clear_bit(_PAGE_BIT_RW): lock andb $0xfd,(%rdi) -> the writable type reference goes.
  ASSERT_EQ(run({0xf0, 0x80, 0x27, 0xfd}, maddr, regs), PtwrOutcome::emulated);
  EXPECT_EQ(page(f).type_count(), 0u);
  EXPECT_EQ(m.word(t.l1, 5) & pte::kRw, 0u);
  // test_and_clear_bit(_PAGE_BIT_ACCESSED) on a clear bit: CF=0, nothing stored.
  regs.gpr[6] = 5;  // bit 5 (accessed)
  regs.rflags = 0x203;
  const std::uint64_t before = m.word(t.l1, 5);
  ASSERT_EQ(run({0xf0, 0x48, 0x0f, 0xb3, 0x37}, maddr, regs), PtwrOutcome::emulated);
  EXPECT_EQ(regs.rflags & 1, 0u);
  EXPECT_EQ(m.word(t.l1, 5), before);
  // set_bit(RW) again through lock bts $1: validated like mmu_update.
  ASSERT_EQ(run({0xf0, 0x48, 0x0f, 0xba, 0x2f, 0x01}, maddr, regs), PtwrOutcome::emulated);
  EXPECT_EQ(page(f).type_count(), 1u);
  // xadd returns the old entry in the register.
  regs.gpr[1] = 0;
  ASSERT_EQ(run({0xf0, 0x48, 0x0f, 0xc1, 0x0f}, maddr, regs), PtwrOutcome::emulated);
  EXPECT_EQ(regs.gpr[1], m.word(t.l1, 5));
}

TEST_F(PtwrEmulateTest, RefusedUpdatesChangeNothing) {
  Tree t;
  const std::uint64_t maddr = setup(t, 6);
  PtwrRegisters regs{};
  // or $2 into an entry mapping the L1 itself: a writable page-table mapping, refused.
  regs.gpr[6] = pte::make(t.l1, kP);
  ASSERT_EQ(run({0x48, 0x89, 0x37}, maddr, regs), PtwrOutcome::emulated);
  const std::uint64_t entry = m.word(t.l1, 6);
  regs.rflags = 0x202;
  EXPECT_EQ(run({0xf0, 0x80, 0x0f, 0x02}, maddr, regs), PtwrOutcome::refused);
  EXPECT_EQ(m.word(t.l1, 6), entry);
  EXPECT_EQ(regs.rflags, 0x202u) << "flags untouched when not emulated";
  // Not an L1 of the caller.
  EXPECT_EQ(run({0xf0, 0x80, 0x0f, 0x02}, t.l2 << 12, regs), PtwrOutcome::refused);
}

TEST_F(PtwrEmulateTest, UpdateVaMappingOtherDomain) {
  Tree t = live_tree(m.dom0);
  Mfn foreign = m.new_frame(m.d1);
  auto uvm_other = [&](hv::DomainMemory& d, std::uint64_t val, pv::domid_t domid) {
    return m.ops.update_va_mapping_otherdomain(m.caller(d), t.va(), val, 0, domid).code();
  };
  // Xen's get_pg_owner first: own id and unknown ids -ESRCH; then XSM_TARGET -EPERM.
  EXPECT_FAILS_CLEANLY(uvm_other(m.dom0, pte::make(foreign, kRW), 0), -pv::XEN_ESRCH);
  EXPECT_FAILS_CLEANLY(uvm_other(m.dom0, pte::make(foreign, kRW), 77), -pv::XEN_ESRCH);
  // The frame is not owned by the named domain (get_page_from_l1e: could_not_pin).
  EXPECT_FAILS_CLEANLY(uvm_other(m.dom0, pte::make(foreign, kRW), 2), -pv::XEN_EBUSY);
  ASSERT_EQ(uvm_other(m.dom0, pte::make(foreign, kRW), 1), 0);
  EXPECT_EQ(pte::mfn_of(m.word(t.l1, t.i1)), foreign);
  EXPECT_EQ(page(foreign).type_count(), 1u);
  // DOMID_SELF names the caller (rcu_lock_domain_by_any_id).
  ASSERT_EQ(uvm_other(m.dom0, 0, pv::DOMID_SELF), 0);
  EXPECT_EQ(page(foreign).type_count(), 0u);
  // An unprivileged caller: unknown ids still -ESRCH, another domain -EPERM.
  Tree u = live_tree(m.d2);
  auto uvm_d2 = [&](std::uint64_t val, pv::domid_t domid) {
    return m.ops.update_va_mapping_otherdomain(m.caller(m.d2), u.va(), val, 0, domid).code();
  };
  EXPECT_FAILS_CLEANLY(uvm_d2(pte::make(foreign, kRW), 77), -pv::XEN_ESRCH);
  EXPECT_FAILS_CLEANLY(uvm_d2(pte::make(foreign, kRW), 1), -pv::XEN_EPERM);
  EXPECT_FAILS_CLEANLY(uvm_d2(0, pv::DOMID_IO), -pv::XEN_EPERM);
  EXPECT_EQ(uvm_d2(0, pv::DOMID_SELF), 0);
}

}  // namespace
