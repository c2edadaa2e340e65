// sched_test: the credit scheduler's proportional share on microxen. dom0 runs the hello guest;
// boot-module domains run tests/guests/spin (CPU-bound for 5 s of system time) with weights
// 256 and 512, on 1 pCPU (one of each) and on 2 pCPUs (two of each), and each reports the
// running time the hypervisor accounted to it (VCPUOP_get_runstate_info). Heavy must have run
// twice as long as light, within 10%: a ratio of the hypervisor's own accounting, never of
// wall-clock timings.
// Microxen only: Xen 4.17 has no dom0less boot on x86, so there is no oracle run.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "qemu_machine.hpp"
#include "run_to_end.hpp"

namespace {
namespace fs = std::filesystem;
using namespace microxen::harness;

const fs::path kGuests = MICROXEN_GUEST_DIR;

struct SpinReport {
  std::uint64_t running_ns = 0, runnable_ns = 0, elapsed_ns = 0;
};

// The report line of domain `domid` ("(dN) spin: running_ns=... runnable_ns=... elapsed_ns=...").
std::optional<SpinReport> spin_report(const std::string& log, int domid) {
  const std::regex line("\\(d" + std::to_string(domid) +
                        "\\) spin: running_ns=([0-9]+) runnable_ns=([0-9]+) elapsed_ns=([0-9]+)");
  std::smatch m;
  if (!std::regex_search(log, m, line)) return std::nullopt;
  return SpinReport{std::stoull(m[1]), std::stoull(m[2]), std::stoull(m[3])};
}

// Boots hello as dom0 plus one spin domain per weight on `cpus` pCPUs; returns each spin
// domain's accounted running time (index i: the domain with weights[i], domid i + 1).
std::vector<std::uint64_t> run_spinners(const char* name, unsigned cpus, const std::vector<unsigned>& weights) {
  fs::path dir = fresh_directory(fs::path(MICROXEN_TEST_RUNS) / name);
  std::vector<BootModule> modules = {{kGuests / "hello.elf", "hello"}};
  for (unsigned w : weights)
    modules.push_back({kGuests / "spin.elf", "domain mem=32M console_io weight=" + std::to_string(w) + " -- seconds=5"});
  MachineOptions opt;
  opt.cpus = cpus;
  opt.iso = make_grub_iso(MICROXEN_HYPERVISOR_ELF, "debug_exit=0xf4", modules, dir);
  opt.work_dir = dir;
  Machine m(opt);
  std::string log = run_to_end(m, kExitSuccess);
  std::vector<std::uint64_t> running;
  for (int domid = 1; domid <= static_cast<int>(weights.size()); ++domid) {
    EXPECT_TRUE(has_line(log, "(d" + std::to_string(domid) + ") RESULT: PASS")) << m.log_tail(80);
    std::optional<SpinReport> r = spin_report(log, domid);
    EXPECT_TRUE(r.has_value()) << "d" << domid << "\n" << m.log_tail(80);
    running.push_back(r ? r->running_ns : 0);
    std::printf("%s: d%d weight %u running %lu ns\n", name, domid, weights[domid - 1],
                static_cast<unsigned long>(running.back()));
  }
  return running;
}

void expect_ratio_two(std::uint64_t heavy, std::uint64_t light) {
  ASSERT_GT(light, 0u);
  const double ratio = static_cast<double>(heavy) / static_cast<double>(light);
  std::printf("ratio %.3f\n", ratio);
  EXPECT_GE(ratio, 1.8);
  EXPECT_LE(ratio, 2.2);
}

TEST(Scheduler, FairnessWeights256And512OnOnePcpu) {
  const std::vector<std::uint64_t> t = run_spinners("Scheduler.Fairness1", 1, {256, 512});
  ASSERT_EQ(t.size(), 2u);
  expect_ratio_two(t[1], t[0]);
}

// Two light and two heavy single-vCPU domains on 2 pCPUs (QEMU -smp 2): each heavy one must
// get twice a light one's time, which needs the pCPUs' run queues to balance (work stealing)
// as well as the weights.
TEST(Scheduler, FairnessWeights256And512OnTwoPcpus) {
  const std::vector<std::uint64_t> t = run_spinners("Scheduler.Fairness2", 2, {256, 256, 512, 512});
  ASSERT_EQ(t.size(), 4u);
  expect_ratio_two(t[2] + t[3], t[0] + t[1]);
}

}  // namespace
