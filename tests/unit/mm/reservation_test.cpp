// reservation_test: XENMEM_increase_reservation / decrease_reservation / populate_physmap
// (memory_reservation) against Xen 4.17's common/memory.c: extents done as the result,
// max_pages and order limits, M2P updates, frames still referenced when given back.
#include <pv/memory.hpp>

#include "../core/fake_guest_memory.hpp"
#include "mm_test_util.hpp"

namespace {
using namespace mmtest;

constexpr std::uint64_t kArg = FakeGuestMemory::kBase;           // the reservation struct
constexpr std::uint64_t kList = FakeGuestMemory::kBase + 0x100;  // the extent list
constexpr std::uint64_t kMaxPage = 1u << 20;

class ReservationTest : public MmTest {
 protected:
  FakeGuestMemory guest;

  long op(hv::DomainMemory& caller, unsigned cmd, std::uint64_t nr, unsigned order = 0,
          pv::domid_t domid = pv::DOMID_SELF, std::uint32_t flags = 0, std::uint64_t list = kList,
          std::uint64_t start = 0) {
    pv::xen_memory_reservation r{};
    r.extent_start.p = list;
    r.nr_extents = nr;
    r.extent_order = order;
    r.mem_flags = flags;
    r.domid = domid;
    EXPECT_TRUE(guest.write(kArg, r).ok());
    return hv::memory_reservation(m.ops, guest, caller, cmd, start, kArg, kMaxPage);
  }
  std::uint64_t& slot(unsigned i) { return static_cast<std::uint64_t*>(guest.at(kList))[i]; }
};

TEST_F(ReservationTest, IncreaseUpToMaxPagesReportsMfns) {
  m.d2.max_pages = m.d2.tot_pages + 3;
  EXPECT_EQ(op(m.d2, pv::XENMEM_increase_reservation, 5), 3) << "stops at max_pages";
  EXPECT_EQ(m.d2.tot_pages, m.d2.max_pages);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(page(slot(i)).owner, m.d2.domid);
    EXPECT_EQ(m.m2p[slot(i)], ~std::uint64_t{0});
  }
  EXPECT_EQ(op(m.d2, pv::XENMEM_increase_reservation, 1), 0);
  m.d2.max_pages += 2;
  EXPECT_EQ(op(m.d2, pv::XENMEM_increase_reservation, 1, 0, pv::DOMID_SELF, 0, 0), 1)
      << "a null list is allowed for increase";
  EXPECT_EQ(op(m.d2, pv::XENMEM_increase_reservation, 1, 10), 0) << "domU max order is 9";
}

TEST_F(ReservationTest, PopulateSetsM2PAndDecreaseGivesBack) {
  const std::uint64_t before = m.d1.tot_pages;
  slot(0) = 0x100;
  slot(1) = 0x200;
  ASSERT_EQ(op(m.d1, pv::XENMEM_populate_physmap, 2, 1), 2);  // two order-1 extents
  const Mfn a = slot(0), b = slot(1);
  EXPECT_EQ(m.m2p[a], 0x100u);
  EXPECT_EQ(m.m2p[a + 1], 0x101u);
  EXPECT_EQ(m.m2p[b + 1], 0x201u);
  EXPECT_EQ(m.d1.tot_pages, before + 4);
  // Decrease takes machine frames for PV; a frame of another domain stops the walk (-ENXIO)
  // after the frames before it in the same extent were given back.
  slot(0) = a;
  slot(1) = b;
  ASSERT_EQ(op(m.d1, pv::XENMEM_decrease_reservation, 2, 1), 2);
  EXPECT_EQ(m.d1.tot_pages, before);
  EXPECT_EQ(m.m2p[a], ~std::uint64_t{0}) << "freed frames lose their M2P entry";
  EXPECT_EQ(page(a).owner, hv::FrameTable::kNoOwner);
  slot(0) = m.new_frame(m.d2);
  EXPECT_EQ(op(m.d1, pv::XENMEM_decrease_reservation, 1), 0) << "not d1's frame (-ENXIO)";
  slot(0) = kFrames;
  EXPECT_EQ(op(m.d1, pv::XENMEM_decrease_reservation, 1), 0) << "outside the frame table";
}

TEST_F(ReservationTest, DecreaseOfAMappedFrameWaitsForTheMapping) {
  Tree t = live_tree(m.d1);
  const std::uint64_t before = m.d1.tot_pages;
  slot(0) = t.data;  // still mapped by the L1
  ASSERT_EQ(op(m.d1, pv::XENMEM_decrease_reservation, 1), 1);
  EXPECT_EQ(m.d1.tot_pages, before) << "freed only when the last reference goes";
  EXPECT_EQ(page(t.data).owner, m.d1.domid);
  ASSERT_EQ(uvm(m.d1, t.va(), 0), 0);
  EXPECT_EQ(m.d1.tot_pages, before - 1);
  EXPECT_EQ(page(t.data).owner, hv::FrameTable::kNoOwner);
  slot(0) = t.data;
  EXPECT_EQ(op(m.d1, pv::XENMEM_decrease_reservation, 1), 0) << "no longer owned";
}

TEST_F(ReservationTest, RefusalsReturnTheStartExtent) {
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, 4, 0, 2), 0) << "other domain, unprivileged";
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, 4, 0, 99), 0) << "unknown domain";
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, 4, 0, pv::DOMID_SELF, 12), 0)
      << "address_bits <= PAGE_SHIFT";
  EXPECT_EQ(op(m.d1, pv::XENMEM_populate_physmap, 4, 0, pv::DOMID_SELF, 0, 0xffff800000000000), 0)
      << "list in the hypervisor's range";
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, 4, 0, pv::DOMID_SELF, 0, kList, 4), 4)
      << "start_extent >= nr_extents";
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, std::uint64_t{1} << 27), 0) << "too many";
  EXPECT_EQ(op(m.d1, pv::XENMEM_populate_physmap, 1, 0, pv::DOMID_SELF,
               pv::XENMEMF_populate_on_demand), 0) << "PoD of oneself";
  // A continuation resumes at start_extent and returns the running total.
  EXPECT_EQ(op(m.d1, pv::XENMEM_increase_reservation, 3, 0, pv::DOMID_SELF, 0, kList, 1), 3);
  // Privileged: another domain's reservation, order up to 18, address_bits honoured.
  EXPECT_EQ(op(m.dom0, pv::XENMEM_increase_reservation, 1, 0, 2), 1);
  EXPECT_EQ(page(slot(0)).owner, 2);
  EXPECT_EQ(op(m.dom0, pv::XENMEM_increase_reservation, 1, 0, pv::DOMID_SELF, 21), 0)
      << "no free frame below 2 MiB on the fake machine";
  EXPECT_EQ(op(m.dom0, pv::XENMEM_increase_reservation, 1, 12, pv::DOMID_SELF, 0), 0)
      << "order 12 fits dom0's limit but not the fake machine";
  EXPECT_EQ(op(m.dom0, pv::XENMEM_increase_reservation, 1, 0, pv::DOMID_SELF, 22), 1);
}

}  // namespace
