// vcpu_op and runstate accounting: Xen's common_vcpu_op/map_vcpu_info semantics against a
// fake machine: life cycle, runstate areas (with the XEN_RUNSTATE_UPDATE protocol), placing
// vcpu_info in a guest frame (and every way a hostile guest can get that wrong).
#include <gtest/gtest.h>

#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>
#include <vector>

#include "core/hypercall.hpp"
#include "core/runstate.hpp"
#include "fake_guest.hpp"
#include "fake_machine.hpp"

namespace {
using namespace hv;

constexpr std::uint64_t kArg = FakeGuestMemory::kBase + 0x100;
constexpr std::uint64_t kArea = FakeGuestMemory::kBase + 0x800;

TEST(Runstate, TimeGoesToTheStateBeingLeft) {
  VcpuRunstate r;
  runstate_change(r, pv::RUNSTATE_running, 100);  // offline 0..100
  runstate_change(r, pv::RUNSTATE_runnable, 350);
  runstate_change(r, pv::RUNSTATE_running, 400);
  EXPECT_EQ(r.info.time[pv::RUNSTATE_offline], 100u);
  EXPECT_EQ(r.info.time[pv::RUNSTATE_running], 250u);
  EXPECT_EQ(r.info.time[pv::RUNSTATE_runnable], 50u);
  EXPECT_EQ(r.info.state, pv::RUNSTATE_running);
  EXPECT_EQ(r.info.state_entry_time, 400u);
  pv::vcpu_runstate_info now = runstate_snapshot(r, 1000);  // includes the running period
  EXPECT_EQ(now.time[pv::RUNSTATE_running], 850u);
  EXPECT_EQ(r.info.time[pv::RUNSTATE_running], 250u);  // the snapshot changes nothing
  runstate_change(r, pv::RUNSTATE_blocked, 300);  // a clock reading earlier adds nothing
  EXPECT_EQ(r.info.time[pv::RUNSTATE_running], 250u);
}

// Records each write, so the XEN_RUNSTATE_UPDATE ordering can be checked.
class RecordingMemory final : public GuestMemory {
 public:
  FakeGuestMemory backing;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> writes;  // (va, first 8 bytes)
  Status copy_from_guest(void* dst, std::uint64_t va, std::size_t size) override {
    return backing.copy_from_guest(dst, va, size);
  }
  Status copy_to_guest(std::uint64_t va, const void* src, std::size_t size) override {
    std::uint64_t first = 0;
    std::memcpy(&first, src, size < 8 ? size : 8);
    writes.emplace_back(va, first);
    return backing.copy_to_guest(va, src, size);
  }
};

TEST(Runstate, UpdateFlagBracketsTheGuestCopy) {
  VcpuRunstate r;
  r.guest_area = kArea;
  runstate_change(r, pv::RUNSTATE_running, 5000);
  RecordingMemory mem;
  update_runstate_area(r, mem, true);
  ASSERT_EQ(mem.writes.size(), 3u);
  EXPECT_EQ(mem.writes[0].first, kArea + 8);
  EXPECT_EQ(mem.writes[0].second, 5000u | pv::XEN_RUNSTATE_UPDATE);
  EXPECT_EQ(mem.writes[1].first, kArea);
  EXPECT_EQ(mem.writes[2].first, kArea + 8);
  EXPECT_EQ(mem.writes[2].second, 5000u);
  pv::vcpu_runstate_info seen{};
  ASSERT_TRUE(mem.read(kArea, seen).ok());
  EXPECT_EQ(seen.state_entry_time, 5000u);
  EXPECT_EQ(seen.time[pv::RUNSTATE_offline], 5000u);
  mem.writes.clear();
  update_runstate_area(r, mem, false);
  EXPECT_EQ(mem.writes.size(), 1u);
  r.guest_area = 0x7000000000;  // unmapped: skipped, nothing else happens
  mem.writes.clear();
  update_runstate_area(r, mem, true);
  EXPECT_EQ(mem.writes.size(), 1u);  // the first (faulting) write only
}

// Domain 1 owns the frames of m.d1.
struct VcpuOp : ::testing::Test, FakeGuest {
  mmtest::FakeMachine m;
  Vcpu vcpu1{domain, 1};

  VcpuOp() { EXPECT_TRUE(domain.add_vcpu(vcpu1)); }
  long op(unsigned cmd, std::uint64_t id, std::uint64_t arg = 0) {
    HypercallContext c = ctx(&m.ops);
    return dispatch_hypercall(c, pv::hypercall::vcpu_op, HypercallArgs{cmd, id, arg, 0, 0});
  }
  long register_info(std::uint64_t mfn, std::uint32_t offset, unsigned id = 0) {
    pv::vcpu_register_vcpu_info req{mfn, offset, 0};
    EXPECT_TRUE(memory.write(kArg, req).ok());
    return op(pv::VCPUOP_register_vcpu_info, id, kArg);
  }
};

TEST_F(VcpuOp, LifeCycle) {
  EXPECT_EQ(op(pv::VCPUOP_is_up, 0), 1);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 1), 0);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 2), -pv::XEN_ENOENT);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 0x100000000ull), -pv::XEN_ENOENT);
  EXPECT_EQ(op(pv::VCPUOP_up, 1), -pv::XEN_EINVAL);  // never initialised (Xen)
  vcpu1.initialised = true;
  EXPECT_EQ(op(pv::VCPUOP_up, 1), 0);
  EXPECT_EQ(op(pv::VCPUOP_is_up, 1), 1);
  EXPECT_EQ(op(pv::VCPUOP_down, 1), 0);  // vCPU 0 still up: just vCPU 1 goes down
  EXPECT_EQ(vcpu1.state, VcpuState::offline);
  EXPECT_FALSE(domain.is_shut_down());
  EXPECT_EQ(op(pv::VCPUOP_down, 0), 0);  // the last one: the domain powers off, as in Xen
  EXPECT_TRUE(domain.is_shut_down());
  EXPECT_EQ(domain.shutdown_reason(), pv::SHUTDOWN_poweroff);
  EXPECT_EQ(op(99, 0), -pv::XEN_ENOSYS);
  EXPECT_EQ(op(pv::VCPUOP_get_physid, 0, kArg), -pv::XEN_EINVAL);
}

TEST_F(VcpuOp, RunstateQueriesAndRegistration) {
  runstate_change(vcpu.runstate, pv::RUNSTATE_running, 1000);
  cpu.now_ns = 4000;
  ASSERT_EQ(op(pv::VCPUOP_get_runstate_info, 0, kArg), 0);
  pv::vcpu_runstate_info got{};
  ASSERT_TRUE(memory.read(kArg, got).ok());
  EXPECT_EQ(got.state, pv::RUNSTATE_running);
  EXPECT_EQ(got.time[pv::RUNSTATE_running], 3000u);
  EXPECT_EQ(op(pv::VCPUOP_get_runstate_info, 0, 0x10), -pv::XEN_EFAULT);
  // Registration copies at once; a hypervisor address or a bad argument pointer faults.
  ASSERT_TRUE(memory.write(kArg, pv::vcpu_register_runstate_memory_area{kArea}).ok());
  ASSERT_EQ(op(pv::VCPUOP_register_runstate_memory_area, 0, kArg), 0);
  EXPECT_EQ(vcpu.runstate.guest_area, kArea);
  ASSERT_TRUE(memory.read(kArea, got).ok());
  EXPECT_EQ(got.time[pv::RUNSTATE_running], 3000u);
  ASSERT_TRUE(memory.write(kArg, pv::vcpu_register_runstate_memory_area{0xffff830000000000ull}).ok());
  EXPECT_EQ(op(pv::VCPUOP_register_runstate_memory_area, 0, kArg), -pv::XEN_EFAULT);
  EXPECT_EQ(op(pv::VCPUOP_register_runstate_memory_area, 0, 0x10), -pv::XEN_EFAULT);
  EXPECT_EQ(vcpu.runstate.guest_area, kArea);
}

TEST_F(VcpuOp, VcpuInfoMovesIntoAnOwnedWritableFrame) {
  shared.vcpu_info[0].evtchn_upcall_mask = 1;
  shared.vcpu_info[0].time.tsc_to_system_mul = 0x12345678;
  Mfn frame = m.new_frame(m.d1);
  EXPECT_EQ(register_info(frame, 4096 - sizeof(pv::vcpu_info) + 8), -pv::XEN_ENXIO);  // past the page
  EXPECT_EQ(register_info(frame, 4), -pv::XEN_ENXIO);                                  // misaligned
  EXPECT_EQ(register_info(0xfffffffff, 0), -pv::XEN_EINVAL);                          // no such frame
  Mfn foreign = m.new_frame(m.d2);
  EXPECT_EQ(register_info(foreign, 0), -pv::XEN_EINVAL);  // another domain's frame
  ASSERT_EQ(register_info(frame, 64), 0);
  pv::vcpu_info* placed = vcpu.info();
  ASSERT_EQ(reinterpret_cast<std::uint8_t*>(placed), reinterpret_cast<std::uint8_t*>(m.frame(frame)) + 64);
  EXPECT_EQ(placed->evtchn_upcall_mask, 1);                    // copied
  EXPECT_EQ(placed->time.tsc_to_system_mul, 0x12345678u);      // copied
  EXPECT_EQ(placed->evtchn_upcall_pending, 1);                 // everything pending, as Xen
  EXPECT_EQ(placed->evtchn_pending_sel, ~0ull);
  EXPECT_EQ(m.pages[frame].type(), PageType::writable);
  EXPECT_EQ(m.pages[frame].type_count(), 1u);
  EXPECT_EQ(register_info(frame, 128), -pv::XEN_EINVAL);  // only once
  release_vcpu_info(vcpu, m.frames);
  EXPECT_EQ(m.pages[frame].type_count(), 0u);
  EXPECT_EQ(vcpu.info(), &shared.vcpu_info[0]);
}

TEST_F(VcpuOp, OnlySelfOrAnOfflineVcpuMayMoveItsInfo) {
  Mfn frame = m.new_frame(m.d1);
  vcpu1.state = VcpuState::runnable;
  EXPECT_EQ(register_info(frame, 0, 1), -pv::XEN_EINVAL);
  vcpu1.state = VcpuState::offline;
  EXPECT_EQ(register_info(frame, 0, 1), 0);
  release_vcpu_info(vcpu1, m.frames);
}

}  // namespace
