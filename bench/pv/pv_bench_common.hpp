// pv_bench_common: what the PV benchmark programs (pv_bench, sched_bench) share: the
// "BENCH name=... ops=... cycles=..." and "BENCH_CLOCK mul=... shift=..." lines their guests
// print, the guest clock's cycles-to-ns scale, and a line naming the host machine.
#pragma once
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace microxen::bench {

struct Figure {
  std::uint64_t ops = 0, cycles = 0;
  double per_op() const { return ops ? static_cast<double>(cycles) / static_cast<double>(ops) : 0; }
};
// The guest's pvclock scale: ns = ((cycles << shift) * mul) >> 32 (shift < 0: right).
struct ClockScale {
  std::uint32_t mul = 0;
  int shift = 0;
  double ns(double cycles) const { return cycles * mul / 4294967296.0 * std::ldexp(1.0, shift); }
};

struct Run {
  std::map<std::string, Figure> figures;
  ClockScale clock;
  // Cycles per operation of a figure, 0 when the run has none by that name.
  double per_op(const std::string& name) const {
    auto it = figures.find(name);
    return it == figures.end() ? 0 : it->second.per_op();
  }
};

inline Run parse(const std::string& log) {
  Run out;
  std::regex re("BENCH name=(\\S+) ops=(\\d+) cycles=(\\d+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    out.figures[(*it)[1]] = Figure{std::stoull((*it)[2]), std::stoull((*it)[3])};
  std::smatch m;
  if (std::regex_search(log, m, std::regex("BENCH_CLOCK mul=(\\d+) shift=(-?\\d+)")))
    out.clock = ClockScale{static_cast<std::uint32_t>(std::stoul(m[1])), std::stoi(m[2])};
  return out;
}

inline std::string machine_line() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) { model = line.substr(line.find(':') + 2); break; }
  return "host cpu=\"" + model + "\" cpus=" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace microxen::bench
