// boot_domain_config: parsing of boot-module domain settings; see the header for the syntax.
#include "boot_domain_config.hpp"

#include "cmdline.hpp"
#include "domain.hpp"

namespace hv {
namespace {

constexpr std::string_view kSeparator = " -- ";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

BootDomainConfigError fail(std::string_view field, const char* reason) { return {field, reason}; }

// The credit-scheduler settings (libxl's ranges). The cap's upper bound depends on vcpus=,
// which may come later on the line: parse_boot_domain checks it at the end.
BootDomainConfigError apply_sched_setting(std::string_view key, std::string_view value, bool has_value,
                                          BootDomainConfig& out) {
  const bool weight = key == "weight";
  if (!has_value) return fail(key, weight ? "needs a number (weight=512)" : "needs a percentage (cap=50)");
  auto n = parse_number(value);
  if (!n) return fail(key, "not a number");
  if (weight && (*n < 1 || *n > 65535)) return fail(key, "must be 1 to 65535");
  if (!weight && *n > 65535) return fail(key, "above 100 per vCPU");
  (weight ? out.weight : out.cap) = static_cast<std::uint16_t>(*n);
  return {};
}

// cpus=N[,N...]: the pCPUs its vCPUs may run on (hard affinity; xl's cpus=, numbers only).
BootDomainConfigError apply_cpus_setting(std::string_view value, bool has_value, BootDomainConfig& out) {
  if (!has_value || value.empty()) return fail("cpus", "needs pCPU numbers (cpus=0 or cpus=0,2)");
  std::uint64_t mask = 0;
  for (;;) {  // each number, including one after every comma
    const std::size_t comma = value.find(',');
    auto n = parse_number(value.substr(0, comma));
    if (!n) return fail("cpus", "not a list of pCPU numbers");
    if (*n >= BootDomainConfig::kMaxCpus) return fail("cpus", "pCPU numbers are 0 to 7");
    mask |= std::uint64_t{1} << *n;
    if (comma == std::string_view::npos) break;
    value = value.substr(comma + 1);
  }
  out.cpu_affinity = mask;
  return {};
}

BootDomainConfigError apply_setting(std::string_view key, std::string_view value, bool has_value,
                                    BootDomainConfig& out) {
  if (key == "weight" || key == "cap") return apply_sched_setting(key, value, has_value, out);
  if (key == "cpus") return apply_cpus_setting(value, has_value, out);
  if (key == "name") {
    if (!has_value || value.empty()) return fail("name", "needs a value (name=NAME)");
    if (value.size() > BootDomainConfig::kMaxName) return fail("name", "longer than 31 characters");
    for (char c : value)
      if (!is_name_char(c)) return fail("name", "may only hold letters, digits, '_', '-' and '.'");
    for (std::size_t i = 0; i < sizeof out.name; ++i) out.name[i] = i < value.size() ? value[i] : '\0';
    return {};
  }
  if (key == "mem") {
    if (!has_value) return fail("mem", "needs a size (mem=256M)");
    auto bytes = parse_number(value);
    if (!bytes) return fail("mem", "not a size (bytes, or a number with a K, M or G suffix)");
    if (*bytes < BootDomainConfig::kMinMemory) return fail("mem", "below the 4M minimum");
    if (*bytes > BootDomainConfig::kMaxMemory) return fail("mem", "above the 1T maximum");
    out.memory_bytes = *bytes & ~std::uint64_t{0xfff};  // whole pages
    return {};
  }
  if (key == "console_io") {
    if (has_value) return fail("console_io", "takes no value");
    out.console_io = true;
    return {};
  }
  if (key == "vcpus") {
    if (!has_value) return fail("vcpus", "needs a count (vcpus=2)");
    auto n = parse_number(value);
    if (!n) return fail("vcpus", "not a number");
    if (*n < 1 || *n > Domain::kMaxVcpus) return fail("vcpus", "must be 1 to 8");
    out.vcpus = static_cast<unsigned>(*n);
    return {};
  }
  return fail(key, "unknown setting (known: name=, mem=, console_io, vcpus=, weight=, cap=, cpus=)");
}

}  // namespace

bool starts_with_keyword(std::string_view cmdline, std::string_view keyword) {
  std::size_t pos = cmdline.find_first_not_of(' ');
  if (pos == std::string_view::npos) return false;
  cmdline.remove_prefix(pos);
  return cmdline.substr(0, keyword.size()) == keyword &&
         (cmdline.size() == keyword.size() || cmdline[keyword.size()] == ' ');
}

BootDomainConfigError parse_boot_domain(std::string_view cmdline, BootDomainConfig& out) {
  out = BootDomainConfig{};
  if (!starts_with_keyword(cmdline, "domain")) return fail("domain", "the command line must start with 'domain'");
  std::string_view settings = cmdline.substr(cmdline.find("domain") + 6);
  // " -- " splits settings from the guest's arguments; a trailing " --" means no arguments.
  std::size_t sep = settings.find(kSeparator);
  if (sep != std::string_view::npos) {
    out.guest_cmdline = settings.substr(sep + kSeparator.size());
    settings = settings.substr(0, sep);
  } else if (settings.size() >= 3 && settings.substr(settings.size() - 3) == " --") {
    settings.remove_suffix(3);
  }
  std::size_t pos = 0;
  while (pos < settings.size()) {
    while (pos < settings.size() && settings[pos] == ' ') ++pos;
    std::size_t end = pos;
    while (end < settings.size() && settings[end] != ' ') ++end;
    if (end == pos) break;
    std::string_view word = settings.substr(pos, end - pos);
    std::size_t eq = word.find('=');
    BootDomainConfigError e = eq == std::string_view::npos
                                  ? apply_setting(word, {}, false, out)
                                  : apply_setting(word.substr(0, eq), word.substr(eq + 1), true, out);
    if (e) return e;
    pos = end;
  }
  if (out.cap > 100 * out.vcpus) return fail("cap", "above 100 per vCPU (vcpus=)");
  return {};
}

BootModulePlan plan_boot_modules(std::span<const std::string_view> cmdlines) {
  BootModulePlan plan;
  if (cmdlines.empty()) return plan;
  BootDomainPlan dom0;
  dom0.domid = 0;
  dom0.kernel_module = 0;
  (void)plan.domains.push_back(dom0);
  std::uint16_t next_domid = 1;
  bool previous_was_domain = false;
  for (std::size_t i = 1; i < cmdlines.size(); ++i) {
    const bool was_domain = previous_was_domain;
    previous_was_domain = false;
    if (starts_with_keyword(cmdlines[i], "domain")) {
      BootDomainPlan d;
      d.domid = next_domid++;
      d.kernel_module = i;
      d.error = parse_boot_domain(cmdlines[i], d.config);
      if (!plan.domains.push_back(d))
        (void)plan.unused.push_back({i, "too many boot-module domains (at most 7)"});
      else
        previous_was_domain = true;
    } else if (starts_with_keyword(cmdlines[i], "initrd")) {
      if (was_domain) plan.domains[plan.domains.size() - 1].initrd_module = i;
      else (void)plan.unused.push_back({i, "'initrd' module does not follow a 'domain' module"});
    } else if (i == 1) {
      plan.domains[0].initrd_module = 1;
    } else {
      (void)plan.unused.push_back({i, "neither 'domain' nor 'initrd' (only module 1 may be dom0's initrd)"});
    }
  }
  return plan;
}

}  // namespace hv
