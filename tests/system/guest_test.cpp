// guest tests: each test guest (tests/guests/) runs as the initial domain and must print
// RESULT: PASS: on microxen (suite Microxen, label `boot`, booted by GRUB so the guest gets
// its command line) and on Debian's real Xen 4.17 under the same QEMU (suite Oracle, label
// `oracle`), so each test encodes Xen's behaviour, not just ours.
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "qemu_machine.hpp"

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;

struct GuestCase {
  const char* name;  // tests/guests/<name>.elf
  const char* args;  // the guest's command line
  bool on_microxen;  // false while microxen lacks what the guest tests (runs on Xen only)
  const char* xen_args = "";  // appended to Xen's command line in the oracle run
  int cpus = 1;               // QEMU -smp (pCPUs) for both runs
  const char* hv_args = "";   // appended to microxen's command line
  bool on_oracle = true;      // false for variants that only add machine shapes
};

void PrintTo(const GuestCase& g, std::ostream* out) { *out << g.name; }

const GuestCase kGuests[] = {
    {"hello", "hello-args x=1", true},
    {"traps", "", true},
    {"usermode", "", true},
    {"mmu_ok", "", true},
    {"mmu_bad", "", true},
    {"segments", "", true},
    {"ptwr", "", true},
    {"fpu", "seed=7", true},  // alone here; with a second domain in boot_domains_test
    {"pvclock", "", true},
    {"privop", "", true},
    {"privop_failsafe", "", true},
    {"ldt", "", true},
    {"evtchn", "", true},
    {"timer", "", true},
    {"timer", "", true, "", 4, "", false},  // its timers on a machine whose other pCPUs idle and steal
    {"nmi", "", true},
    {"debugreg", "", true},
    {"balloon", "", true, "dom0_mem=64M,max:64M"},  // a dom0 max_pages it can reach
    {"smp", "", true, "dom0_max_vcpus=4", 2, "dom0_max_vcpus=4"},  // 4 vCPUs on 2 pCPUs
    {"smp", "", true, "dom0_max_vcpus=4", 4, "dom0_max_vcpus=4", false},  // one pCPU each
    {"evtchn", "", true, "", 2, "", false},
};

const fs::path kXen = MICROXEN_XEN_BINARY;
const auto kXenTimeout = 180s;  // Xen boots in ~15 s under TCG on these machines

// The guest's name, with the pCPU count for a multi-CPU machine (smp_2cpus).
std::string case_name(const GuestCase& g) {
  return g.cpus == 1 ? g.name : std::string(g.name) + "_" + std::to_string(g.cpus) + "cpus";
}
std::string param_name(const testing::TestParamInfo<GuestCase>& info) { return case_name(info.param); }

fs::path work_dir(const std::string& suite, const std::string& name) {
  return fresh_directory(fs::path(MICROXEN_TEST_RUNS) / (suite + "." + name));
}

// Waits for the guest's RESULT line and returns it ("" when none came).
std::string wait_result(Machine& m, std::chrono::milliseconds timeout) {
  if (!m.wait_for("RESULT: ", timeout)) return "";
  m.wait_for("\n", 10s);
  std::string log = m.serial_log();
  std::size_t at = log.rfind("RESULT: ");
  std::string line = log.substr(at, log.find('\n', at) - at);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // Xen's console adds CR
  return line;
}

class Microxen : public testing::TestWithParam<GuestCase> {};

TEST_P(Microxen, Passes) {
  const GuestCase& g = GetParam();
  fs::path dir = work_dir("Microxen", case_name(g));
  MachineOptions opt;
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, std::string("debug_exit=0xf4 ") + g.hv_args,
                          {{fs::path(MICROXEN_GUEST_DIR) / (std::string(g.name) + ".elf"), g.args}}, dir);
  opt.work_dir = dir;
  opt.cpus = g.cpus;
  Machine m(opt);
  m.start();
  std::string result = wait_result(m, scaled(kXenTimeout));
  EXPECT_EQ(result, "RESULT: PASS") << m.log_tail(60);
  auto status = m.wait_exit(scaled(60s));
  ASSERT_TRUE(status.has_value()) << m.log_tail(60);
  EXPECT_EQ(*status, kExitSuccess) << m.log_tail(60);
  EXPECT_EQ(m.serial_log().find("PANIC"), std::string::npos) << m.log_tail(60);
}

class Oracle : public testing::TestWithParam<GuestCase> {};

TEST_P(Oracle, PassesOnXen417) {
  const GuestCase& g = GetParam();
  ASSERT_TRUE(fs::exists(kXen)) << kXen << " is missing: scripts/test fetches Debian's Xen 4.17 "
                                   "(or source scripts/lib/common.sh and run microxen_fetch_xen)";
  MachineOptions opt;
  opt.kernel = kXen;
  opt.loader = KernelLoader::multiboot1;
  opt.cpu_model = "max,-smap";  // see ARCHITECTURE.md: TCG's SMAP breaks Xen 4.17's bounces
  opt.cmdline = "console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=64M noreboot";
  if (*g.xen_args != '\0') opt.cmdline += std::string(" ") + g.xen_args;
  opt.modules = {{fs::path(MICROXEN_GUEST_DIR) / (std::string(g.name) + ".elf"), g.args}};
  opt.debug_exit = false;
  opt.cpus = g.cpus;
  opt.work_dir = work_dir("Oracle", case_name(g));
  Machine m(opt);
  m.start();
  std::string result = wait_result(m, scaled(kXenTimeout));
  m.kill();  // Xen halts rather than powering off when dom0 shuts down
  EXPECT_EQ(result, "RESULT: PASS") << m.log_tail(60);
  EXPECT_EQ(m.serial_log().find("Xen BUG"), std::string::npos) << m.log_tail(60);
}

std::vector<GuestCase> microxen_ready() {
  std::vector<GuestCase> ready;
  for (const GuestCase& g : kGuests)
    if (g.on_microxen) ready.push_back(g);
  return ready;
}

std::vector<GuestCase> oracle_cases() {
  std::vector<GuestCase> cases;
  for (const GuestCase& g : kGuests)
    if (g.on_oracle) cases.push_back(g);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Guests, Microxen, testing::ValuesIn(microxen_ready()), param_name);
INSTANTIATE_TEST_SUITE_P(Guests, Oracle, testing::ValuesIn(oracle_cases()), param_name);

}  // namespace
