// mm_test_util: a GoogleTest fixture over FakeMachine with one-line wrappers for the MM
// hypercalls, a domain-builder style hierarchy, and "failed and changed nothing" checks.
#pragma once
#include <gtest/gtest.h>

#include "fake_machine.hpp"
#include "pv/errno.hpp"
#include "pv/mmu.hpp"

namespace mmtest {

namespace pte = hv::pte;
using hv::PageType;

inline constexpr Pte kP = pte::kPresent;
inline constexpr Pte kRW = pte::kPresent | pte::kRw;
inline constexpr Pte kUp = pte::kPresent | pte::kRw | pte::kUser | pte::kAccessed;

// A four-level chain L4[i4] -> L3[i3] -> L2[i2] -> L1[i1] -> data, written into fresh frames
// the way a domain builder does before pinning.
struct Tree {
  Mfn l4, l3, l2, l1, data;
  unsigned i4 = 1, i3 = 2, i2 = 3, i1 = 4;
  std::uint64_t va() const {
    return (std::uint64_t{i4} << 39) | (std::uint64_t{i3} << 30) | (std::uint64_t{i2} << 21) |
           (std::uint64_t{i1} << 12);
  }
};

class MmTest : public ::testing::Test {
 protected:
  FakeMachine m;

  void TearDown() override { EXPECT_EQ(check_consistency(m), ""); }

  static std::uint64_t ptr(Mfn table, unsigned index, std::uint64_t cmd = pv::MMU_NORMAL_PT_UPDATE) {
    return (table << 12) | (std::uint64_t{index} << 3) | cmd;
  }
  int mmu(hv::DomainMemory& d, std::uint64_t p, std::uint64_t val,
          std::uint32_t foreign = pv::DOMID_SELF) {
    pv::mmu_update req{p, val};
    unsigned done = 0;
    return m.ops.mmu_update(m.caller(d), {&req, 1}, done, foreign).code();
  }
  int ext(hv::DomainMemory& d, unsigned cmd, std::uint64_t arg1, std::uint64_t arg2 = 0,
          pv::domid_t foreign = pv::DOMID_SELF, unsigned vcpu = 0) {
    pv::mmuext_op op{};
    op.cmd = cmd;
    op.arg1.mfn = arg1;
    op.arg2.src_mfn = arg2;
    unsigned done = 0;
    return m.ops.mmuext_op(m.caller(d, vcpu), {&op, 1}, done, foreign).code();
  }
  int pin(hv::DomainMemory& d, unsigned level, Mfn mfn) {
    return ext(d, pv::MMUEXT_PIN_L1_TABLE + level - 1, mfn);
  }
  int uvm(hv::DomainMemory& d, std::uint64_t va, std::uint64_t val, std::uint64_t flags = 0,
          unsigned vcpu = 0) {
    return m.ops.update_va_mapping(m.caller(d, vcpu), va, val, flags).code();
  }
  Tree tree(hv::DomainMemory& d) {
    Tree t{m.new_frame(d), m.new_frame(d), m.new_frame(d), m.new_frame(d), m.new_frame(d)};
    m.word(t.l4, t.i4) = pte::make(t.l3, kUp);
    m.word(t.l3, t.i3) = pte::make(t.l2, kUp);
    m.word(t.l2, t.i2) = pte::make(t.l1, kUp);
    m.word(t.l1, t.i1) = pte::make(t.data, kRW);
    return t;
  }
  // A tree pinned and loaded as vCPU 0's kernel root.
  Tree live_tree(hv::DomainMemory& d) {
    Tree t = tree(d);
    EXPECT_EQ(pin(d, 4, t.l4), 0);
    EXPECT_EQ(ext(d, pv::MMUEXT_NEW_BASEPTR, t.l4), 0);
    return t;
  }
  const hv::PageInfo& page(Mfn f) const { return m.pages[f]; }
};

// Runs `call` (returning an errno), expects `expected_errno`, and that the frame table is
// exactly as before (decode -> validate -> commit).
#define EXPECT_FAILS_CLEANLY(call, expected_errno)                          \
  do {                                                                      \
    const ::mmtest::FrameSnapshot before_ = ::mmtest::snapshot(m);          \
    EXPECT_EQ((call), (expected_errno));                                    \
    EXPECT_TRUE(::mmtest::snapshot(m) == before_) << "state changed: " #call; \
    EXPECT_EQ(::mmtest::check_consistency(m), "");                          \
  } while (0)

}  // namespace mmtest
