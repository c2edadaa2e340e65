// io_port_ranges_test: permit/deny merge and split like Xen's rangeset, and a change that
// does not fit leaves the set as it was.
#include <gtest/gtest.h>

#include "core/io_port_ranges.hpp"

namespace {
using hv::IoPortRanges;

TEST(IoPortRanges, Dom0DefaultsLeaveHolesWhereXenDenies) {
  IoPortRanges r;
  ASSERT_TRUE(r.permit(0, 0xffff));
  ASSERT_TRUE(r.deny(0x20, 0x21));
  ASSERT_TRUE(r.deny(0x40, 0x43));
  ASSERT_TRUE(r.deny(0x61, 0x61));
  EXPECT_TRUE(r.permitted(0x80, 0x80));
  EXPECT_TRUE(r.permitted(0x60, 0x60));
  EXPECT_FALSE(r.permitted(0x61, 0x61));
  EXPECT_FALSE(r.permitted(0x1f, 0x20));  // straddles a hole
  EXPECT_TRUE(r.permitted(0xfffc, 0xffff));
  EXPECT_FALSE(r.permitted(0xffff, 0x10000));  // beyond the port space
  EXPECT_EQ(r.count(), 4u);
}

TEST(IoPortRanges, PermitMergesAdjacentAndOverlapping) {
  IoPortRanges r;
  ASSERT_TRUE(r.permit(10, 20));
  ASSERT_TRUE(r.permit(30, 40));
  ASSERT_TRUE(r.permit(21, 29));
  EXPECT_EQ(r.count(), 1u);
  EXPECT_TRUE(r.permitted(10, 40));
  EXPECT_FALSE(r.permit(5, 4));
}

TEST(IoPortRanges, FullSetRefusesWithoutChanging) {
  IoPortRanges r;
  for (unsigned i = 0; i + 1 < IoPortRanges::kMaxRanges; ++i)
    ASSERT_TRUE(r.permit(static_cast<std::uint16_t>(i * 4), static_cast<std::uint16_t>(i * 4 + 1)));
  ASSERT_TRUE(r.permit(1000, 2000));
  EXPECT_FALSE(r.permit(3000, 3001));  // a new range does not fit
  EXPECT_FALSE(r.permitted(3000, 3000));
  EXPECT_FALSE(r.deny(1500, 1500));  // splitting does not fit either
  EXPECT_TRUE(r.permitted(1500, 1500));
  EXPECT_TRUE(r.deny(1000, 1000));  // trimming an end always fits
  EXPECT_FALSE(r.permitted(1000, 1000));
  EXPECT_EQ(r.count(), IoPortRanges::kMaxRanges);
}

TEST(IoPortRanges, HardwareDomainGetsXensDefaults) {
  IoPortRanges r;
  ASSERT_TRUE(hv::grant_hardware_domain_ports(r, 0x608, 0x3f8));
  for (unsigned denied : {0x20u, 0x21u, 0xa0u, 0xa1u, 0x40u, 0x43u, 0x61u, 0xcfcu, 0xcffu, 0x608u,
                          0x60bu, 0x3f8u, 0x3ffu})
    EXPECT_FALSE(r.permitted(denied, denied)) << std::hex << denied;
  for (unsigned granted : {0x60u, 0x64u, 0x70u, 0x71u, 0x80u, 0xcf8u, 0x2f8u, 0x60cu, 0xffffu})
    EXPECT_TRUE(r.permitted(granted, granted)) << std::hex << granted;
}

}  // namespace
