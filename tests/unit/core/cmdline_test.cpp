// cmdline_test: boot option lookup, including hostile and malformed command lines.
#include <gtest/gtest.h>

#include <string>

#include "core/cmdline.hpp"

namespace {

TEST(Cmdline, ValuesFlagsAndNumbers) {
  hv::Cmdline c("  console=com1  loglvl=all noreboot debug_exit=0xf4 dom0_mem=512M no-smap smep=0 ");
  EXPECT_EQ(c.value("console"), "com1");
  EXPECT_EQ(c.value("loglvl"), "all");
  EXPECT_FALSE(c.value("noreboot").has_value());  // a flag has no value
  EXPECT_TRUE(c.flag("noreboot"));
  EXPECT_FALSE(c.flag("smap", true));
  EXPECT_FALSE(c.flag("smep", true));
  EXPECT_TRUE(c.flag("missing", true));
  EXPECT_EQ(c.number("debug_exit"), 0xf4u);
  EXPECT_EQ(c.number("dom0_mem"), 512ull << 20);
}

TEST(Cmdline, LastOccurrenceWins) {
  hv::Cmdline c("x=1 x=2 flag=off flag");
  EXPECT_EQ(c.number("x"), 2u);
  EXPECT_TRUE(c.flag("flag"));
}

TEST(Cmdline, MalformedNumbersAreRejected) {
  EXPECT_FALSE(hv::parse_number("").has_value());
  EXPECT_FALSE(hv::parse_number("0x").has_value());
  EXPECT_FALSE(hv::parse_number("12a").has_value());
  EXPECT_FALSE(hv::parse_number("99999999999999999999999").has_value());  // overflow
  EXPECT_FALSE(hv::parse_number("17179869184G").has_value());            // overflow on shift
  EXPECT_EQ(hv::parse_number("0xFFFFFFFFFFFFFFFF"), UINT64_MAX);
  EXPECT_EQ(hv::parse_number("4k"), 4096u);
  EXPECT_EQ(hv::parse_number("1G"), 1ull << 30);
}

TEST(Cmdline, EmptyKeysAndEqualsSignsDoNotConfuse) {
  hv::Cmdline c("= =x a== b=c=d");
  EXPECT_EQ(c.value(""), "x");
  EXPECT_EQ(c.value("a"), "=");
  EXPECT_EQ(c.value("b"), "c=d");
  EXPECT_FALSE(hv::Cmdline("").value("a").has_value());
}

}  // namespace
