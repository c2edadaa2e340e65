// qemu_machine: QEMU process control. QEMU runs as our child with PR_SET_PDEATHSIG, so even a
// crashed or killed test never leaves it behind; every wait is bounded.
#include "qemu_machine.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace microxen::harness {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool cpu_has_hw_virtualization() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == "vmx" || w == "svm") return true;
    return false;
  }
  return false;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  if (text.empty()) return text;  // (an empty QEMU log made substr(1) below throw)
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

}  // namespace

std::chrono::milliseconds scaled(std::chrono::milliseconds timeout) {
  const char* scale = std::getenv("MICROXEN_TIMEOUT_SCALE");
  double factor = scale ? std::atof(scale) : 1.0;
  if (factor <= 0) factor = 1.0;
  return std::chrono::milliseconds(static_cast<long long>(timeout.count() * factor));
}

std::filesystem::path fresh_directory(const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::string> log_lines(const std::string& log) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < log.size()) {
    std::size_t end = log.find('\n', at);
    std::string line = log.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return lines;
}

bool has_line(const std::string& log, const std::string& line) {
  for (const std::string& l : log_lines(log))
    if (l == line) return true;
  return false;
}

Accel choose_accel() {
  const char* env = std::getenv("MICROXEN_ACCEL");
  std::string want = env ? env : "";
  if (want == "tcg") return Accel::tcg;
  if (want == "kvm") return Accel::kvm;
  if (!cpu_has_hw_virtualization()) return Accel::tcg;
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return Accel::tcg;
  ::close(fd);
  return Accel::kvm;
}

const char* accel_name(Accel accel) { return accel == Accel::kvm ? "kvm" : "tcg"; }

Machine::Machine(MachineOptions options) : options_(std::move(options)), accel_(choose_accel()) {
  if (options_.work_dir.empty()) throw std::invalid_argument("Machine: work_dir is required");
  fs::create_directories(options_.work_dir);
  serial_path_ = options_.work_dir / "com1.log";
  qemu_log_path_ = options_.work_dir / "qemu.log";

  auto& c = command_;
  c = {"qemu-system-x86_64", "-machine", "q35", "-accel", accel_name(accel_),
       "-cpu", !options_.cpu_model.empty() ? options_.cpu_model : accel_ == Accel::kvm ? "host" : "max",
       "-m", std::to_string(options_.memory_mib), "-smp", std::to_string(options_.cpus),
       "-display", "none", "-vga", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
       "-no-user-config", "-serial", "file:" + serial_path_.string()};
  if (options_.debug_exit) {
    c.insert(c.end(), {"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"});
  }
  if (!options_.iso.empty()) {
    c.insert(c.end(), {"-cdrom", options_.iso.string(), "-boot", "d"});
  } else if (options_.loader == KernelLoader::pvh) {
    if (options_.modules.size() > 1)
      throw std::invalid_argument("Machine: QEMU's PVH loader takes one module; use a GRUB ISO");
    std::string cmdline = options_.cmdline;
    if (options_.debug_exit) cmdline += (cmdline.empty() ? "" : " ") + std::string("debug_exit=0xf4");
    c.insert(c.end(), {"-kernel", options_.kernel.string(), "-append", cmdline});
    if (!options_.modules.empty()) c.insert(c.end(), {"-initrd", options_.modules[0].file.string()});
  } else {
    // Multiboot v1: -initrd "file args,file args"; a comma inside would split a module.
    std::string initrd;
    for (const auto& m : options_.modules) {
      if ((m.file.string() + m.args).find(',') != std::string::npos)
        throw std::invalid_argument("Machine: multiboot module paths and args cannot contain ','");
      initrd += (initrd.empty() ? "" : ",") + m.file.string() + (m.args.empty() ? "" : " " + m.args);
    }
    c.insert(c.end(), {"-kernel", options_.kernel.string(), "-append", options_.cmdline});
    if (!initrd.empty()) c.insert(c.end(), {"-initrd", initrd});
  }
  c.insert(c.end(), options_.extra_args.begin(), options_.extra_args.end());
}

Machine::~Machine() { kill(); }

void Machine::start() {
  if (pid_ > 0) throw std::logic_error("Machine: already started");
  fs::remove(serial_path_);
  std::ofstream(serial_path_).close();  // exists from the start, so waits can open it
  {
    std::ofstream cmd(options_.work_dir / "qemu.cmd");
    for (const auto& a : command_) cmd << "'" << a << "' ";
    cmd << "\n";
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("Machine: fork failed");
  if (pid == 0) {
    // Child: die with the test process, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(qemu_log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { ::dup2(fd, 1); ::dup2(fd, 2); ::close(fd); }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) { ::dup2(null, 0); ::close(null); }
    std::vector<char*> argv;
    for (auto& a : command_) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  cursor_ = 0;
  exit_status_.reset();
}

bool Machine::reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return true;
  }
  return false;
}

bool Machine::wait_for(std::string_view marker, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string log = serial_log();
    std::size_t found = log.find(marker, cursor_);
    if (found != std::string::npos) {
      cursor_ = found + marker.size();
      return true;
    }
    if (reap(false)) {
      // QEMU is gone: one last look, since it may have written the marker just before exiting.
      log = serial_log();
      found = log.find(marker, cursor_);
      if (found != std::string::npos) { cursor_ = found + marker.size(); return true; }
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::optional<int> Machine::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return exit_status_;
}

void Machine::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100 && !reap(false); ++i) std::this_thread::sleep_for(20ms);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

std::string Machine::serial_log() const { return read_file(serial_path_); }

std::string Machine::log_tail(std::size_t lines) const {
  return "--- COM1 (" + serial_path_.string() + "), last lines ---\n" +
         tail_lines(serial_log(), lines) + "\n--- QEMU output ---\n" +
         tail_lines(read_file(qemu_log_path_), 10);
}

fs::path make_grub_iso(const fs::path& kernel, const std::string& cmdline,
                       const std::vector<BootModule>& modules, const fs::path& work_dir) {
  fs::path root = work_dir / "iso-root";
  fs::remove_all(root);
  fs::create_directories(root / "boot" / "grub");
  fs::copy_file(kernel, root / "boot" / "hypervisor.elf");
  std::ofstream cfg(root / "boot" / "grub" / "grub.cfg");
  cfg << "set timeout=0\nset default=0\nmenuentry \"microxen\" {\n"
      << "  multiboot2 /boot/hypervisor.elf " << cmdline << "\n";
  for (std::size_t i = 0; i < modules.size(); ++i) {
    std::string name = "module" + std::to_string(i);
    fs::copy_file(modules[i].file, root / "boot" / name);
    cfg << "  module2 /boot/" << name << " " << modules[i].args << "\n";
  }
  cfg << "  boot\n}\n";
  cfg.close();
  fs::path iso = work_dir / "microxen.iso";
  fs::path log = work_dir / "grub-mkrescue.log";
  std::string command = "grub-mkrescue -o '" + iso.string() + "' '" + root.string() + "' > '" +
                        log.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0 || !fs::exists(iso))
    throw std::runtime_error("grub-mkrescue failed: " + read_file(log));
  return iso;
}

}  // namespace microxen::harness
