// log: the hypervisor's one logging call. Messages go to every registered sink (COM1, the
// console ring that `xl dmesg` reads) with a context prefix; categories can be compiled out.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hv {

enum class Level : std::uint8_t { error, warning, info, debug };

enum class Category : std::uint32_t {
  boot = 1u << 0,
  mm = 1u << 1,
  cpu = 1u << 2,
  sched = 1u << 3,
  evtchn = 1u << 4,
  grant = 1u << 5,
  hypercall = 1u << 6,
  guest = 1u << 7,
  acpi = 1u << 8,
};

// Categories compiled in; a disabled category costs nothing at run time.
inline constexpr std::uint32_t kLogCategories = 0xffffffffu;

using LogSink = void (*)(const char* text, std::size_t length);

// Registers a sink (up to 4); returns false when full.
bool log_add_sink(LogSink sink);
// Removes every sink (tests use this between cases).
void log_reset_sinks();
// Messages above this level are dropped at run time (default: info).
void log_set_level(Level level);
// Supplies the "[cpuN dXvY]" prefix; nullptr restores the boot-time prefix "[hv]".
void log_set_context(int (*context)(char* buf, std::size_t size));

// Guest console text: written as is to every sink, with `prefix` (may be empty) at the start
// of each line. Used for console_io output, which is not a hypervisor message.
void log_raw(const char* prefix, const char* text, std::size_t length);

void log_message(Level level, Category category, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace hv

#define HV_LOG(level, category, ...)                                                   \
  do {                                                                                 \
    if constexpr ((::hv::kLogCategories & static_cast<std::uint32_t>(category)) != 0) \
      ::hv::log_message(level, category, __VA_ARGS__);                                 \
  } while (0)

#define HV_INFO(category, ...) HV_LOG(::hv::Level::info, ::hv::Category::category, __VA_ARGS__)
#define HV_WARN(category, ...) HV_LOG(::hv::Level::warning, ::hv::Category::category, __VA_ARGS__)
#define HV_ERROR(category, ...) HV_LOG(::hv::Level::error, ::hv::Category::category, __VA_ARGS__)
#define HV_DEBUG(category, ...) HV_LOG(::hv::Level::debug, ::hv::Category::category, __VA_ARGS__)
