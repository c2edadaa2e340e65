// The real client, early: Debian's stock kernel (package linux-image-amd64; scripts/test
// downloads its bzImage into build/linux/) runs as a boot-module domU with 2 vCPUs next to a
// small dom0, on a 2-CPU machine. Its bzImage is unpacked on the host
// (dom0-tools/kernel-image), booted with earlyprintk=xen (the domain may write through
// console_io), and must get through memory and paging setup, time, events and SMP bring-up:
// "Memory: ...K/...K available", "Xen: using vcpuop timer interface", "smp: Brought up 1
// node, 2 CPUs", with no soft lockup, no clock complaint and no hypervisor warning. It then
// stops where it needs xenstore (no root device: "VFS: Unable to mount root fs"), and panics.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>

#include "kernel_image.hpp"
#include "qemu_machine.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;

const fs::path kBzImage = MICROXEN_LINUX_BZIMAGE;

fs::path unpack_kernel(const fs::path& dir) {
  std::ifstream in(kBzImage, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = microxen::kernel_image::unpack(bytes);
  EXPECT_TRUE(r.ok) << kBzImage << ": " << r.error;
  fs::path elf = dir / "vmlinux";
  std::ofstream out(elf, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(r.image.elf.data()), static_cast<std::streamsize>(r.image.elf.size()));
  return elf;
}

// The lines the hypervisor prints when a guest does something it refuses or does not know.
std::vector<std::string> hypervisor_complaints(const std::string& log) {
  std::vector<std::string> found;
  for (const std::string& line : log_lines(log))
    if (line.rfind("[hv] WARNING", 0) == 0 || line.rfind("[hv] ERROR", 0) == 0 ||
        line.find("PANIC") != std::string::npos)
      found.push_back(line);
  return found;
}

std::string last_guest_lines(const std::string& log, std::size_t count) {
  std::vector<std::string> guest;
  for (const std::string& line : log_lines(log))
    if (line.rfind("(d1)", 0) == 0) guest.push_back(line);
  std::string out;
  for (std::size_t i = guest.size() > count ? guest.size() - count : 0; i < guest.size(); ++i) out += guest[i] + "\n";
  return out;
}

TEST(LinuxDomU, BootsThroughMemoryAndPagingSetup) {
  ASSERT_TRUE(fs::exists(kBzImage)) << kBzImage << " is missing: scripts/test fetches it (or source "
                                       "scripts/lib/common.sh and run microxen_fetch_linux)";
  fs::path dir = fresh_directory(fs::path(MICROXEN_TEST_RUNS) / "LinuxDomU");
  fs::path vmlinux = unpack_kernel(dir);
  MachineOptions opt;
  opt.memory_mib = 1024;
  opt.cpus = 2;
  opt.iso = make_grub_iso(
      MICROXEN_HYPERVISOR_ELF, "debug_exit=0xf4",
      {{fs::path(MICROXEN_GUEST_DIR) / "hello.elf", "dom0"},
       {vmlinux, "domain name=debian mem=256M vcpus=2 console_io -- earlyprintk=xen console=hvc0 loglevel=8"}},
      dir);
  opt.work_dir = dir;
  Machine m(opt);
  m.start();
  // Linux 6.1 says "Booting kernel on Xen" (before 5.x: "Booting paravirtualized kernel on Xen").
  EXPECT_TRUE(m.wait_for("kernel on Xen", scaled(240s))) << m.log_tail(80);
  bool memory = m.wait_for("K available", scaled(300s));
  if (memory) m.wait_for("all domains have stopped", scaled(300s));
  std::string log = m.serial_log();
  m.kill();
  std::regex memory_line(R"(Memory: \d+K/\d+K available)");
  EXPECT_TRUE(std::regex_search(log, memory_line)) << m.log_tail(80);
  EXPECT_EQ(hypervisor_complaints(log), std::vector<std::string>{}) << m.log_tail(80);
  EXPECT_NE(log.find("smp: Brought up 1 node, 2 CPUs"), std::string::npos) << last_guest_lines(log, 40);
  EXPECT_NE(log.find("Xen: using vcpuop timer interface"), std::string::npos) << last_guest_lines(log, 40);
  EXPECT_NE(log.find("Switched to clocksource xen"), std::string::npos) << last_guest_lines(log, 40);
  // Where it stops without xenstore (no block device, no initramfs).
  EXPECT_NE(log.find("VFS: Unable to mount root fs"), std::string::npos) << last_guest_lines(log, 40);
  for (const char* complaint : {"soft lockup", "hard LOCKUP", "clocksource: timekeeping watchdog",
                                "marking unstable", "rcu_sched self-detected stall", "rcu: INFO"})
    EXPECT_EQ(log.find(complaint), std::string::npos) << complaint << "\n" << last_guest_lines(log, 40);
  std::cout << "last kernel lines:\n" << last_guest_lines(log, 15);
}

}  // namespace
