// sched_bench: event-channel, vCPU-switch and timer figures on microxen (QEMU -smp 2). Boots
// the sched_bench guest as dom0 (pinned to pCPU 0, Xen's dom0_vcpus_pin) and as d1, pinned
// first to pCPU 0 (the same pCPU: every event and yield is a context switch) and then to
// pCPU 1 (different pCPUs: events cross by IPI). Each run also measures the hypervisor's own
// bare IPI round trip between pCPUs 0 and 1 before the domains start (bench_ipi): the floor
// every figure is divided by. Prints cycles and ns per operation (ns by the guest clock's own
// scale) and writes a CSV. Under TCG only the ratios in one run mean anything.
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <regex>

#include "pv_bench_common.hpp"
#include "qemu_machine.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace microxen::harness;
using namespace microxen::bench;

namespace {

struct Placement {
  const char* name;  // same_pcpu / different_pcpus
  unsigned d1_cpu;
};

struct Result {
  Run run;
  double ipi_ns = 0, ipi_cycles = 0;  // the bare IPI round trip (median)
};

Result run(const fs::path& hypervisor, const fs::path& guest, const fs::path& out_dir, const Placement& p,
           unsigned rounds) {
  MachineOptions opt;
  opt.cpus = 2;
  opt.work_dir = out_dir / (std::string("sched_bench-") + p.name);
  fs::create_directories(opt.work_dir);
  const std::string args = "rounds=" + std::to_string(rounds);
  opt.iso = make_grub_iso(hypervisor, "debug_exit=0xf4 bench_ipi dom0_vcpus_pin",
                          {{guest, args},
                           {guest, "domain name=peer mem=32M console_io cpus=" + std::to_string(p.d1_cpu) + " -- " + args}},
                          opt.work_dir);
  Machine m(opt);
  m.start();
  const bool done = m.wait_for("all domains have stopped", scaled(900s));
  std::string log = m.serial_log();
  m.kill();
  if (!done || log.find("\nRESULT: PASS") == std::string::npos || log.find("(d1) RESULT: PASS") == std::string::npos)
    throw std::runtime_error(std::string(p.name) + ": the benchmark guests did not pass\n" + m.log_tail(30));
  Result r;
  r.run = parse(log);
  std::smatch match;
  if (std::regex_search(log, match, std::regex("ipi: round trip median (\\d+) ns")))
    r.ipi_ns = std::stod(match[1]);
  if (std::regex_search(log, match, std::regex("ipi: round trip median (\\d+) cycles")))
    r.ipi_cycles = std::stod(match[1]);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned rounds = 2000;
  fs::path out_dir = ".";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") rounds = 100;
    else if (a == "--rounds" && i + 1 < argc) rounds = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--out-dir" && i + 1 < argc) out_dir = argv[++i];
    else { std::cerr << "usage: sched_bench [--smoke] [--rounds N] [--out-dir DIR]\n"; return 2; }
  }
  try {
    fs::create_directories(out_dir);
    std::cout << machine_line() << " accel=" << accel_name(choose_accel()) << " rounds=" << rounds << "\n";
    std::ofstream csv(out_dir / "sched_bench.csv");
    csv << "placement,figure,cycles_per_op,ns_per_op,ipi_floor_ns,ratio_to_ipi_floor\n";
    std::cout << std::left << std::setw(18) << "placement" << std::setw(16) << "figure" << std::right << std::setw(18)
              << "cycles_per_op" << std::setw(14) << "ns_per_op" << std::setw(16) << "ipi_floor_ns" << std::setw(20)
              << "ratio_to_ipi_floor" << "\n";
    for (const Placement& p : {Placement{"same_pcpu", 0}, Placement{"different_pcpus", 1}}) {
      const Result r = run(SCHED_BENCH_HYPERVISOR, SCHED_BENCH_GUEST, out_dir, p, rounds);
      for (const char* name : {"evtchn_rtt", "yield_pair", "timer_upcall"}) {
        const double cycles = r.run.per_op(name), ns = r.run.clock.ns(cycles);
        const double ratio = r.ipi_ns > 0 ? ns / r.ipi_ns : 0;
        std::cout << std::left << std::setw(18) << p.name << std::setw(16) << name << std::right << std::fixed
                  << std::setprecision(1) << std::setw(18) << cycles << std::setw(14) << ns << std::setw(16) << r.ipi_ns
                  << std::setprecision(2) << std::setw(20) << ratio << "\n";
        csv << p.name << "," << name << "," << cycles << "," << ns << "," << r.ipi_ns << "," << ratio << "\n";
      }
    }
    std::cout << "same_pcpu yield_pair: each dom0 yield runs d1 and back, two vCPU context switches\n"
              << "csv: " << (out_dir / "sched_bench.csv").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sched_bench: " << e.what() << "\n";
    return 1;
  }
}
