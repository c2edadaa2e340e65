// microxen-run: boots the hypervisor under QEMU and streams its serial console to stdout
// until the machine powers off (or a timeout). The demo and developers use it by hand.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "qemu_machine.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using microxen::harness::Machine;
using microxen::harness::MachineOptions;

namespace {

volatile std::sig_atomic_t interrupted = 0;

int usage() {
  std::cerr << "usage: microxen-run --kernel hypervisor.elf [--module FILE [--module-args ARGS]]...\n"
               "                    [--append CMDLINE] [--grub] [--smp N] [--memory MiB]\n"
               "                    [--timeout SECONDS] [--work-dir DIR] [--no-debug-exit]\n"
               "Boots under QEMU (PVH, or a GRUB multiboot2 image with --grub), prints COM1.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  MachineOptions opt;
  bool grub = false;
  int timeout_s = 300;
  opt.work_dir = fs::temp_directory_path() / ("microxen-run-" + std::to_string(::getpid()));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::cerr << "microxen-run: " << a << " needs a value\n"; std::exit(2); }
      return argv[++i];
    };
    if (a == "--kernel") opt.kernel = next();
    else if (a == "--module") opt.modules.push_back({next(), ""});
    else if (a == "--module-args" && !opt.modules.empty()) opt.modules.back().args = next();
    else if (a == "--append") opt.cmdline = next();
    else if (a == "--grub") grub = true;
    else if (a == "--smp") opt.cpus = std::atoi(next().c_str());
    else if (a == "--memory") opt.memory_mib = std::atoi(next().c_str());
    else if (a == "--timeout") timeout_s = std::atoi(next().c_str());
    else if (a == "--work-dir") opt.work_dir = next();
    else if (a == "--no-debug-exit") opt.debug_exit = false;
    else return usage();
  }
  if (opt.kernel.empty()) return usage();
  try {
    fs::create_directories(opt.work_dir);
    if (grub) {
      std::string cmdline = opt.cmdline + (opt.debug_exit ? " debug_exit=0xf4" : "");
      opt.iso = microxen::harness::make_grub_iso(opt.kernel, cmdline, opt.modules, opt.work_dir);
    }
    Machine machine(opt);
    std::signal(SIGINT, [](int) { interrupted = 1; });
    std::signal(SIGTERM, [](int) { interrupted = 1; });
    std::cerr << "microxen-run: qemu (" << accel_name(machine.accel()) << "), logs in "
              << opt.work_dir.string() << "\n";
    machine.start();
    std::size_t shown = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::optional<int> status;
    while (!interrupted && std::chrono::steady_clock::now() < deadline) {
      status = machine.wait_exit(50ms);
      std::string log = machine.serial_log();
      if (log.size() > shown) { std::cout << log.substr(shown) << std::flush; shown = log.size(); }
      if (status) break;
    }
    if (!status) {
      std::cerr << "microxen-run: " << (interrupted ? "interrupted" : "timed out") << ", stopping QEMU\n";
      machine.kill();
      return 1;
    }
    bool clean = opt.debug_exit ? *status == microxen::harness::kExitSuccess : *status == 0;
    std::cerr << "microxen-run: machine " << (clean ? "powered off cleanly" : "failed")
              << " (qemu exit status " << *status << ")\n";
    return clean ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "microxen-run: " << e.what() << "\n";
    return 1;
  }
}
