// boot_domains_test: boot-module domains (module command lines starting with `domain`) on
// microxen. Microxen only: Xen 4.17 has no dom0less boot on x86 (Arm builds domains from the
// device tree), so there is no oracle run; the single-domain fpu guest runs on Xen 4.17 in
// guest_test's Oracle suite.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "qemu_machine.hpp"
#include "run_to_end.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;

const fs::path kGuests = MICROXEN_GUEST_DIR;

fs::path work_dir(const std::string& name) { return fresh_directory(fs::path(MICROXEN_TEST_RUNS) / ("BootDomains." + name)); }


// dom0 and d1 run the same fpu guest with different seeds and yield to each other hundreds of
// times: each must find its own x87/SSE/AVX registers after every yield.
TEST(BootDomains, TwoDomainsKeepTheirOwnFpuState) {
  fs::path dir = work_dir("TwoDomainsKeepTheirOwnFpuState");
  MachineOptions opt;
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, "debug_exit=0xf4",
                          {{kGuests / "fpu.elf", "seed=1"},
                           {kGuests / "fpu.elf", "domain name=fpu2 mem=32M console_io -- seed=2"}},
                          dir);
  opt.work_dir = dir;
  Machine m(opt);
  std::string log = run_to_end(m, kExitSuccess);
  EXPECT_NE(log.find("(d1) fpu: seed 2"), std::string::npos) << m.log_tail(80);
  EXPECT_TRUE(has_line(log, "RESULT: PASS")) << m.log_tail(80);       // dom0 (no prefix)
  EXPECT_TRUE(has_line(log, "(d1) RESULT: PASS")) << m.log_tail(80);  // the boot-module domain
  EXPECT_NE(log.find("d1 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find("d0 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
}

// A bad setting names the module and the field and that domain does not start; dom0 and the
// good domain run. The good one is large (256 MiB with a 64 MiB initrd module) and writes
// through console_io by the hypervisor option console_io_domu.
TEST(BootDomains, BadSettingIsNamedOthersRunIncludingALargeDomain) {
  fs::path dir = work_dir("BadSettingIsNamedOthersRunIncludingALargeDomain");
  fs::path initrd = dir / "initrd64M.bin";
  {
    std::ofstream out(initrd, std::ios::binary);
    std::string block(1 << 20, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 + 7);
    for (int i = 0; i < 64; ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  MachineOptions opt;
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, "debug_exit=0xf4 console_io_domu",
                          {{kGuests / "hello.elf", "hello-args x=1"},
                           {kGuests / "hello.elf", "domain name=broken mem=lots -- never"},
                           {kGuests / "hello.elf", "domain name=big mem=256M -- big-domain"},
                           {initrd, "initrd for big"}},
                          dir);
  opt.memory_mib = 1024;
  opt.work_dir = dir;
  Machine m(opt);
  std::string log = run_to_end(m, kExitSuccess);
  EXPECT_NE(log.find("module 1: d1 not started: setting 'mem': not a size"), std::string::npos) << m.log_tail(80);
  EXPECT_TRUE(has_line(log, "RESULT: PASS")) << m.log_tail(80);
  EXPECT_NE(log.find("(d2) start_info: magic \"xen-3.0-x86_64\" nr_pages 65536 "), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find(" cmdline \"big-domain\""), std::string::npos) << m.log_tail(80);
  EXPECT_TRUE(has_line(log, "(d2) RESULT: PASS")) << m.log_tail(80);
  EXPECT_EQ(log.find("(d1)"), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find("d2 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
  EXPECT_NE(log.find("d0 destroyed: all its frames are free again"), std::string::npos) << m.log_tail(80);
}

}  // namespace
