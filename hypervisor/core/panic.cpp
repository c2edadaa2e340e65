// panic: logs the reason with its source location, then stops the machine (kernel) or aborts
// (hosted). This and the log sinks are the only places that know whether we are hosted.
#include "panic.hpp"

#include <cstdarg>

#include "format.hpp"  // freestanding/
#include "log.hpp"

#if __STDC_HOSTED__
#include <cstdlib>
#endif

namespace hv {

void panic_at(const char* file, int line, const char* fmt, ...) {
  char reason[256];
  va_list args;
  va_start(args, fmt);
  mx::format_v(reason, sizeof reason, fmt, args);
  va_end(args);
  HV_ERROR(boot, "PANIC at %s:%d: %s", file, line, reason);
  platform_stop_after_panic();
}

#if __STDC_HOSTED__
void platform_stop_after_panic() { std::abort(); }
#endif

}  // namespace hv
