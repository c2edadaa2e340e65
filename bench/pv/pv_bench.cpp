// pv_bench: boots the pv_bench guest as dom0 on microxen (with bench_floor, so the empty
// syscall/sysret round trip is measured in the same run) and, when present, on Debian's Xen
// 4.17 under the same QEMU, then prints cycles per operation, the ratio to the floor and the
// ratio to Xen, and writes a CSV. TSC cycles under TCG mean little alone: read the ratios.
// Each figure is also given in ns, converted with the scale (tsc_to_system_mul, tsc_shift)
// of the guest's own vcpu_time_info on that hypervisor: what the guest's clock would say.
#include <cstdlib>
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

Run run(MachineOptions opt, const std::string& what) {
  Machine m(opt);
  m.start();
  bool done = m.wait_for("RESULT: ", scaled(600s));
  m.wait_for("\n", 10s);
  m.kill();
  std::string log = m.serial_log();
  if (!done || log.find("RESULT: PASS") == std::string::npos)
    throw std::runtime_error(what + ": the benchmark guest did not pass\n" + m.log_tail(30));
  return parse(log);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t iterations = 20000;
  fs::path out_dir = ".", hypervisor = PV_BENCH_HYPERVISOR, guest = PV_BENCH_GUEST, xen = PV_BENCH_XEN;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--smoke") iterations = 1000;
    else if (a == "--iterations" && i + 1 < argc) iterations = std::stoull(argv[++i]);
    else if (a == "--out-dir" && i + 1 < argc) out_dir = argv[++i];
    else if (a == "--xen" && i + 1 < argc) xen = argv[++i];
    else { std::cerr << "usage: pv_bench [--smoke] [--iterations N] [--out-dir DIR] [--xen PATH]\n"; return 2; }
  }
  try {
    fs::create_directories(out_dir);
    const std::string args = "iterations=" + std::to_string(iterations);
    MachineOptions mx;
    mx.work_dir = out_dir / "pv_bench-microxen";
    fs::create_directories(mx.work_dir);
    mx.iso = make_grub_iso(hypervisor, "bench_floor debug_exit=0xf4", {{guest, args}}, mx.work_dir);
    Run ours = run(mx, "microxen");

    Run theirs;
    if (fs::exists(xen)) {
      MachineOptions x;
      x.kernel = xen;
      x.loader = KernelLoader::multiboot1;
      x.cpu_model = "max,-smap";
      x.cmdline = "console=com1 com1=115200,8n1 dom0_mem=64M noreboot";
      x.modules = {{guest, args}};
      x.debug_exit = false;
      x.work_dir = out_dir / "pv_bench-xen";
      theirs = run(x, "Xen 4.17");
    }

    std::cout << machine_line() << " accel=" << accel_name(choose_accel()) << " iterations=" << iterations << "\n";
    std::cout << "guest pvclock scale: microxen mul=" << ours.clock.mul << " shift=" << ours.clock.shift
              << ", xen417 mul=" << theirs.clock.mul << " shift=" << theirs.clock.shift << " (0: no figure)\n";
    auto& mine = ours.figures;
    auto& xens = theirs.figures;
    const double floor = mine.count("floor_roundtrip") ? mine["floor_roundtrip"].per_op() : 0;
    std::ofstream csv(out_dir / "pv_bench.csv");
    csv << "figure,microxen_cycles_per_op,microxen_ns_per_op,ratio_to_floor,xen417_cycles_per_op,"
           "xen417_ns_per_op,microxen_over_xen417\n";
    std::cout << std::left << std::setw(16) << "figure" << std::right << std::setw(24) << "microxen_cycles_per_op"
              << std::setw(20) << "microxen_ns_per_op" << std::setw(16) << "ratio_to_floor" << std::setw(22)
              << "xen417_cycles_per_op" << std::setw(18) << "xen417_ns_per_op" << std::setw(22)
              << "microxen_over_xen417" << "\n";
    for (const auto& [name, fig] : mine) {
      double x = xens.count(name) ? xens[name].per_op() : 0;
      double ns = ours.clock.ns(fig.per_op()), x_ns = theirs.clock.ns(x);
      double ratio_floor = floor > 0 ? fig.per_op() / floor : 0;
      double ratio_xen = x > 0 ? fig.per_op() / x : 0;
      std::cout << std::left << std::setw(16) << name << std::right << std::fixed << std::setprecision(1)
                << std::setw(24) << fig.per_op() << std::setw(20) << ns << std::setprecision(2) << std::setw(16)
                << ratio_floor << std::setprecision(1) << std::setw(22) << x << std::setw(18) << x_ns
                << std::setprecision(2) << std::setw(22) << ratio_xen << "\n";
      csv << name << "," << fig.per_op() << "," << ns << "," << ratio_floor << "," << x << "," << x_ns << ","
          << ratio_xen << "\n";
    }
    std::cout << "csv: " << (out_dir / "pv_bench.csv").string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pv_bench: " << e.what() << "\n";
    return 1;
  }
}
