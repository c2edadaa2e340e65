// log: formats one line per call (bounded, truncated with "..." when too long) and hands it
// to each sink. The sink table is part of the hypervisor's global state, set up at boot.
#include "log.hpp"

#include <cstdarg>

#include "format.hpp"  // freestanding/
#include "spinlock.hpp"

namespace hv {
namespace {

constexpr std::size_t kMaxSinks = 4;
constexpr std::size_t kLineMax = 512;

struct LogState {
  LogSink sinks[kMaxSinks] = {};
  std::size_t sink_count = 0;
  Level level = Level::info;
  int (*context)(char*, std::size_t) = nullptr;
};
constinit LogState state;
// A leaf lock (spinlock.hpp, level 6): CPUs log concurrently, and a line must reach each
// sink whole, not interleaved with another CPU's.
constinit SpinLock output_lock;

}  // namespace

bool log_add_sink(LogSink sink) {
  if (state.sink_count == kMaxSinks) return false;
  state.sinks[state.sink_count++] = sink;
  return true;
}

void log_reset_sinks() { state.sink_count = 0; }
void log_set_level(Level level) { state.level = level; }
void log_set_context(int (*context)(char*, std::size_t)) { state.context = context; }

void log_message(Level level, Category, const char* fmt, ...) {
  if (level > state.level) return;
  char line[kLineMax];
  int used = state.context ? state.context(line, sizeof line) : mx::format(line, sizeof line, "[hv]");
  if (used < 0) used = 0;
  std::size_t pos = static_cast<std::size_t>(used) < sizeof line ? static_cast<std::size_t>(used)
                                                                   : sizeof line - 1;
  static constexpr const char* kTags[] = {" ERROR: ", " WARNING: ", " ", " debug: "};
  pos += static_cast<std::size_t>(
      mx::format(line + pos, sizeof line - pos, "%s", kTags[static_cast<int>(level)]));
  if (pos >= sizeof line) pos = sizeof line - 1;

  va_list args;
  va_start(args, fmt);
  int n = mx::format_v(line + pos, sizeof line - pos, fmt, args);
  va_end(args);
  std::size_t end = pos + static_cast<std::size_t>(n < 0 ? 0 : n);
  if (end >= sizeof line - 1) {  // truncated: mark it so nobody trusts a cut line
    end = sizeof line - 2;
    line[end - 3] = line[end - 2] = line[end - 1] = '.';
  }
  line[end++] = '\n';
  LockGuard guard(output_lock);
  for (std::size_t i = 0; i < state.sink_count; ++i) state.sinks[i](line, end);
}

void log_raw(const char* prefix, const char* text, std::size_t length) {
  std::size_t prefix_len = 0;
  while (prefix[prefix_len] != 0) ++prefix_len;
  std::size_t start = 0;
  LockGuard guard(output_lock);
  for (std::size_t i = 0; i < length; ++i) {
    if (text[i] != '\n' && i + 1 != length) continue;
    for (std::size_t s = 0; s < state.sink_count; ++s) {
      if (prefix_len != 0) state.sinks[s](prefix, prefix_len);
      state.sinks[s](text + start, i + 1 - start);
    }
    start = i + 1;
  }
}

}  // namespace hv
