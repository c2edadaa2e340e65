// boot tests: the hypervisor boots under QEMU by both paths a machine takes (QEMU's PVH
// loader and GRUB multiboot2), reports the machine on COM1, and ends cleanly. With several
// CPUs (QEMU -smp N) each application processor reports "CPU <n> (APIC id <x>) online" and
// bring-up ends with the line "SMP: <N> CPUs online" (also with N = 1); `maxcpus=N` limits
// N. The ipi self-test prints "ipi: round trip median <ns> ns mean <ns> ns (<n> samples)".
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "qemu_machine.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;

const auto kBootTimeout = 120s;  // TCG with SeaBIOS and GRUB; typically a few seconds

fs::path work_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(MICROXEN_TEST_RUNS) / (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

fs::path make_module(const fs::path& dir, const std::string& name, std::size_t size) {
  fs::path path = dir / name;
  std::ofstream out(path, std::ios::binary);
  for (std::size_t i = 0; i < size; ++i) out.put(static_cast<char>(i * 7));
  return path;
}

void expect_markers(Machine& m, std::initializer_list<std::string_view> markers) {
  for (auto marker : markers)
    ASSERT_TRUE(m.wait_for(marker, scaled(kBootTimeout))) << "missing \"" << marker << "\"\n" << m.log_tail();
}

std::uint64_t reported_ram_mb(const std::string& log) {
  std::smatch match;
  std::regex re("System RAM: ([0-9]+)MB");
  return std::regex_search(log, match, re) ? std::stoull(match[1]) : 0;
}

TEST(Boot, PvhReportsMachineAndExitsCleanly) {
  fs::path dir = work_dir();
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.modules = {{fs::path(MICROXEN_GUEST_DIR) / "hello.elf", ""}};
  opt.cmdline = "loglvl=all demo=1";
  opt.work_dir = dir;
  Machine m(opt);
  m.start();
  expect_markers(m, {"microxen hypervisor", "Booted by PVH", "command line: \"loglvl=all demo=1",
                     "CPU: ", "CPU features: ", "Memory map", "(usable)", "System RAM: ",
                     "Boot modules: 1", "ACPI: RSDP", "ACPI: S5 via PM1a_CNT", "frame allocator: ",
                     "Building a PV dom0", "ENTRY ADDRESS: ffffffff80001000", "RESULT: PASS",
                     "d0: shutdown, reason 0", "all domains have stopped", "no frame leaked",
                     "exiting through debug port"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitSuccess) << m.log_tail();
  std::uint64_t ram = reported_ram_mb(m.serial_log());
  EXPECT_GT(ram, 400u) << "QEMU was given 512 MiB";
  EXPECT_LE(ram, 512u);
  EXPECT_EQ(m.serial_log().find("PANIC"), std::string::npos);
}

TEST(Boot, AcpiPowerOffEndsQemu) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.debug_exit = false;
  opt.memory_mib = 256;
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, {"microxen hypervisor", "Boot modules: 0", "nothing to run",
                     "powering off (ACPI S5)"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << "ACPI power-off did not stop the machine\n" << m.log_tail();
  EXPECT_EQ(*status, 0) << m.log_tail();
  EXPECT_EQ(m.serial_log().find("power off failed"), std::string::npos);
}

TEST(Boot, GrubMultiboot2WithModulesAndArguments) {
  fs::path dir = work_dir();
  std::vector<BootModule> modules = {{fs::path(MICROXEN_GUEST_DIR) / "hello.elf", "first x=1"},
                                     {make_module(dir, "initrd.bin", 100000), "second --flag"}};
  MachineOptions opt;
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, "console=com1 debug_exit=0xf4", modules, dir);
  opt.work_dir = dir;
  Machine m(opt);
  m.start();
  expect_markers(m, {"microxen hypervisor", "Booted by multiboot2 from GRUB",
                     "command line: \"console=com1 debug_exit=0xf4\"", "CPU features: ",
                     "Memory map", "System RAM: ", "Boot modules: 2",
                     "cmdline \"first x=1\"", "100000 bytes, cmdline \"second --flag\"",
                     "ACPI: S5 via PM1a_CNT", "Building a PV dom0", "cmdline \"first x=1\"",
                     "RESULT: PASS", "all domains have stopped"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitSuccess) << m.log_tail();
}

TEST(Boot, HypervisorFaultPanicsWithFrame) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cmdline = "selftest=ud";
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, {"self-test: provoking ud", "PANIC", "#UD invalid opcode", "rip="});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitFailure) << m.log_tail();
}

TEST(Boot, PageFaultInHypervisorIsReported) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cmdline = "selftest=pf";
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, {"PANIC", "#PF page fault", "cr2=0xffff800000000000"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitFailure);
}

TEST(Boot, Ring3HypercallsSelfTest) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cmdline = "selftest=ring3";
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, {"self-test: provoking ring3", "ring3 self-test: hypercalls from ring 3 work",
                     "d0: shutdown, reason 0", "all domains have stopped"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitSuccess) << m.log_tail();
}

TEST(Boot, TwoCpusAndMoreMemoryBoot) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cpus = 2;
  opt.memory_mib = 2048;
  opt.modules = {{fs::path(MICROXEN_GUEST_DIR) / "hello.elf", ""}};
  opt.cmdline = "dom0_mem=512M";
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, {"microxen hypervisor", "System RAM: ", "131072 pages", "RESULT: PASS",
                     "all domains have stopped"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitSuccess);
  EXPECT_GT(reported_ram_mb(m.serial_log()), 1900u) << m.log_tail();
}

std::string smp_online(int n) { return "SMP: " + std::to_string(n) + " CPUs online"; }

// Boots hello on `cpus` QEMU CPUs with `cmdline`; every one of the first `online` CPUs must
// come online and the guest must still pass.
void boot_hello_with_cpus(int cpus, const std::string& cmdline, int online) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cpus = cpus;
  opt.modules = {{fs::path(MICROXEN_GUEST_DIR) / "hello.elf", ""}};
  opt.cmdline = cmdline;
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  for (int cpu = 1; cpu < online; ++cpu) {
    std::string line = "CPU " + std::to_string(cpu) + " (APIC id " + std::to_string(cpu) + ") online";
    ASSERT_TRUE(m.wait_for(line, scaled(kBootTimeout))) << "missing \"" << line << "\"\n" << m.log_tail();
  }
  expect_markers(m, {smp_online(online), "RESULT: PASS", "all domains have stopped"});
  auto status = m.wait_exit(scaled(kBootTimeout));
  ASSERT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(*status, kExitSuccess) << m.log_tail();
  const std::string log = m.serial_log();
  EXPECT_EQ(log.find("PANIC"), std::string::npos) << m.log_tail();
  EXPECT_EQ(log.find("skipped"), std::string::npos) << "a CPU did not come online\n" << m.log_tail();
  EXPECT_EQ(log.find("CPU " + std::to_string(online) + " ("), std::string::npos) << "too many CPUs started";
}

TEST(Boot, TwoCpusComeOnline) { boot_hello_with_cpus(2, "", 2); }

TEST(Boot, FourCpusComeOnline) { boot_hello_with_cpus(4, "", 4); }

TEST(Boot, MaxcpusLimitsTheCpusStarted) { boot_hello_with_cpus(2, "maxcpus=1", 1); }

// Runs selftest=`name` on two CPUs and returns its log (the machine must end with success).
std::string run_smp_selftest(const std::string& name, std::initializer_list<std::string_view> markers) {
  MachineOptions opt;
  opt.kernel = MICROXEN_HYPERVISOR_ELF;
  opt.cpus = 2;
  opt.cmdline = "selftest=" + name;
  opt.work_dir = work_dir();
  Machine m(opt);
  m.start();
  expect_markers(m, markers);
  auto status = m.wait_exit(scaled(kBootTimeout));
  EXPECT_TRUE(status.has_value()) << m.log_tail();
  EXPECT_EQ(status.value_or(-1), kExitSuccess) << m.log_tail();
  return m.serial_log();
}

TEST(Boot, IpiRoundTripSelfTest) {
  std::string log = run_smp_selftest("ipi", {smp_online(2), "ipi: round trip median"});
  std::smatch match;
  std::regex re("ipi: round trip median ([0-9]+) ns mean ([0-9]+) ns \\(([0-9]+) samples\\)");
  ASSERT_TRUE(std::regex_search(log, match, re)) << log;
  EXPECT_GT(std::stoull(match[1]), 0u);
  EXPECT_GT(std::stoull(match[2]), 0u);
  EXPECT_EQ(std::stoull(match[3]), 1000u);
}

TEST(Boot, TlbShootdownSelfTest) {
  std::string log = run_smp_selftest("flush", {smp_online(2), "flush: CPU 1 sees the new mapping"});
  EXPECT_EQ(log.find("FAILED"), std::string::npos) << log;
}

}  // namespace
