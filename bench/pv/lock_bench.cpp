// lock_bench: does hypervisor work on one pCPU slow down hypervisor work on another? Boots the
// pv_bench guest on microxen (QEMU -smp 2) twice in one run: alone as dom0 on pCPU 0, then as
// dom0 on pCPU 0 and d1 on pCPU 1 at the same time, and prints each figure's cycles per
// operation in both runs and the ratio parallel / alone. Each figure crosses a different set
// of locks (core/spinlock.hpp): the floor none, the null hypercall and the syscall bounce only
// the caller's domain lock, mmu_update also the memory lock, which is one for the machine. A
// ratio near 1 means the two domains' hypervisor work ran in parallel; near 2, serialised.
// Under TCG absolute cycles mean little: read the ratios of one run.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "pv_bench_common.hpp"
#include "qemu_machine.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;
using namespace microxen::bench;

namespace {

struct Runs {
  Run dom0, d1;
};

// The lines d1 printed (behind its "(d1) " prefix) and everything else (dom0's).
void split_by_domain(const std::string& log, std::string& dom0, std::string& d1) {
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t at = line.find("(d1) ");
    if (at != std::string::npos) d1 += line.substr(at + 5) + "\n";
    else dom0 += line + "\n";
  }
}

struct Images {
  fs::path hypervisor = LOCK_BENCH_HYPERVISOR, guest = LOCK_BENCH_GUEST;
};

Runs run(const Images& images, const fs::path& out_dir, const char* name, bool with_d1, const std::string& args) {
  MachineOptions opt;
  opt.cpus = 2;
  opt.work_dir = out_dir / (std::string("lock_bench-") + name);
  fs::create_directories(opt.work_dir);
  std::vector<BootModule> modules{{images.guest, args}};
  if (with_d1) modules.push_back({images.guest, "domain name=peer mem=32M console_io cpus=1 -- " + args});
  opt.iso = make_grub_iso(images.hypervisor, "bench_floor debug_exit=0xf4 dom0_vcpus_pin", modules, opt.work_dir);
  Machine m(opt);
  m.start();
  const bool done = m.wait_for("all domains have stopped", scaled(900s));
  const std::string log = m.serial_log();
  m.kill();
  std::string dom0_log, d1_log;
  split_by_domain(log, dom0_log, d1_log);
  if (log.find("BENCH_SYNC late") != std::string::npos)
    std::cerr << "lock_bench: " << name << ": a figure started late, so the two domains' figures overlap less\n";
  const bool passed = dom0_log.find("RESULT: PASS") != std::string::npos &&
                      (!with_d1 || d1_log.find("RESULT: PASS") != std::string::npos);
  if (!done || !passed) throw std::runtime_error(std::string(name) + ": the benchmark guests did not pass\n" + m.log_tail(30));
  return Runs{parse(dom0_log), parse(d1_log)};
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 20000;
  fs::path out_dir = ".";
  Images images;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") iterations = 1000;
    else if (a == "--iterations" && i + 1 < argc) iterations = std::stoull(argv[++i]);
    else if (a == "--out-dir" && i + 1 < argc) out_dir = argv[++i];
    else if (a == "--hypervisor" && i + 1 < argc) images.hypervisor = argv[++i];  // e.g. another build's
    else if (a == "--guest" && i + 1 < argc) images.guest = argv[++i];
    else {
      std::cerr << "usage: lock_bench [--smoke] [--iterations N] [--out-dir DIR] [--hypervisor ELF] [--guest ELF]\n";
      return 2;
    }
  }
  try {
    fs::create_directories(out_dir);
    // Every figure of both domains starts at the same system time (pv_bench_guest's sync): the
    // first well after both domains have booted under TCG, then one slot per figure, long
    // enough for the slowest figure at this size.
    const std::uint64_t step_ms = iterations <= 1000 ? 500 : 5000;
    const std::string args = "iterations=" + std::to_string(iterations) + " sync_start_ms=8000 sync_ms=" + std::to_string(step_ms);
    const Runs alone = run(images, out_dir, "alone", false, args);
    const Runs both = run(images, out_dir, "parallel", true, args);
    std::cout << machine_line() << " accel=" << accel_name(choose_accel()) << " iterations=" << iterations << "\n";
    std::ofstream csv(out_dir / "lock_bench.csv");
    csv << "figure,alone_cycles_per_op,parallel_dom0_cycles_per_op,parallel_d1_cycles_per_op,parallel_over_alone\n";
    std::cout << std::left << std::setw(16) << "figure" << std::right << std::setw(14) << "alone" << std::setw(16)
              << "parallel_dom0" << std::setw(14) << "parallel_d1" << std::setw(22) << "parallel_over_alone" << "\n";
    for (const auto& [name, fig] : alone.dom0.figures) {
      const double a = fig.per_op(), p0 = both.dom0.per_op(name), p1 = both.d1.per_op(name);
      const double ratio = a > 0 && p0 > 0 && p1 > 0 ? (p0 + p1) / 2 / a : 0;
      std::cout << std::left << std::setw(16) << name << std::right << std::fixed << std::setprecision(1) << std::setw(14)
                << a << std::setw(16) << p0 << std::setw(14) << p1 << std::setprecision(2) << std::setw(22) << ratio << "\n";
      csv << name << "," << a << "," << p0 << "," << p1 << "," << ratio << "\n";
    }
    std::cout << "parallel_over_alone: the mean of the two domains' figures over the alone figure\n"
              << "csv: " << (out_dir / "lock_bench.csv").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "lock_bench: " << e.what() << "\n";
    return 1;
  }
}
