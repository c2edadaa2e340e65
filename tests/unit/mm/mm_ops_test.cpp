// mm_ops_test: the MMU hypercalls (mmu_update, mmuext_op, update_va_mapping, vm_assist),
// writable-page-table emulation and domain teardown, with Xen's errnos.
#include "core/descriptors.hpp"
#include "mm_test_util.hpp"

namespace mmtest {
namespace {

class MmOpsTest : public MmTest {};

TEST_F(MmOpsTest, UnpinningATableInUseOnlyDropsThePin) {
  Tree t = live_tree(m.d1);
  EXPECT_EQ(page(t.l4).type_count(), 2u);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, t.l4), 0);
  EXPECT_TRUE(page(t.l4).validated()) << "still the vCPU's root";
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, t.l4), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, t.l3), -pv::XEN_EINVAL);  // never pinned
  Tree u = tree(m.d1);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, u.l4), 0);  // validates u, releases t
  EXPECT_EQ(m.vcpus1[0].guest_table, u.l4);
  EXPECT_TRUE(m.vcpus1[0].reload_cr3);
  for (Mfn f : {t.l4, t.l3, t.l2, t.l1}) EXPECT_EQ(page(f).type_count(), 0u) << f;
  EXPECT_EQ(page(t.data).type_count(), 0u);
  EXPECT_EQ(pin(m.d1, 1, t.l2), 0) << "devalidated tables can be reused";
}

TEST_F(MmOpsTest, PinRules) {
  Tree t = live_tree(m.d1);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EINVAL);  // already pinned
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, t.l4), -pv::XEN_EINVAL);  // typed as L4
  const Mfn foreign = m.new_frame(m.d2);
  EXPECT_EQ(pin(m.d1, 2, t.l2), 0);  // a table in use may also be pinned...
  EXPECT_FAILS_CLEANLY(pin(m.d1, 2, t.l2), -pv::XEN_EINVAL);  // ...once
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, foreign), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, kFrames + 5), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, 0x10), -pv::XEN_EINVAL);  // MMIO frame
}

TEST_F(MmOpsTest, BasePointersTakeAndReleaseRootReferences) {
  Tree t = tree(m.d1);
  Mfn user = m.new_frame(m.d1);
  const Mfn foreign = m.new_frame(m.d2);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, t.l4), 0);
  EXPECT_EQ(m.vcpus1[0].guest_table, t.l4);
  EXPECT_EQ(m.word(t.l4, 256), xen_slot_value(256)) << "kernel root shows the RO M2P";
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_USER_BASEPTR, user), 0);
  EXPECT_EQ(page(user).type(), PageType::l4);
  EXPECT_EQ(m.word(user, 256), 0u) << "not strict: user-only roots get no M2P";
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, t.l2), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, foreign), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(ext(m.dom0, pv::MMUEXT_NEW_BASEPTR, t.l4, 0, 1), -pv::XEN_EPERM);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_USER_BASEPTR, 0), 0);
  EXPECT_EQ(page(user).type_count(), 0u);
  // The same root on two vCPUs: two references.
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, t.l4, 0, pv::DOMID_SELF, 1), 0);
  EXPECT_EQ(page(t.l4).type_count(), 2u);
  // m2p_strict: every L4 starts with the RO M2P, user roots lose it.
  ASSERT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_enable, pv::VMASST_TYPE_m2p_strict).code(), 0);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_USER_BASEPTR, user), 0);
  EXPECT_EQ(m.word(user, 256), 0u);
  Mfn other = m.new_frame(m.d1);
  ASSERT_EQ(pin(m.d1, 4, other), 0);
  EXPECT_EQ(m.word(other, 256), xen_slot_value(256));
}

TEST_F(MmOpsTest, MmuUpdateDecodesCommandsAndOwners) {
  Tree t = live_tree(m.d1);
  Mfn plain = m.new_frame(m.d1);
  EXPECT_EQ(mmu(m.d1, ptr(plain, 3), 0x1234), 0) << "untyped frame: a checked write";
  EXPECT_EQ(m.word(plain, 3), 0x1234u);
  EXPECT_EQ(page(plain).type_count(), 0u);
  EXPECT_EQ(mmu(m.d1, ptr(t.data, 3), 0x99), 0) << "writable-typed frame";
  EXPECT_EQ(m.word(t.data, 3), 0x99u);
  for (std::uint64_t cmd = 4; cmd < 8; ++cmd)  // Xen decodes 3 bits of ptr
    EXPECT_FAILS_CLEANLY(mmu(m.d1, (plain << 12) | 8 | cmd, 0), -pv::XEN_ENOSYS);
  const Mfn foreign = m.new_frame(m.d2);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(foreign, 0), 0), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(kFrames + 1, 0), 0), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(plain, 0), 0, 1), -pv::XEN_ESRCH);  // self by number
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(plain, 0), 0, 77), -pv::XEN_ESRCH);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(plain, 0), 0, 2), -pv::XEN_EPERM);
  // Page tables owned by d0 (foreigndom >> 16 == 1): not offered.
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(plain, 0), 0, 0x10000 | pv::DOMID_SELF), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(plain, 0), 0, (78u << 16) | pv::DOMID_SELF), -pv::XEN_ESRCH);
  EXPECT_EQ(mmu(m.d1, ptr(plain, 0), 5, (2u << 16) | pv::DOMID_SELF), 0) << "own tables, by id";
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, 9, pv::MMU_PT_UPDATE_NO_TRANSLATE), pte::make(plain, kP)), 0)
      << "PV: same as a normal update";
  // A frame pinned as an L1 of d1 named by dom0's L2 is foreign: refused.
  Tree z = live_tree(m.dom0);
  EXPECT_FAILS_CLEANLY(mmu(m.dom0, ptr(z.l2, 8), pte::make(t.l1, kUp), 1), -pv::XEN_EINVAL);
}

TEST_F(MmOpsTest, BatchStopsAtFirstFailureAndReportsDone) {
  Tree t = live_tree(m.d1);
  Mfn a = m.new_frame(m.d1), b = m.new_frame(m.d1);
  pv::mmu_update reqs[] = {{ptr(t.l1, 20), pte::make(a, kRW)},
                           {ptr(t.l1, 21), pte::make(t.l2, kRW)},  // refused
                           {ptr(t.l1, 22), pte::make(b, kRW)}};
  unsigned done = 99;
  EXPECT_EQ(m.ops.mmu_update(m.caller(m.d1), reqs, done, pv::DOMID_SELF).code(), -pv::XEN_EBUSY);
  EXPECT_EQ(done, 1u);
  EXPECT_EQ(page(a).type_count(), 1u);
  EXPECT_EQ(page(b).type_count(), 0u);
  pv::mmuext_op ops[2] = {};
  ops[0].cmd = pv::MMUEXT_TLB_FLUSH_LOCAL;
  ops[1].cmd = 14;  // unassigned
  EXPECT_EQ(m.ops.mmuext_op(m.caller(m.d1), ops, done, pv::DOMID_SELF).code(), -pv::XEN_ENOSYS);
  EXPECT_EQ(done, 1u);
}

TEST_F(MmOpsTest, PreserveAdKeepsHardwareSetBits) {
  Tree t = live_tree(m.d1);
  m.word(t.l1, t.i1) |= pte::kAccessed | pte::kDirty;  // as the hardware walker would
  Mfn other = m.new_frame(m.d1);
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, t.i1, pv::MMU_PT_UPDATE_PRESERVE_AD), pte::make(other, kRW)), 0);
  EXPECT_EQ(m.word(t.l1, t.i1) & (pte::kAccessed | pte::kDirty), pte::kAccessed | pte::kDirty);
  EXPECT_EQ(pte::mfn_of(m.word(t.l1, t.i1)), other);
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, t.i1), pte::make(other, kRW)), 0);
  EXPECT_EQ(m.word(t.l1, t.i1) & pte::kDirty, 0u) << "a normal update replaces them";
}

TEST_F(MmOpsTest, MachphysUpdateOnlyForOwnedFrames) {
  Mfn mine = m.new_frame(m.d1), theirs = m.new_frame(m.d2);
  EXPECT_EQ(mmu(m.d1, (mine << 12) | pv::MMU_MACHPHYS_UPDATE, 42), 0);
  EXPECT_EQ(m.m2p[mine], 42u);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, (theirs << 12) | pv::MMU_MACHPHYS_UPDATE, 1), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, (theirs << 12) | pv::MMU_MACHPHYS_UPDATE, 1, 2), -pv::XEN_EPERM);
  EXPECT_EQ(mmu(m.dom0, (theirs << 12) | pv::MMU_MACHPHYS_UPDATE, 7, 2), 0) << "privileged";
  EXPECT_EQ(m.m2p[theirs], 7u);
}

TEST_F(MmOpsTest, UpdateVaMappingWalksTheKernelTablesAndFlushes) {
  Tree t = live_tree(m.d1);
  Mfn f = m.new_frame(m.d1);
  const std::uint64_t va = t.va();
  EXPECT_EQ(uvm(m.d1, va, pte::make(f, kRW), pv::UVMF_TLB_FLUSH | pv::UVMF_LOCAL), 0);
  EXPECT_EQ(m.flush_local_count, 1u);
  EXPECT_EQ(page(f).type_count(), 1u);
  EXPECT_EQ(page(t.data).count(), 1u);
  EXPECT_EQ(uvm(m.d1, va + 0x1000, pte::make(f, kP), pv::UVMF_INVLPG | pv::UVMF_ALL), 0);
  EXPECT_EQ(m.invlpg_domain_count, 1u);
  EXPECT_EQ(uvm(m.d1, va, 0, pv::UVMF_TLB_FLUSH | pv::UVMF_ALL), 0);
  EXPECT_EQ(m.flush_domain_count, 1u);
  m.guest_masks[0x5000].set(1);
  EXPECT_EQ(uvm(m.d1, va, pte::make(f, kP), 0x5000 | pv::UVMF_INVLPG), 0);
  EXPECT_EQ(m.invlpg_multi_count, 1u);
  EXPECT_EQ(uvm(m.d1, va, 0, 0x6000 | pv::UVMF_TLB_FLUSH), -pv::XEN_EFAULT) << "bad bitmap";
  EXPECT_EQ(m.word(t.l1, t.i1), 0u) << "...after the entry was written, as in Xen";
  EXPECT_FAILS_CLEANLY(uvm(m.d1, va + (Pte{1} << 21), pte::make(f, kP)), -pv::XEN_EINVAL);  // no L1
  EXPECT_FAILS_CLEANLY(uvm(m.d1, 0xffff800000001000, pte::make(f, kP)), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(uvm(m.d1, 0x0000900000000000, pte::make(f, kP)), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(uvm(m.d1, va, pte::make(f, kP), 0, 1), -pv::XEN_EINVAL);  // vCPU 1: no root
  // A walk through the L4's linear self-map reaches a table that is not an L1.
  ASSERT_EQ(mmu(m.d1, ptr(t.l4, 400), pte::make(t.l4, kP)), 0);
  const std::uint64_t via_self = 0xffff000000000000 | (Pte{400} << 39) | (Pte{t.i4} << 30) |
                                 (Pte{t.i3} << 21) | (Pte{t.i2} << 12);
  EXPECT_FAILS_CLEANLY(uvm(m.d1, via_self, pte::make(f, kP)), -pv::XEN_EINVAL);
}

// The LDT (MMUEXT_SET_LDT, then the arch asks for its frames): each page mapped in the
// guest's tables takes a seg_desc type reference as Xen's shadow LDT mapping does, so it
// cannot be mapped writable while loaded; unmapped or invalid pages stay empty.
TEST_F(MmOpsTest, LdtFramesHoldDescriptorTypeWhileLoaded) {
  m.validator.set_segdesc_check(hv::check_segdesc_page);
  Tree t = live_tree(m.d1);
  Mfn good = m.new_frame(m.d1), bad = m.new_frame(m.d1);
  m.word(good, 1) = 0x0040F20000000FFF;  // DPL-3 data
  m.word(bad, 1) = 0x0000890000000067;   // a TSS: no LDT may hold one
  const std::uint64_t base = t.va() + (20 - t.i1) * 0x1000;  // L1 slots 20, 21 (22 unmapped)
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, 20), pte::make(good, kP)), 0);
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, 21), pte::make(bad, kP)), 0);
  auto c = m.caller(m.d1);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, base, 3 * 512), 0);
  EXPECT_TRUE(c.vcpu.ldt_dirty);
  m.ops.load_ldt_frames(c);
  EXPECT_EQ(c.vcpu.ldt_frames[0], good);
  EXPECT_EQ(c.vcpu.ldt_frames[1], 0u) << "invalid descriptor page";
  EXPECT_EQ(c.vcpu.ldt_frames[2], 0u) << "unmapped page";
  EXPECT_EQ(page(good).type(), hv::PageType::seg_desc);
  EXPECT_EQ(page(good).type_count(), 1u);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 30), pte::make(good, kRW)), -pv::XEN_EBUSY);
  m.ops.load_ldt_frames(c);  // a reload keeps exactly one reference
  EXPECT_EQ(page(good).type_count(), 1u);
  m.ops.release_ldt_frames(c.vcpu);
  EXPECT_EQ(page(good).type_count(), 0u);
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, 30), pte::make(good, kRW)), 0);
}

TEST_F(MmOpsTest, WritablePageTableEmulation) {
  Tree t = live_tree(m.d1);
  Mfn f = m.new_frame(m.d1);
  // The guest maps its L1 read-only at va(l1 slot 10) and writes through that mapping.
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, 10), pte::make(t.l1, kP)), 0);
  const std::uint64_t view = t.va() + 6 * 0x1000;  // l1 index 10
  EXPECT_EQ(m.ops.ptwr_target(m.caller(m.d1), view + 0x20).status().code(), -pv::XEN_EPERM)
      << "needs VMASST_TYPE_writable_pagetables";
  ASSERT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_enable, pv::VMASST_TYPE_writable_pagetables).code(), 0);
  hv::Result<std::uint64_t> target = m.ops.ptwr_target(m.caller(m.d1), view + 0x20);
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, (t.l1 << 12) | 0x20);
  EXPECT_EQ(m.ops.ptwr_target(m.caller(m.d1), t.va()).status().code(), -pv::XEN_EINVAL)
      << "a writable data mapping is not emulated";
  auto c = m.caller(m.d1);
  ASSERT_EQ(m.ops.ptwr_emulated_write(c, *target, pte::make(f, kRW), 8).code(), 0);
  EXPECT_EQ(page(f).type_count(), 1u);
  // Partial writes merge into the entry: clear RW with a 1-byte store, then the high half.
  ASSERT_EQ(m.ops.ptwr_emulated_write(c, *target, kP, 1).code(), 0);
  EXPECT_EQ(page(f).type_count(), 0u);
  ASSERT_EQ(m.ops.ptwr_emulated_write(c, *target + 4, pte::kNx >> 32, 4).code(), 0);
  EXPECT_EQ(m.word(t.l1, 4) & pte::kNx, pte::kNx);
  EXPECT_FAILS_CLEANLY(m.ops.ptwr_emulated_write(c, *target + 2, 0, 4).code(), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(m.ops.ptwr_emulated_write(c, *target, 0, 3).code(), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(m.ops.ptwr_emulated_write(c, *target, pte::make(t.l2, kRW), 8).code(),
                       -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(m.ops.ptwr_emulated_write(c, t.l2 << 12, 0, 8).code(), -pv::XEN_EINVAL);  // only L1 tables are emulated
  std::uint64_t observed = 0;
  const std::uint64_t cur = m.word(t.l1, 4);
  ASSERT_EQ(m.ops.ptwr_emulated_cmpxchg(c, *target, cur + 1, 0, 8, observed).code(), 0);
  EXPECT_EQ(observed, cur) << "mismatch: nothing written";
  EXPECT_EQ(m.word(t.l1, 4), cur);
  ASSERT_EQ(m.ops.ptwr_emulated_cmpxchg(c, *target, cur, 0, 8, observed).code(), 0);
  EXPECT_EQ(m.word(t.l1, 4), 0u);
  EXPECT_EQ(page(f).count(), 1u);
}

TEST_F(MmOpsTest, MiscellaneousExtendedOps) {
  Tree t = live_tree(m.d1);
  Mfn a = m.new_frame(m.d1), b = m.new_frame(m.d1);
  m.word(a, 5) = 77;
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_COPY_PAGE, b, a), 0);
  EXPECT_EQ(m.word(b, 5), 77u);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_CLEAR_PAGE, b), 0);
  EXPECT_EQ(m.word(b, 5), 0u);
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_CLEAR_PAGE, t.l1), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_COPY_PAGE, t.l2, a), -pv::XEN_EINVAL);
  const Mfn foreign = m.new_frame(m.d2);
  EXPECT_FAILS_CLEANLY(ext(m.d1, pv::MMUEXT_COPY_PAGE, b, foreign), -pv::XEN_EINVAL);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_COPY_PAGE, b, t.l1), 0) << "reading a table is fine";
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_MARK_SUPER, a), -pv::XEN_EOPNOTSUPP);
  EXPECT_EQ(ext(m.d1, 99, a), -pv::XEN_ENOSYS);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_FLUSH_CACHE, 0), -pv::XEN_EACCES);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_FLUSH_CACHE_GLOBAL, 0), 0);
  EXPECT_EQ(m.cache_flush_count, 1u);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, 0x10000, 16), 0);
  EXPECT_TRUE(m.vcpus1[0].ldt_dirty);
  EXPECT_EQ(m.vcpus1[0].ldt_ents, 16u);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, 0x10008, 16), -pv::XEN_EINVAL) << "unaligned";
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, 0x10000, 8193), -pv::XEN_EINVAL);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, 0xffff800000000000, 1), -pv::XEN_EINVAL);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_SET_LDT, 0xdead, 0), 0) << "no entries: address ignored";
  EXPECT_EQ(m.vcpus1[0].ldt_base, 0u);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_TLB_FLUSH_ALL, 0), 0);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_INVLPG_LOCAL, 0x1000), 0);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_TLB_FLUSH_MULTI, 0, 0x7000), -pv::XEN_EINVAL) << "bad bitmap";
  m.guest_masks[0x7000].set(0);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_TLB_FLUSH_MULTI, 0, 0x7000), 0);
  EXPECT_EQ(m.flush_multi_count, 1u);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_TLB_FLUSH_LOCAL, 0, 0, 1), -pv::XEN_EPERM);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_PIN_L1_TABLE, a, 0, 2), -pv::XEN_EPERM);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_PIN_L1_TABLE, a, 0, pv::DOMID_XEN), -pv::XEN_EINVAL);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_PIN_L1_TABLE, kM2pFirst, 0, pv::DOMID_XEN), -pv::XEN_EINVAL);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_TLB_FLUSH_LOCAL, 0, 0, pv::DOMID_XEN), -pv::XEN_EPERM);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_TLB_FLUSH_LOCAL, 0, 0, pv::DOMID_XEN), -pv::XEN_EPERM);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_CLEAR_PAGE, 0x10, 0, pv::DOMID_IO), -pv::XEN_EINVAL)
      << "never zero MMIO";
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_CLEAR_PAGE, kM2pFirst, 0, pv::DOMID_XEN), -pv::XEN_EINVAL)
      << "read-only hypervisor frame";
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_CLEAR_PAGE, a, 0, 1), -pv::XEN_ESRCH) << "self by number";
}

TEST_F(MmOpsTest, BuilderPinsInitialTablesAndSetsTheRoot) {
  Tree t = tree(m.d1);
  EXPECT_EQ(m.ops.pin_table(m.d1, t.l4, 5).code(), -pv::XEN_EINVAL);
  ASSERT_EQ(m.ops.pin_table(m.d1, t.l4, 4).code(), 0);
  ASSERT_EQ(m.ops.set_initial_root(m.caller(m.d1), t.l4).code(), 0);
  EXPECT_EQ(m.vcpus1[0].guest_table, t.l4);
  EXPECT_EQ(page(t.l1).type(), PageType::l1);
  EXPECT_EQ(page(t.data).type(), PageType::writable);
  EXPECT_EQ(m.ops.pin_table(m.d2, t.l3, 3).code(), -pv::XEN_EINVAL) << "not d2's frame";
}

TEST_F(MmOpsTest, PrivilegedForeignPinAndMapping) {
  Mfn l1 = m.new_frame(m.d1), data = m.new_frame(m.d1);
  m.word(l1, 0) = pte::make(data, kRW);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_PIN_L1_TABLE, l1, 0, 1), 0) << "builder pins for d1";
  EXPECT_TRUE(page(l1).pinned());
  Tree z = live_tree(m.dom0);
  EXPECT_EQ(mmu(m.dom0, ptr(z.l1, 30), pte::make(l1, kP), 1), 0);
  EXPECT_FAILS_CLEANLY(mmu(m.dom0, ptr(z.l1, 31), pte::make(l1, kRW), 1), -pv::XEN_EBUSY);
  EXPECT_EQ(mmu(m.dom0, ptr(z.l1, 31), pte::make(data, kRW), 1), 0);
  EXPECT_EQ(page(data).type_count(), 2u);
  EXPECT_EQ(ext(m.dom0, pv::MMUEXT_UNPIN_TABLE, l1, 0, 1), 0);
}

TEST_F(MmOpsTest, VmAssistAcceptsXensTypesOnly) {
  for (unsigned type : {0u, 1u, 2u, 3u, 4u, 5u, 32u})
    EXPECT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_enable, type).code(), 0) << type;
  EXPECT_EQ(m.d1.vm_assist, 0x1'0000'003fu);
  for (unsigned type : {6u, 31u, 33u, 63u, 64u, 1000u})
    EXPECT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_enable, type).code(), -pv::XEN_EINVAL) << type;
  EXPECT_EQ(m.ops.vm_assist(m.d1, 2, 2).code(), -pv::XEN_ENOSYS);
  EXPECT_EQ(m.ops.vm_assist(m.d1, pv::VMASST_CMD_disable, 32).code(), 0);
  EXPECT_EQ(m.d1.vm_assist, 0x3fu);
}

TEST_F(MmOpsTest, RelinquishDropsEveryReferenceAndFreesEveryFrame) {
  const std::uint64_t free_before = m.allocator.free_frames();
  Tree t = live_tree(m.d1);
  Tree u = tree(m.d1);
  ASSERT_EQ(pin(m.d1, 4, u.l4), 0);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_USER_BASEPTR, u.l4), 0);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, u.l4, 0, pv::DOMID_SELF, 1), 0);
  ASSERT_EQ(pin(m.d1, 1, t.l1), 0);
  ASSERT_EQ(mmu(m.d1, ptr(t.l4, 300), pte::make(t.l4, kP)), 0);
  ASSERT_EQ(mmu(m.d1, ptr(t.l4, 301), pte::make(u.l4, kP)), 0);
  ASSERT_EQ(mmu(m.d1, ptr(t.l1, 40), pte::make(u.l3, kP)), 0);
  Mfn extra = m.new_frame(m.d1);
  ASSERT_EQ(pin(m.d1, 2, extra), 0);
  m.ops.relinquish(m.d1, m.vcpus1);
  EXPECT_EQ(m.d1.tot_pages, 0u);
  EXPECT_EQ(m.allocator.free_frames(), free_before);
  for (Mfn f = 0; f < kFrames; ++f) EXPECT_NE(page(f).owner, 1) << f;
  EXPECT_EQ(m.vcpus1[0].guest_table, 0u);
  EXPECT_EQ(m.vcpus1[1].guest_table, 0u);
  EXPECT_EQ(m.frames.alloc_domain_frames(m.d1, 0).status().code(), -pv::XEN_EINVAL) << "dying";
}

TEST_F(MmOpsTest, RelinquishKeepsFramesOtherDomainsStillMap) {
  Tree t = live_tree(m.d1);
  Tree z = live_tree(m.dom0);
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 30), pte::make(t.data, kRW), 1), 0);
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 31), pte::make(t.l2, kP), 1), 0);
  m.ops.relinquish(m.d1, m.vcpus1);
  EXPECT_EQ(m.d1.tot_pages, 2u) << "still mapped by dom0";
  EXPECT_EQ(page(t.data).owner, 1);
  EXPECT_EQ(page(t.l2).type_count(), 0u) << "no longer a page table";
  EXPECT_EQ(check_consistency(m), "");
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 30), 0), 0);
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 31), 0), 0);
  EXPECT_EQ(m.d1.tot_pages, 0u);
  EXPECT_EQ(page(t.data).owner, hv::FrameTable::kNoOwner);
}

}  // namespace
}  // namespace mmtest
