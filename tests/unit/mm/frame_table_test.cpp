// frame_table_test: ownership, reference and type counting, per-domain accounting, and the
// frame returning to the allocator on its last reference.
#include <gtest/gtest.h>

#include "fake_machine.hpp"
#include "pv/errno.hpp"

namespace {

using hv::PageType;
using mmtest::FakeMachine;
using mmtest::Mfn;

TEST(FrameTable, InitMarksIoLowMemoryAndLeavesHypervisorFramesUnowned) {
  FakeMachine m;
  for (Mfn t : {Mfn{0}, Mfn{0x9f}, Mfn{0xff}}) {
    EXPECT_EQ(m.pages[t].owner, pv::DOMID_IO) << t;
    EXPECT_EQ(m.pages[t].type(), PageType::writable);
    EXPECT_EQ(m.pages[t].type_count(), 1u);
  }
  EXPECT_EQ(m.pages[mmtest::kXenImageFirst].owner, hv::FrameTable::kNoOwner);
  EXPECT_EQ(m.pages[mmtest::kXenImageFirst].count(), 0u);
  EXPECT_EQ(m.pages[mmtest::kM2pFirst].owner, pv::DOMID_XEN);
  EXPECT_EQ(m.pages[mmtest::kM2pFirst].type(), PageType::none);
  EXPECT_EQ(m.allocator.free_frames(), mmtest::kFrames - mmtest::kXenImageEnd);
  EXPECT_EQ(mmtest::check_consistency(m), "");
}

TEST(FrameTable, NonRamIsIo) {
  hv::MemoryMap map;
  ASSERT_TRUE(map.add(0, 0x400000, hv::MemoryType::usable));
  ASSERT_TRUE(map.add(0x200000, 0x1000, hv::MemoryType::reserved));
  ASSERT_TRUE(map.add(0x300000, 0x1000, hv::MemoryType::unusable));
  map.normalize();
  std::vector<hv::FrameAllocator::Slot> slots(2048);
  std::vector<hv::PageInfo> pages(2048);
  hv::FrameAllocator a;
  a.init(slots);
  hv::FrameTable ft;
  ft.init(pages, a, map);
  EXPECT_EQ(pages[0x200].owner, pv::DOMID_IO);
  EXPECT_EQ(pages[0x300].owner, hv::FrameTable::kNoOwner);  // unusable RAM is not MMIO (Xen)
  EXPECT_EQ(pages[0x500].owner, pv::DOMID_IO);              // beyond the map
  EXPECT_EQ(pages[0x150].owner, hv::FrameTable::kNoOwner);
}

// A freed frame may still be cached in some pCPU's TLB (its last mapping went without a
// flush): before it is handed out again, every pCPU running a guest flushes, once per batch.
TEST(FrameTable, FreedFramesAreReusedOnlyAfterAFlush) {
  FakeMachine m;
  hv::Result<Mfn> a = m.frames.alloc_domain_frames(m.d2, 0);
  ASSERT_TRUE(a.ok());
  const auto before = m.flush_domain_count;
  ASSERT_TRUE(m.frames.alloc_domain_frames(m.d2, 0).ok());
  EXPECT_EQ(m.flush_domain_count, before) << "nothing was freed: no flush";
  ASSERT_TRUE(m.frames.drop_allocation(*a));  // the last reference: freed
  EXPECT_EQ(m.flush_domain_count, before) << "the flush waits for the frame's reuse";
  ASSERT_TRUE(m.frames.alloc_domain_frames(m.d2, 0).ok());
  EXPECT_EQ(m.flush_domain_count, before + 1);
  ASSERT_TRUE(m.frames.alloc_domain_frames(m.d2, 0).ok());
  EXPECT_EQ(m.flush_domain_count, before + 1) << "one flush covers everything freed before it";
  EXPECT_EQ(mmtest::check_consistency(m), "");
}

TEST(FrameTable, DomainAllocationIsAccountedAndLimited) {
  FakeMachine m;
  m.d2.max_pages = 3;
  hv::Result<Mfn> a = m.frames.alloc_domain_frames(m.d2, 1);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(m.d2.tot_pages, 2u);
  EXPECT_EQ(m.pages[*a].owner, 2);
  EXPECT_EQ(m.pages[*a + 1].count_info, hv::PGC_allocated | 1);
  EXPECT_EQ(m.frames.alloc_domain_frames(m.d2, 1).status().code(), -pv::XEN_E2BIG);
  EXPECT_TRUE(m.frames.alloc_domain_frames(m.d2, 0).ok());
  m.d1.dying = true;
  EXPECT_EQ(m.frames.alloc_domain_frames(m.d1, 0).status().code(), -pv::XEN_EINVAL);
  m.d1.dying = false;
  m.dom0.max_pages = 1u << 20;
  EXPECT_EQ(m.frames.alloc_domain_frames(m.dom0, 13).status().code(), -pv::XEN_ENOMEM);
  EXPECT_EQ(mmtest::check_consistency(m), "");
}

TEST(FrameTable, LastReferenceFreesFrameAndUnaccountsIt) {
  FakeMachine m;
  const std::uint64_t free_before = m.allocator.free_frames();
  Mfn f = m.new_frame(m.d1);
  ASSERT_TRUE(m.frames.get_page(f, 1));
  EXPECT_FALSE(m.frames.get_page(f, 2)) << "owner check";
  EXPECT_EQ(m.pages[f].count(), 2u);
  EXPECT_TRUE(m.frames.drop_allocation(f));
  EXPECT_FALSE(m.frames.drop_allocation(f));
  EXPECT_EQ(m.d1.tot_pages, 1u) << "still referenced, still owned";
  m.frames.put_page(f);
  EXPECT_EQ(m.d1.tot_pages, 0u);
  EXPECT_EQ(m.pages[f].owner, hv::FrameTable::kNoOwner);
  EXPECT_EQ(m.allocator.free_frames(), free_before);
  EXPECT_FALSE(m.frames.get_page(f, 1)) << "a free frame takes no references";
  EXPECT_EQ(m.frames.get_page_any_owner(f), hv::FrameTable::kNoOwner);
}

TEST(FrameTable, TypeChangesOnlyAtZeroTypeCount) {
  FakeMachine m;
  Mfn f = m.new_frame(m.d1);
  ASSERT_TRUE(m.frames.get_page_type(f, PageType::writable).ok());
  EXPECT_EQ(m.frames.get_page_type(f, PageType::l1).code(), -pv::XEN_EINVAL);
  m.frames.put_page_type(f);
  const unsigned long flushes = m.flush_domain_count;
  ASSERT_TRUE(m.frames.get_page_type(f, PageType::l1).ok());  // empty table validates
  EXPECT_GT(m.flush_domain_count, flushes) << "writable -> L1 must flush stale TLB entries";
  EXPECT_TRUE(m.pages[f].validated());
  EXPECT_EQ(m.frames.get_page_type(f, PageType::writable).code(), -pv::XEN_EINVAL);
  ASSERT_TRUE(m.frames.get_page_type(f, PageType::l1).ok());
  EXPECT_EQ(m.pages[f].type_count(), 2u);
  m.frames.put_page_type(f);
  m.frames.put_page_type(f);
  EXPECT_FALSE(m.pages[f].validated()) << "last ref devalidates a table";
  EXPECT_TRUE(m.frames.get_page_type(f, PageType::writable).ok());
  m.frames.put_page_type(f);
  EXPECT_EQ(m.frames.get_page_type(f, PageType::seg_desc).code(), -pv::XEN_EINVAL)
      << "no descriptor checker installed: refused";
  EXPECT_EQ(mmtest::check_consistency(m), "");
}

TEST(FrameTable, SegDescUsesInstalledChecker) {
  FakeMachine m;
  m.validator.set_segdesc_check([](std::uint64_t* d) {
    return d[0] == 0 ? hv::kOk : hv::Status::error(-pv::XEN_EINVAL);
  });
  Mfn f = m.new_frame(m.d1);
  ASSERT_TRUE(m.frames.get_page_type(f, PageType::seg_desc).ok());
  m.frames.put_page_type(f);
  m.word(f, 0) = 1;  // not reachable for a guest; checks the type is still remembered
  EXPECT_TRUE(m.frames.get_page_type(f, PageType::seg_desc).ok()) << "same type: no revalidation";
  m.frames.put_page_type(f);
  ASSERT_TRUE(m.frames.get_page_type(f, PageType::writable).ok());
  m.frames.put_page_type(f);
  EXPECT_EQ(m.frames.get_page_type(f, PageType::seg_desc).code(), -pv::XEN_EINVAL);
}

TEST(FrameTable, DomainRegistry) {
  FakeMachine m;
  hv::DomainMemory dup{1, false, false, 0, 1, 0};
  EXPECT_FALSE(m.frames.attach_domain(dup));
  EXPECT_EQ(m.frames.domain(1), &m.d1);
  EXPECT_EQ(m.frames.domain(7), nullptr);
  hv::DomainMemory d7{7, false, false, 0, 1, 0};
  ASSERT_TRUE(m.frames.attach_domain(d7));
  EXPECT_EQ(m.frames.domain(7), &d7);
  m.frames.detach_domain(d7);
  EXPECT_EQ(m.frames.domain(7), nullptr);
}

TEST(FrameTableDeathTest, PutOfUnreferencedFramePanics) {
  mmtest::log_to_stderr();
  FakeMachine m;
  EXPECT_DEATH(m.frames.put_page(mmtest::kXenImageFirst), "unreferenced");
  Mfn f = m.new_frame(m.d1);
  EXPECT_DEATH(m.frames.put_page_type(f), "put_page_type");
}

}  // namespace
