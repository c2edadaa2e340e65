// cmdline: option lookup over the boot command line, tolerant of any input.
#include "cmdline.hpp"

namespace hv {
namespace {

// Calls visit(key, value, has_value) for each space-separated token.
template <typename Visit>
void for_each_option(std::string_view text, Visit visit) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ') ++end;
    if (end > pos) {
      std::string_view token = text.substr(pos, end - pos);
      std::size_t eq = token.find('=');
      if (eq == std::string_view::npos) visit(token, std::string_view{}, false);
      else visit(token.substr(0, eq), token.substr(eq + 1), true);
    }
    pos = end;
  }
}

}  // namespace

std::optional<std::string_view> Cmdline::value(std::string_view key) const {
  std::optional<std::string_view> found;
  for_each_option(text_, [&](std::string_view k, std::string_view v, bool has_value) {
    if (has_value && k == key) found = v;
  });
  return found;
}

bool Cmdline::flag(std::string_view key, bool default_value) const {
  bool result = default_value;
  for_each_option(text_, [&](std::string_view k, std::string_view v, bool has_value) {
    if (k.size() == key.size() + 3 && k.substr(0, 3) == "no-" && k.substr(3) == key && !has_value) {
      result = false;
    } else if (k == key) {
      if (!has_value || v == "1" || v == "yes" || v == "on" || v == "true") result = true;
      else if (v == "0" || v == "no" || v == "off" || v == "false") result = false;
    }
  });
  return result;
}

std::optional<std::uint64_t> Cmdline::number(std::string_view key) const {
  auto v = value(key);
  if (!v) return std::nullopt;
  return parse_number(*v);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  unsigned shift = 0;
  char last = text.back();
  if (base == 10 && (last == 'K' || last == 'k' || last == 'M' || last == 'm' || last == 'G' || last == 'g')) {
    shift = (last == 'K' || last == 'k') ? 10 : (last == 'M' || last == 'm') ? 20 : 30;
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    unsigned digit;
    if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (value > (UINT64_MAX - digit) / base) return std::nullopt;  // overflow
    value = value * base + digit;
  }
  if (shift != 0 && value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

}  // namespace hv
