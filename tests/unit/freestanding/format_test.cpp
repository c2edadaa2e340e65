// format_test: mx::format must agree with the C library's snprintf for what the log uses.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "format.hpp"

// The tests compare formats chosen at run time with libc, and feed deliberately broken ones.
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat-overflow"

namespace {

template <typename... Args>
void expect_like_libc(const char* fmt, Args... args) {
  char ours[256], theirs[256];
  int n1 = mx::format(ours, sizeof ours, fmt, args...);
  int n2 = std::snprintf(theirs, sizeof theirs, fmt, args...);
  EXPECT_STREQ(ours, theirs) << "format \"" << fmt << "\"";
  EXPECT_EQ(n1, n2) << "format \"" << fmt << "\"";
}

TEST(Format, IntegersMatchLibc) {
  expect_like_libc("%d %i %u", -42, 7, 4000000000u);
  expect_like_libc("%ld %lu %lld", -1234567890123L, 1234567890123UL, -9223372036854775807LL - 1);
  expect_like_libc("%x %X %#x %#X %#o %o", 0xdeadbeefu, 0xabcu, 255u, 255u, 8u, 0u);
  expect_like_libc("%hhd %hd %hhu %hu", 300, 70000, 300, 70000);
  expect_like_libc("%zu %zd %td", size_t{99}, ptrdiff_t{-5}, ptrdiff_t{77});
  expect_like_libc("%#x %#o", 0u, 0u);
}

TEST(Format, WidthPrecisionAndFlags) {
  expect_like_libc("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d]", 42, 42, 42, 42, 42, 7, -7);
  expect_like_libc("[%016lx] [%-#10x] [%*d] [%-*d] [%.*s]", 0x1234UL, 0x1fu, 6, 9, 6, 9, 3, "abcdef");
  expect_like_libc("[%.0d] [%.0x] [%5.0d]", 0, 0u, 0);
  expect_like_libc("[%s] [%10s] [%-10s] [%.2s] [%c] [%3c] [%-3c]", "hi", "hi", "hi", "hello", 'x', 'y', 'z');
  expect_like_libc("100%% sure %s", "yes");
}

TEST(Format, PointersAreHexWithPrefix) {
  char buf[64];
  mx::format(buf, sizeof buf, "%p", reinterpret_cast<void*>(0xffff82d040000000ULL));
  EXPECT_STREQ(buf, "0xffff82d040000000");
}

TEST(Format, TruncatesButReportsFullLength) {
  char buf[8];
  int n = mx::format(buf, sizeof buf, "%s-%d", "abcdef", 12345);
  EXPECT_EQ(n, 12);
  EXPECT_STREQ(buf, "abcdef-");
  EXPECT_EQ(mx::format(buf, 0, "xyz"), 3);  // size 0: nothing written, length reported
  char one[1] = {'q'};
  EXPECT_EQ(mx::format(one, 1, "abc"), 3);
  EXPECT_EQ(one[0], '\0');
}

TEST(Format, NullStringAndTrailingPercentAreSafe) {
  char buf[32];
  mx::format(buf, sizeof buf, "%s", static_cast<const char*>(nullptr));
  EXPECT_STREQ(buf, "(null)");
  mx::format(buf, sizeof buf, "end%");
  EXPECT_STREQ(buf, "end");
}

}  // namespace
