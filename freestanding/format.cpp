// format: vsnprintf-compatible formatting without libc. Output is bounded by the buffer size;
// the return value counts what would have been written, so callers can detect truncation.
#include "format.hpp"

#include <cstdint>

namespace mx {
namespace {

struct Output {
  char* buf;
  std::size_t size;
  std::size_t pos = 0;

  void put(char c) {
    if (pos + 1 < size) buf[pos] = c;
    ++pos;
  }
  void repeat(char c, int n) {
    for (int i = 0; i < n; ++i) put(c);
  }
};

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int width = 0;
  int precision = -1;
  char length = 0;  // 'H' hh, 'h', 'l', 'L' ll, 'z', 't', 'j'
  char conv = 0;
};

const char* parse_spec(const char* p, Spec& s, va_list& args) {
  for (;; ++p) {
    if (*p == '-') s.left = true;
    else if (*p == '0') s.zero = true;
    else if (*p == '+') s.plus = true;
    else if (*p == ' ') s.space = true;
    else if (*p == '#') s.alt = true;
    else break;
  }
  if (*p == '*') {
    s.width = va_arg(args, int);
    if (s.width < 0) { s.left = true; s.width = -s.width; }
    ++p;
  } else {
    while (*p >= '0' && *p <= '9') s.width = s.width * 10 + (*p++ - '0');
  }
  if (*p == '.') {
    ++p;
    s.precision = 0;
    if (*p == '*') {
      s.precision = va_arg(args, int);
      if (s.precision < 0) s.precision = -1;
      ++p;
    } else {
      while (*p >= '0' && *p <= '9') s.precision = s.precision * 10 + (*p++ - '0');
    }
  }
  if (*p == 'h') { s.length = 'h'; if (*++p == 'h') { s.length = 'H'; ++p; } }
  else if (*p == 'l') { s.length = 'l'; if (*++p == 'l') { s.length = 'L'; ++p; } }
  else if (*p == 'z' || *p == 't' || *p == 'j') s.length = *p++;
  s.conv = *p;
  return p;
}

std::uint64_t fetch_unsigned(const Spec& s, va_list& args) {
  switch (s.length) {
    case 'H': return static_cast<unsigned char>(va_arg(args, unsigned));
    case 'h': return static_cast<unsigned short>(va_arg(args, unsigned));
    case 'l': return va_arg(args, unsigned long);
    case 'L': return va_arg(args, unsigned long long);
    case 'z': return va_arg(args, std::size_t);
    case 't': return static_cast<std::uint64_t>(va_arg(args, std::ptrdiff_t));
    case 'j': return va_arg(args, std::uintmax_t);
    default: return va_arg(args, unsigned);
  }
}

std::int64_t fetch_signed(const Spec& s, va_list& args) {
  switch (s.length) {
    case 'H': return static_cast<signed char>(va_arg(args, int));
    case 'h': return static_cast<short>(va_arg(args, int));
    case 'l': return va_arg(args, long);
    case 'L': return va_arg(args, long long);
    case 'z': return static_cast<std::int64_t>(va_arg(args, std::size_t));
    case 't': return va_arg(args, std::ptrdiff_t);
    case 'j': return va_arg(args, std::intmax_t);
    default: return va_arg(args, int);
  }
}

void emit_number(Output& out, const Spec& s, std::uint64_t value, bool negative, unsigned base,
                 bool upper) {
  char digits[24];
  int n = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  while (value != 0) {
    digits[n++] = set[value % base];
    value /= base;
  }
  // C rule: precision 0 with value 0 prints no digits.
  if (n == 0 && s.precision != 0) digits[n++] = '0';
  int zeros = s.precision > n ? s.precision - n : 0;

  char sign = 0;
  if (negative) sign = '-';
  else if (s.plus && (s.conv == 'd' || s.conv == 'i')) sign = '+';
  else if (s.space && (s.conv == 'd' || s.conv == 'i')) sign = ' ';
  const char* prefix = "";
  if (s.alt && base == 16 && n > 0 && !(n == 1 && digits[0] == '0')) prefix = upper ? "0X" : "0x";
  if (s.conv == 'p') prefix = "0x";
  if (s.alt && base == 8 && zeros == 0 && digits[n - 1] != '0') zeros = 1;
  int prefix_len = 0;
  while (prefix[prefix_len] != 0) ++prefix_len;

  int body = n + zeros + (sign ? 1 : 0) + prefix_len;
  int pad = s.width > body ? s.width - body : 0;
  bool zero_pad = s.zero && !s.left && s.precision < 0;
  if (zero_pad) { zeros += pad; pad = 0; }
  if (!s.left) out.repeat(' ', pad);
  if (sign) out.put(sign);
  for (int i = 0; i < prefix_len; ++i) out.put(prefix[i]);
  out.repeat('0', zeros);
  while (n > 0) out.put(digits[--n]);
  if (s.left) out.repeat(' ', pad);
}

void emit_string(Output& out, const Spec& s, const char* str) {
  if (str == nullptr) str = "(null)";
  int len = 0;
  while (str[len] != 0 && (s.precision < 0 || len < s.precision)) ++len;
  int pad = s.width > len ? s.width - len : 0;
  if (!s.left) out.repeat(' ', pad);
  for (int i = 0; i < len; ++i) out.put(str[i]);
  if (s.left) out.repeat(' ', pad);
}

}  // namespace

int format_v(char* buf, std::size_t size, const char* fmt, va_list args_in) {
  Output out{buf, size};
  va_list args;
  va_copy(args, args_in);
  for (const char* p = fmt; *p != 0; ++p) {
    if (*p != '%') { out.put(*p); continue; }
    Spec s;
    p = parse_spec(p + 1, s, args);
    switch (s.conv) {
      case 'd': case 'i': {
        std::int64_t v = fetch_signed(s, args);
        std::uint64_t mag = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
        emit_number(out, s, mag, v < 0, 10, false);
        break;
      }
      case 'u': emit_number(out, s, fetch_unsigned(s, args), false, 10, false); break;
      case 'x': emit_number(out, s, fetch_unsigned(s, args), false, 16, false); break;
      case 'X': emit_number(out, s, fetch_unsigned(s, args), false, 16, true); break;
      case 'o': emit_number(out, s, fetch_unsigned(s, args), false, 8, false); break;
      case 'p': {
        auto v = reinterpret_cast<std::uintptr_t>(va_arg(args, void*));
        emit_number(out, s, v, false, 16, false);
        break;
      }
      case 's': emit_string(out, s, va_arg(args, const char*)); break;
      case 'c': {
        char c[2] = {static_cast<char>(va_arg(args, int)), 0};
        Spec cs = s;
        cs.precision = 1;
        if (c[0] == 0) { out.repeat(' ', s.width > 1 && !s.left ? s.width - 1 : 0); out.put(0);
                         out.repeat(' ', s.width > 1 && s.left ? s.width - 1 : 0); break; }
        emit_string(out, cs, c);
        break;
      }
      case '%': out.put('%'); break;
      case 0: --p; break;  // format ends after '%': print nothing more
      default: out.put('%'); out.put(s.conv); break;
    }
  }
  va_end(args);
  if (size > 0) buf[out.pos < size ? out.pos : size - 1] = 0;
  return static_cast<int>(out.pos);
}

int format(char* buf, std::size_t size, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int n = format_v(buf, size, fmt, args);
  va_end(args);
  return n;
}

}  // namespace mx
