// qemu_machine: boots hypervisor.elf (PVH, -kernel) or a GRUB ISO under qemu-system-x86_64,
// captures COM1 to a file, waits for console markers with timeouts, and always ends the
// QEMU it started (and only that one). Used by every test that boots a machine, and by
// microxen-run for the demo.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microxen::harness {

struct BootModule {
  std::filesystem::path file;
  std::string args;  // the module's command line (GRUB and multiboot1; PVH passes none)
};

// How QEMU loads `kernel`: our hypervisor.elf by the PVH note; Xen's own binary (for oracle
// runs) by multiboot v1, which also passes every module with its command line.
enum class KernelLoader { pvh, multiboot1 };

struct MachineOptions {
  std::filesystem::path kernel;  // hypervisor.elf, booted through QEMU's PVH loader
  KernelLoader loader = KernelLoader::pvh;
  std::string cpu_model;         // default: "max" under TCG, "host" under KVM
  std::filesystem::path iso;     // or a GRUB rescue image (multiboot2), if set
  std::vector<BootModule> modules;
  std::string cmdline;            // the hypervisor's command line (PVH boots)
  int cpus = 1;
  int memory_mib = 512;
  bool debug_exit = true;         // add isa-debug-exit and pass debug_exit=0xf4
  std::filesystem::path work_dir;  // logs go here; created if missing
  std::vector<std::string> extra_args;
};

enum class Accel { tcg, kvm };

// TCG unless MICROXEN_ACCEL=kvm, or the CPU shows vmx/svm and /dev/kvm opens (and
// MICROXEN_ACCEL is not "tcg"). This workplace's /dev/kvm (kvm_pvm) shows neither flag.
Accel choose_accel();
const char* accel_name(Accel accel);

// QEMU's exit status for the hypervisor's debug-exit values (QEMU exits with v << 1 | 1).
inline constexpr int kExitSuccess = (0x10 << 1) | 1;
inline constexpr int kExitFailure = (0x11 << 1) | 1;

class Machine {
 public:
  explicit Machine(MachineOptions options);
  ~Machine();  // kills QEMU if it is still running
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Starts QEMU; throws std::runtime_error when it cannot be spawned.
  void start();
  // Waits until `marker` appears in the COM1 log after the previous marker; false on timeout
  // or when QEMU exits first. Markers are matched in order.
  bool wait_for(std::string_view marker, std::chrono::milliseconds timeout);
  // Waits for QEMU to exit; its exit status, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Stops QEMU now (SIGTERM, then SIGKILL), if running.
  void kill();

  std::string serial_log() const;
  std::string log_tail(std::size_t lines = 40) const;  // COM1 and QEMU's own output
  const std::vector<std::string>& command() const { return command_; }
  Accel accel() const { return accel_; }
  pid_t pid() const { return pid_; }

 private:
  bool reap(bool block);

  MachineOptions options_;
  Accel accel_;
  std::vector<std::string> command_;
  std::filesystem::path serial_path_, qemu_log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::size_t cursor_ = 0;
};

// Builds a GRUB rescue ISO that boots `kernel` by multiboot2 with `cmdline` and the modules
// (each with its own command line). Throws std::runtime_error with grub-mkrescue's output.
std::filesystem::path make_grub_iso(const std::filesystem::path& kernel, const std::string& cmdline,
                                    const std::vector<BootModule>& modules,
                                    const std::filesystem::path& work_dir);

// Multiplies test timeouts (MICROXEN_TIMEOUT_SCALE, default 1) for slow machines.
std::chrono::milliseconds scaled(std::chrono::milliseconds timeout);

// An empty directory for one test's logs and images (whatever an earlier run left is removed).
std::filesystem::path fresh_directory(const std::filesystem::path& dir);

// A console log's lines, without line ends (Xen's console writes CR LF).
std::vector<std::string> log_lines(const std::string& log);

// Whether one whole line of the log is exactly `line`.
bool has_line(const std::string& log, const std::string& line);

}  // namespace microxen::harness
