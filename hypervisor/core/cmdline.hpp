// cmdline: reads the hypervisor's boot options ("key=value" and bare flags separated by
// spaces). Only reads; a malformed option is simply not found, never a crash.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hv {

class Cmdline {
 public:
  explicit Cmdline(std::string_view text) : text_(text) {}

  // The value of `key=value` (the last occurrence wins, as in Xen), or nullopt.
  std::optional<std::string_view> value(std::string_view key) const;
  // True for a bare `key`, or `key=1|yes|on|true`; false for `no-key` or `key=0|no|off|false`.
  bool flag(std::string_view key, bool default_value = false) const;
  // A number (decimal, or hex with 0x) from `key=N`; nullopt when absent or malformed.
  std::optional<std::uint64_t> number(std::string_view key) const;

  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

// Parses a whole string as an unsigned number (decimal or 0x-hex), with an optional K/M/G suffix.
std::optional<std::uint64_t> parse_number(std::string_view text);

}  // namespace hv
