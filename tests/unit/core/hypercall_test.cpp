// hypercall_test: dispatch and the first handlers (xen_version, console_io, sched_op) against
// a fake guest address space, including hostile pointers and unprivileged callers.
#include <gtest/gtest.h>

#include <pv/console_io.hpp>
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/vcpu.hpp>
#include <pv/version.hpp>
#include <string>
#include <vector>

#include "core/domain_registry.hpp"
#include "core/hypercall.hpp"
#include "core/hypercall_page.hpp"
#include "core/log.hpp"
#include "fake_guest.hpp"
#include <pv/shared_info.hpp>

namespace {
using namespace hv;

std::string console;
void capture(const char* text, std::size_t n) { console.append(text, n); }

struct Guest : FakeGuest {
  explicit Guest(bool privileged, pv::domid_t id = 0) : FakeGuest(id, privileged) {
    info.cmdline = "console=com1 secret=1";
  }
  HypercallContext context() { return ctx(); }
};

constexpr std::uint64_t kBuf = FakeGuestMemory::kBase + 0x100;

TEST(Hypercall, UnknownNumbersAreENOSYS) {
  Guest g(true);
  for (std::uint64_t nr : {11ull, 38ull, 63ull, 64ull, 1000ull, ~0ull})
    EXPECT_EQ(g.call(static_cast<unsigned>(nr > 1000 ? 5000 : nr)), -pv::XEN_ENOSYS) << nr;
  HypercallContext ctx = g.context();
  EXPECT_EQ(dispatch_hypercall(ctx, ~0ull, {}), -pv::XEN_ENOSYS);
}

// The memory hypercalls run under the memory lock; vcpu_op's command is 32 bits (Xen's int
// cmd), so upper bits a guest sets must not take it past the lock.
TEST(Hypercall, MemoryHypercallsTakeTheMemoryLock) {
  const HypercallArgs none{0, 0, 0, 0, 0};
  EXPECT_TRUE(needs_memory_lock(pv::hypercall::mmu_update, none));
  EXPECT_TRUE(needs_memory_lock(pv::hypercall::memory_op, none));
  EXPECT_FALSE(needs_memory_lock(pv::hypercall::multicall, none));  // each entry decides
  EXPECT_FALSE(needs_memory_lock(pv::hypercall::xen_version, none));
  EXPECT_TRUE(needs_memory_lock(pv::hypercall::vcpu_op, HypercallArgs{pv::VCPUOP_initialise, 0, 0, 0, 0}));
  EXPECT_TRUE(needs_memory_lock(pv::hypercall::vcpu_op, HypercallArgs{(1ull << 32) | pv::VCPUOP_initialise, 0, 0, 0, 0}));
  EXPECT_TRUE(needs_memory_lock(pv::hypercall::vcpu_op, HypercallArgs{(7ull << 40) | pv::VCPUOP_register_vcpu_info, 0, 0, 0, 0}));
  EXPECT_FALSE(needs_memory_lock(pv::hypercall::vcpu_op, HypercallArgs{pv::VCPUOP_set_singleshot_timer, 0, 0, 0, 0}));
}

TEST(XenVersion, ReportsXen417AndStrings) {
  Guest g(false, 3);
  EXPECT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_version), (4 << 16) | 17);
  ASSERT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_extraversion, kBuf), 0);
  EXPECT_STREQ(static_cast<const char*>(g.memory.at(kBuf)), ".0-microxen");
  ASSERT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_capabilities, kBuf), 0);
  EXPECT_STREQ(static_cast<const char*>(g.memory.at(kBuf)), "xen-3.0-x86_64 ");
  EXPECT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_pagesize), 4096);
  EXPECT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_pagesize, kBuf), -pv::XEN_EINVAL);
  EXPECT_EQ(g.call(pv::hypercall::xen_version, 99), -pv::XEN_ENOSYS);
}

TEST(XenVersion, FeaturesLinuxRequiresArePresent) {
  Guest g(false, 1);
  pv::xen_feature_info fi{0, 0};
  std::memcpy(g.memory.at(kBuf), &fi, sizeof fi);
  ASSERT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_get_features, kBuf), 0);
  std::memcpy(&fi, g.memory.at(kBuf), sizeof fi);
  EXPECT_TRUE(fi.submap & (1u << pv::XENFEAT_mmu_pt_update_preserve_ad));
  EXPECT_TRUE(fi.submap & (1u << pv::XENFEAT_gnttab_map_avail_bits));
  EXPECT_FALSE(fi.submap & (1u << pv::XENFEAT_auto_translated_physmap));
  EXPECT_FALSE(fi.submap & (1u << pv::XENFEAT_dom0));
  fi.submap_idx = 1;
  std::memcpy(g.memory.at(kBuf), &fi, sizeof fi);
  EXPECT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_get_features, kBuf), -pv::XEN_EINVAL);
}

TEST(XenVersion, PrivilegedSubopsAreDeniedToDomU) {
  Guest domu(false, 2), dom0(true, 0);
  ASSERT_EQ(domu.call(pv::hypercall::xen_version, pv::XENVER_commandline, kBuf), 0);
  EXPECT_STREQ(static_cast<const char*>(domu.memory.at(kBuf)), "<denied>");
  ASSERT_EQ(dom0.call(pv::hypercall::xen_version, pv::XENVER_commandline, kBuf), 0);
  EXPECT_STREQ(static_cast<const char*>(dom0.memory.at(kBuf)), "console=com1 secret=1");
  EXPECT_EQ(domu.call(pv::hypercall::xen_version, pv::XENVER_build_id, 0), -pv::XEN_EPERM);
}

TEST(XenVersion, BadPointersGiveEFAULT) {
  Guest g(true);
  for (std::uint64_t bad : {std::uint64_t{0}, std::uint64_t{0xFFFF82D040000000ull}, std::uint64_t{0x0000800000000000ull},
                            std::uint64_t{FakeGuestMemory::kBase + 0x10000 - 4}})
    EXPECT_EQ(g.call(pv::hypercall::xen_version, pv::XENVER_extraversion, bad), -pv::XEN_EFAULT) << std::hex << bad;
}

class ConsoleIo : public testing::Test {
 protected:
  void SetUp() override {
    console.clear();
    log_reset_sinks();
    ASSERT_TRUE(log_add_sink(capture));
  }
  void TearDown() override { log_reset_sinks(); }
};

TEST_F(ConsoleIo, Dom0WritesRawText) {
  Guest g(true);
  g.domain.console_io_allowed = true;
  std::memcpy(g.memory.at(kBuf), "hello\nworld\n", 12);
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 12, kBuf), 0);
  EXPECT_EQ(console, "hello\nworld\n");
}

TEST_F(ConsoleIo, DomUIsPrefixedWhenAllowedAndRefusedOtherwise) {
  Guest g(false, 7);
  std::memcpy(g.memory.at(kBuf), "hi\x1b[2J\n", 7);
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 7, kBuf), -pv::XEN_EPERM);
  EXPECT_EQ(console, "");
  g.domain.console_io_allowed = true;
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 7, kBuf), 0);
  EXPECT_EQ(console, "(d7) hi[2J\n");  // Xen drops a domU's unprintable characters
}

TEST_F(ConsoleIo, DomULinesAreHeldUntilTheNewline) {
  Guest g(false, 3);
  g.domain.console_io_allowed = true;
  std::memcpy(g.memory.at(kBuf), "ab", 2);
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 2, kBuf), 0);
  EXPECT_EQ(console, "");  // as Xen's pbuf: one whole line, one prefix
  std::memcpy(g.memory.at(kBuf), "c\nd", 3);
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 3, kBuf), 0);
  EXPECT_EQ(console, "(d3) abc\n");
}

TEST_F(ConsoleIo, FaultsAndHugeCountsAreBounded) {
  Guest g(true);
  g.domain.console_io_allowed = true;
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, 16, 0xFFFF830000000000ull), -pv::XEN_EFAULT);
  EXPECT_EQ(g.call(pv::hypercall::console_io, pv::CONSOLEIO_write, ~0ull, kBuf), -pv::XEN_EFAULT);
  EXPECT_EQ(g.call(pv::hypercall::console_io, 7, 1, kBuf), -pv::XEN_ENOSYS);
}

TEST(SchedOp, ShutdownRecordsTheFirstReason) {
  Guest g(false, 4);
  pv::sched_shutdown arg{pv::SHUTDOWN_crash};
  std::memcpy(g.memory.at(kBuf), &arg, sizeof arg);
  EXPECT_EQ(g.call(pv::hypercall::sched_op, pv::SCHEDOP_yield), 0);
  EXPECT_EQ(g.call(pv::hypercall::sched_op, pv::SCHEDOP_shutdown, 0x123), -pv::XEN_EFAULT);
  EXPECT_FALSE(g.domain.is_shut_down());
  EXPECT_EQ(g.call(pv::hypercall::sched_op, pv::SCHEDOP_shutdown, kBuf), 0);
  EXPECT_TRUE(g.domain.is_shut_down());
  EXPECT_FALSE(g.vcpu.runnable());
  arg.reason = pv::SHUTDOWN_poweroff;
  std::memcpy(g.memory.at(kBuf), &arg, sizeof arg);
  EXPECT_EQ(g.call(pv::hypercall::sched_op, pv::SCHEDOP_shutdown, kBuf), 0);
  EXPECT_EQ(g.domain.shutdown_reason(), pv::SHUTDOWN_crash);
}

TEST(DomainRegistry, RoundRobinSkipsStoppedDomains) {
  Domain a(0, true), b(1, false);
  Vcpu a0(a, 0), a1(a, 1), b0(b, 0);
  ASSERT_TRUE(a.add_vcpu(a0));
  ASSERT_TRUE(a.add_vcpu(a1));
  ASSERT_TRUE(b.add_vcpu(b0));
  EXPECT_FALSE(a.add_vcpu(a1));  // ids must be dense and in order
  DomainRegistry r;
  ASSERT_TRUE(r.add(a));
  ASSERT_TRUE(r.add(b));
  EXPECT_FALSE(r.add(a));
  for (Vcpu* v : {&a0, &a1, &b0}) v->state = VcpuState::runnable;
  EXPECT_EQ(r.next_runnable(&a0), &a1);
  EXPECT_EQ(r.next_runnable(&a1), &b0);
  EXPECT_EQ(r.next_runnable(&b0), &a0);
  EXPECT_EQ(r.next_runnable(nullptr), &a0);
  a.shutdown(0);
  EXPECT_EQ(r.next_runnable(&b0), &b0);
  b0.state = VcpuState::blocked;
  EXPECT_EQ(r.next_runnable(&b0), nullptr);
  r.remove(a);
  EXPECT_EQ(r.find(0), nullptr);
  EXPECT_EQ(r.find(1), &b);
}

TEST(GuestMemory, RangeRule) {
  EXPECT_TRUE(guest_range_ok(0x1000, 4096));
  EXPECT_TRUE(guest_range_ok(0x00007FFFFFFFF000ull, 4096));
  EXPECT_FALSE(guest_range_ok(0x00007FFFFFFFF000ull, 4097));  // crosses into non-canonical
  EXPECT_FALSE(guest_range_ok(0xFFFF800000000000ull, 1));     // hypervisor range (M2P)
  EXPECT_FALSE(guest_range_ok(0xFFFF87FFFFFFFFFFull, 1));
  EXPECT_TRUE(guest_range_ok(0xFFFF880000000000ull, 8));      // Linux direct map
  EXPECT_FALSE(guest_range_ok(0xFFFF7FFFFFFFFFF8ull, 16));    // non-canonical into hypervisor
  EXPECT_FALSE(guest_range_ok(0xFFFFFFFFFFFFFFF8ull, 16));    // wraps
  EXPECT_TRUE(guest_range_ok(0xFFFFFFFF80000000ull, 4096));
}

}  // namespace

namespace {

TEST(HypercallPage, StubsMatchXensEncoding) {
  std::uint8_t page[4096];
  hv::write_hypercall_page(page);
  const std::uint8_t console_io[] = {0x51, 0x41, 0x53, 0xB8, 18, 0, 0, 0, 0x0F, 0x05, 0x41, 0x5B, 0x59, 0xC3};
  EXPECT_EQ(std::memcmp(page + 18 * 32, console_io, sizeof console_io), 0);
  EXPECT_EQ(page[18 * 32 + sizeof console_io], 0xCC);
  const std::uint8_t iret[] = {0x51, 0x41, 0x53, 0x50, 0xB8, 23, 0, 0, 0, 0x0F, 0x05, 0xCC};
  EXPECT_EQ(std::memcmp(page + 23 * 32, iret, sizeof iret), 0);
  EXPECT_EQ(page[127 * 32 + 4], 127);
  EXPECT_EQ(page[4095], 0xCC);
}

}  // namespace
