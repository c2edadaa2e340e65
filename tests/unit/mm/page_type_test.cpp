// page_type_test: the entry-validation rules of x86-64 PV (Xen mm.c), each negative case
// failing with Xen's errno and leaving the frame table untouched.
#include "mm_test_util.hpp"

namespace mmtest {
namespace {

class PageTypeTest : public MmTest {};

TEST_F(PageTypeTest, PinnedL1TakesOneReferencePerMappingAndAdjustsFlags) {
  Mfn l1 = m.new_frame(m.d1), ro = m.new_frame(m.d1), rw = m.new_frame(m.d1);
  m.word(l1, 0) = pte::make(ro, kP);
  m.word(l1, 1) = pte::make(rw, kRW | pte::kUser);
  m.word(l1, 2) = pte::make(ro, kP);
  ASSERT_EQ(pin(m.d1, 1, l1), 0);
  EXPECT_EQ(page(ro).count(), 3u);
  EXPECT_EQ(page(rw).count(), 2u);
  EXPECT_EQ(page(rw).type(), PageType::writable);
  EXPECT_EQ(page(rw).type_count(), 1u);
  EXPECT_EQ(m.word(l1, 0), pte::make(ro, kP | pte::kUser | pte::kGuestKernel)) << "kernel mapping";
  EXPECT_EQ(m.word(l1, 1), pte::make(rw, kRW | pte::kUser | pte::kGlobal)) << "user mapping gets G";
  EXPECT_EQ(check_consistency(m), "");
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, l1), 0);
  EXPECT_EQ(page(ro).count(), 1u);
  EXPECT_EQ(page(rw).type_count(), 0u);
  EXPECT_FALSE(page(l1).validated());
}

TEST_F(PageTypeTest, WritableMappingOfAPageTableIsRefused) {
  Tree t = live_tree(m.d1);
  for (Mfn table : {t.l4, t.l3, t.l2, t.l1})
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 10), pte::make(table, kRW)), -pv::XEN_EBUSY);
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, 10), pte::make(t.l2, kP)), 0) << "read-only views are fine";
  EXPECT_FAILS_CLEANLY(uvm(m.d1, t.va(), pte::make(t.l1, kRW)), -pv::XEN_EBUSY);
  // A table that would map a live table writably cannot be validated either.
  Mfn bad = m.new_frame(m.d1);
  m.word(bad, 7) = pte::make(t.l3, kRW);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, bad), -pv::XEN_EBUSY);
}

TEST_F(PageTypeTest, FrameMappedWritableCannotBecomeAPageTable) {
  Tree t = live_tree(m.d1);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, t.data), -pv::XEN_EINVAL);  // data is mapped RW
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l2, 9), pte::make(t.data, kUp)), -pv::XEN_EINVAL);
  EXPECT_EQ(uvm(m.d1, t.va(), pte::make(t.data, kP)), 0);       // now only read-only
  EXPECT_EQ(pin(m.d1, 1, t.data), 0);
  EXPECT_EQ(page(t.data).type(), PageType::l1);
}

TEST_F(PageTypeTest, FramesOfOtherDomainsAreRefused) {
  Tree t = live_tree(m.d1);
  Mfn theirs = m.new_frame(m.d2);
  Mfn their_l1 = m.new_frame(m.d2);
  ASSERT_EQ(pin(m.d2, 1, their_l1), 0);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(theirs, kP)), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l2, 5), pte::make(their_l1, kUp)), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(theirs, 0), 0), -pv::XEN_EINVAL);  // not d1's table
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, their_l1), -pv::XEN_EINVAL);
  Mfn l1 = m.new_frame(m.d1);
  m.word(l1, 3) = pte::make(theirs, kP);
  EXPECT_FAILS_CLEANLY(pin(m.d1, 1, l1), -pv::XEN_EBUSY);
}

TEST_F(PageTypeTest, HypervisorAndFreeFramesAreRefused) {
  Tree t = live_tree(m.d1);
  const Mfn free_frame = m.allocator.alloc(0).value();
  m.allocator.free(free_frame, 0);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(kXenImageFirst + 3, kP)), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(free_frame, kP)), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l2, 5), pte::make(kXenImageFirst, kUp)), -pv::XEN_EINVAL);
}

TEST_F(PageTypeTest, MmioNeedsPrivilegeAndIsForcedUncached) {
  Tree t = live_tree(m.d1);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(0xb8, kRW)), -pv::XEN_EPERM);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(kFrames + 10, kP)), -pv::XEN_EPERM);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(pte::kInvalidMfn, kP)), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(0xb8, kRW | pte::kPcd)), -pv::XEN_EINVAL);
  Tree z = live_tree(m.dom0);
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 5), pte::make(0xb8, kRW)), 0);
  EXPECT_EQ(m.word(z.l1, 5) & pte::kCacheAttrs, pte::kUncached) << "WB MMIO forced to UC";
  ASSERT_EQ(mmu(m.dom0, ptr(z.l1, 6), pte::make(0xb9, kRW | pte::kPat)), 0);  // WC: kept
  EXPECT_EQ(m.word(z.l1, 6) & pte::kCacheAttrs, pte::kPat);
  EXPECT_EQ(page(0xb8).count(), 1u) << "MMIO is not reference counted";
  EXPECT_EQ(mmu(m.dom0, ptr(z.l1, 7), pte::make(z.data, kRW | pte::kPcd)), 0);
}

TEST_F(PageTypeTest, ReservedFlagBitsAreRefusedPerLevel) {
  Tree t = live_tree(m.d1);
  Mfn d = m.new_frame(m.d1);
  for (Pte bad : {pte::kPse, pte::kPcd, pte::kPwt, pte::kGnttab})
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 5), pte::make(d, kP | bad)), -pv::XEN_EINVAL);
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, 5), pte::make(d, kP | pte::kUser | pte::kGlobal | pte::kNx |
                                               pte::kAvail | (Pte{1} << 58))), 0);
  Mfn l1 = m.new_frame(m.d1);
  // PSE (XSA-148), G and cache bits in L2..L4; the same frame without them is fine.
  for (Pte bad : {pte::kPse, pte::kGlobal, pte::kPcd, pte::kPwt}) {
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l2, 6), pte::make(l1, kUp | bad)), -pv::XEN_EINVAL);
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l3, 6), pte::make(l1, kUp | bad)), -pv::XEN_EINVAL);
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l4, 6), pte::make(l1, kUp | bad)), -pv::XEN_EINVAL);
  }
  EXPECT_EQ(mmu(m.d1, ptr(t.l2, 6), pte::make(l1, kUp | pte::kNx | (Pte{1} << 62))), 0);
  EXPECT_EQ(m.word(t.l2, 6) & pte::kUser, pte::kUser);
}

TEST_F(PageTypeTest, HypervisorL4SlotsCannotBeWrittenAndAreInstalledOnValidation) {
  Tree t = tree(m.d1);
  for (unsigned s = 256; s <= 271; ++s) m.word(t.l4, s) = pte::make(t.data, kRW);  // junk
  ASSERT_EQ(pin(m.d1, 4, t.l4), 0) << "Xen ignores guest junk there and overwrites it";
  EXPECT_EQ(m.word(t.l4, 257), xen_slot_value(257));
  EXPECT_EQ(m.word(t.l4, 256), 0u) << "RO M2P only once used as a kernel root (not strict)";
  EXPECT_EQ(page(t.data).type_count(), 1u) << "only the L1's RW mapping counts";
  Mfn l3 = m.new_frame(m.d1);
  for (unsigned s : {256u, 260u, 271u}) {
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l4, s), pte::make(l3, kUp)), -pv::XEN_EINVAL);
    EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l4, s), 0), -pv::XEN_EINVAL);
  }
  EXPECT_EQ(mmu(m.d1, ptr(t.l4, 255), pte::make(l3, kUp)), 0);
  EXPECT_EQ(mmu(m.d1, ptr(t.l4, 272), pte::make(l3, kUp)), 0);
  EXPECT_EQ(ext(m.d1, pv::MMUEXT_NEW_BASEPTR, t.l4), 0);
  EXPECT_EQ(m.word(t.l4, 256), xen_slot_value(256));
}

TEST_F(PageTypeTest, MalformedL4PinFailsAndUndoesEverything) {
  Tree t = tree(m.d1);
  Mfn l1 = m.new_frame(m.d1);
  ASSERT_EQ(pin(m.d1, 1, l1), 0);
  m.word(t.l4, 9) = pte::make(l1, kUp);  // an L1 where an L3 belongs
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EINVAL);
  m.word(t.l4, 9) = pte::make(t.l4, kUp);  // writable self-map
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EINVAL);
  m.word(t.l4, 9) = pte::make(m.new_frame(m.d2), kUp);  // foreign L3
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EINVAL);
  m.word(t.l4, 9) = 0;
  m.word(t.l2, 100) = pte::make(m.new_frame(m.d1), kUp | pte::kPse);  // superpage deep down
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EINVAL);
  m.word(t.l2, 100) = 0;
  m.word(t.l1, 100) = pte::make(t.l3, kRW);  // the tree maps its own L3 writable
  EXPECT_FAILS_CLEANLY(pin(m.d1, 4, t.l4), -pv::XEN_EBUSY);
  m.word(t.l1, 100) = pte::make(t.l3, kP);
  EXPECT_EQ(pin(m.d1, 4, t.l4), 0);
  EXPECT_EQ(page(t.l1).type(), PageType::l1);
}

TEST_F(PageTypeTest, M2PCanOnlyBeMappedReadOnlyByPrivilegedDomains) {
  Tree z = live_tree(m.dom0);
  const Mfn m2p = kM2pFirst + 1;
  EXPECT_EQ(mmu(m.dom0, ptr(z.l1, 20), pte::make(m2p, kP), pv::DOMID_XEN), 0);
  EXPECT_FAILS_CLEANLY(mmu(m.dom0, ptr(z.l1, 21), pte::make(m2p, kRW), pv::DOMID_XEN), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.dom0, ptr(z.l1, 21), pte::make(m2p, kP | pte::kPcd), pv::DOMID_XEN),
                       -pv::XEN_EACCES);
  // dom0 naming itself as page owner gets nothing it does not own, privileged or not.
  EXPECT_FAILS_CLEANLY(mmu(m.dom0, ptr(z.l1, 21), pte::make(m2p, kP)), -pv::XEN_EBUSY);
  Tree t = live_tree(m.d1);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 20), pte::make(m2p, kP)), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 20), pte::make(m2p, kRW)), -pv::XEN_EBUSY);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(t.l1, 20), pte::make(m2p, kP), pv::DOMID_XEN), -pv::XEN_EPERM);
}

TEST_F(PageTypeTest, LinearPageTablesFollowXenRules) {
  Tree a = live_tree(m.d1);
  Tree b = tree(m.d1);
  ASSERT_EQ(pin(m.d1, 4, b.l4), 0);
  EXPECT_EQ(mmu(m.d1, ptr(a.l4, 300), pte::make(a.l4, kP)), 0) << "RO self-map";
  EXPECT_EQ(page(a.l4).type_count(), 2u) << "a self-map takes no reference";
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(a.l4, 301), pte::make(a.l4, kRW)), -pv::XEN_EINVAL);
  EXPECT_EQ(mmu(m.d1, ptr(a.l4, 302), pte::make(b.l4, kP)), 0) << "RO map of another root";
  EXPECT_EQ(page(b.l4).type_count(), 2u);
  EXPECT_EQ(page(a.l4).linear_pt_count, 1);
  EXPECT_EQ(page(b.l4).linear_pt_count, -1);
  // The loop back (b -> a) and chains through b are refused: b is linearly used, a holds one.
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(b.l4, 303), pte::make(a.l4, kP)), -pv::XEN_EINVAL);
  Tree c = tree(m.d1);
  ASSERT_EQ(pin(m.d1, 4, c.l4), 0);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(b.l4, 303), pte::make(c.l4, kP)), -pv::XEN_EINVAL);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(c.l4, 303), pte::make(a.l4, kP)), -pv::XEN_EINVAL);
  EXPECT_EQ(mmu(m.d1, ptr(c.l4, 303), pte::make(b.l4, kP)), 0) << "b may be used twice";
  // Turning RW on for a linear entry must revalidate and fail (XSA-182).
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(a.l4, 302), pte::make(b.l4, kRW)), -pv::XEN_EINVAL);
  EXPECT_EQ(mmu(m.d1, ptr(a.l4, 302), pte::make(b.l4, kP | pte::kAccessed)), 0) << "fast path";
  // Same-level L2 linear entries work the same way.
  Mfn l2b = m.new_frame(m.d1);
  ASSERT_EQ(pin(m.d1, 2, l2b), 0);
  EXPECT_EQ(mmu(m.d1, ptr(a.l2, 11), pte::make(l2b, kP)), 0);
  EXPECT_FAILS_CLEANLY(mmu(m.d1, ptr(l2b, 11), pte::make(a.l2, kP)), -pv::XEN_EINVAL);
  // Unpinning b leaves it alive through the linear references; dropping them devalidates it.
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, b.l4), 0);
  EXPECT_TRUE(page(b.l4).validated());
  ASSERT_EQ(mmu(m.d1, ptr(a.l4, 302), 0), 0);
  ASSERT_EQ(mmu(m.d1, ptr(c.l4, 303), 0), 0);
  EXPECT_FALSE(page(b.l4).validated());
  EXPECT_EQ(page(b.l3).type_count(), 0u) << "devalidation cascaded";
}

TEST_F(PageTypeTest, UntypedFormerTableIsRetypedNotLinear) {
  Tree a = live_tree(m.d1);
  Mfn other_l2 = m.new_frame(m.d1);
  ASSERT_EQ(pin(m.d1, 2, other_l2), 0);
  ASSERT_EQ(ext(m.d1, pv::MMUEXT_UNPIN_TABLE, other_l2), 0);  // type L2 left, not validated
  // Named by an L2 entry it must become an L1: validated as one (empty: fine), not linear.
  EXPECT_EQ(mmu(m.d1, ptr(a.l2, 12), pte::make(other_l2, kP)), 0);
  EXPECT_EQ(page(other_l2).type(), PageType::l1);
  EXPECT_EQ(page(a.l2).linear_pt_count, 0);
}

TEST_F(PageTypeTest, FastPathOnlyForHarmlessFlagChanges) {
  Tree t = live_tree(m.d1);
  const std::uint64_t count = page(t.data).count();
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, t.i1), pte::make(t.data, kRW | pte::kAccessed | pte::kDirty |
                                                             pte::kNx)), 0);
  EXPECT_EQ(page(t.data).count(), count);
  EXPECT_EQ(mmu(m.d1, ptr(t.l1, t.i1), pte::make(t.data, kP)), 0);  // RW off: revalidated
  EXPECT_EQ(page(t.data).type_count(), 0u);
  const unsigned long flushes = m.flush_domain_count;
  EXPECT_EQ(mmu(m.d1, ptr(t.l2, t.i2), pte::make(t.l1, kUp | pte::kDirty)), 0);
  EXPECT_GT(m.flush_domain_count, flushes) << "L2-L4 changes flush every vCPU";
  EXPECT_EQ(mmu(m.d1, ptr(t.l4, t.i4), pte::make(t.l3, kP)), 0);
  EXPECT_EQ(m.word(t.l4, t.i4), pte::make(t.l3, kP | pte::kUser | pte::kAccessed));
}

}  // namespace
}  // namespace mmtest
