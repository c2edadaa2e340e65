// boot_domain_config: which boot modules become which domains, and the hypervisor-side
// settings of a boot-module domain, read from the modules' command lines (microxen's
// equivalent of Xen's dom0less boot; Xen 4.17 has that only on Arm, from the device tree).
//
//   module 0                 dom0's kernel; its command line is dom0's
//   module 1 (no keyword)    dom0's initrd, as before
//   "domain SETTINGS -- ARGS" an unprivileged domain: domid 1, 2, ... by its position among
//                            the `domain` modules (a domain that fails keeps its number)
//   "initrd ..."             right after a `domain` module: that domain's initrd
//
// SETTINGS (words before " -- "): name=NAME (1-31 of [A-Za-z0-9_.-]), mem=SIZE (bytes, or
// with a K/M/G suffix; at least 4M), console_io (may write through console_io), vcpus=N (1 to
// 8; vCPU 0 starts, the others wait for the guest's VCPUOP_initialise and VCPUOP_up),
// weight=N and cap=N (credit scheduler), cpus=N[,N...] (the pCPUs its vCPUs may run on).
// ARGS is the guest's command line (start_info.cmd_line).
// Loader strings are untrusted: every field is checked, and an error names the field.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "static_vector.hpp"

namespace hv {

struct BootDomainConfig {
  static constexpr std::uint64_t kDefaultMemory = std::uint64_t{64} << 20;
  static constexpr std::uint64_t kMinMemory = std::uint64_t{4} << 20;
  static constexpr std::uint64_t kMaxMemory = std::uint64_t{1} << 40;
  static constexpr std::size_t kMaxName = 31;
  static constexpr unsigned kMaxCpus = 8;  // pCPU numbers in cpus= (HV_MAX_CPUS)

  char name[kMaxName + 1] = {};  // empty: the log calls it dN
  std::uint64_t memory_bytes = kDefaultMemory;
  bool console_io = false;
  unsigned vcpus = 1;
  // weight=N (1-65535) and cap=N (percent of one pCPU, 0 = none, at most 100 per vCPU): the
  // domain's credit-scheduler parameters (core/scheduler; Xen's defaults 256 and 0).
  std::uint16_t weight = 256;
  std::uint16_t cap = 0;
  std::uint64_t cpu_affinity = ~std::uint64_t{0};  // cpus=: bit per pCPU (default: any)
  std::string_view guest_cmdline;  // a view into the module's command line
};

// Why a domain module's settings were refused: the field (e.g. "mem") and what is wrong.
struct BootDomainConfigError {
  std::string_view field;        // a view into the command line, or a literal
  const char* reason = nullptr;  // nullptr: no error
  explicit operator bool() const { return reason != nullptr; }
};

// True when the command line's first word is exactly `keyword`.
bool starts_with_keyword(std::string_view cmdline, std::string_view keyword);

// Parses "domain SETTINGS [-- ARGS]" into `out` (which is only meaningful without error).
BootDomainConfigError parse_boot_domain(std::string_view cmdline, BootDomainConfig& out);

// One domain to build from the boot modules.
struct BootDomainPlan {
  static constexpr std::size_t kNoModule = ~std::size_t{0};
  std::uint16_t domid = 0;
  std::size_t kernel_module = 0;
  std::size_t initrd_module = kNoModule;
  BootDomainConfig config;     // dom0: defaults; its command line is its module's
  BootDomainConfigError error;  // set: do not build, report it
};

// A module nobody uses (e.g. `initrd` that follows no domain module), for a warning.
struct UnusedBootModule {
  std::size_t module = 0;
  const char* reason = nullptr;
};

struct BootModulePlan {
  static constexpr std::size_t kMaxDomains = 8;  // dom0 + 7 boot-module domains
  StaticVector<BootDomainPlan, kMaxDomains> domains;  // [0] is dom0 when there are modules
  StaticVector<UnusedBootModule, 16> unused;
};

// Decides the role of every module from its command line (index = module number).
BootModulePlan plan_boot_modules(std::span<const std::string_view> module_cmdlines);

}  // namespace hv
