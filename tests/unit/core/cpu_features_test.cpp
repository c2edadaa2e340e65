// cpu_features_test: CPUID decoding against known register values.
#include <gtest/gtest.h>

#include <string>

#include "core/cpu_features.hpp"

namespace {

TEST(CpuFeatures, DecodesSignatures) {
  auto skylake = hv::decode_signature(0x000506E3);
  EXPECT_EQ(skylake.family, 6u);
  EXPECT_EQ(skylake.model, 0x5Eu);
  EXPECT_EQ(skylake.stepping, 3u);
  auto zen = hv::decode_signature(0x00830F10);
  EXPECT_EQ(zen.family, 0x17u);
  EXPECT_EQ(zen.model, 0x31u);
}

TEST(CpuFeatures, NamesSetBitsOnly) {
  hv::CpuidSnapshot s;
  s.leaf1_edx = (1u << 0) | (1u << 26);
  s.leaf1_ecx = 1u << 31;
  s.leaf7_ebx = 1u << 20;
  s.ext1_edx = (1u << 29) | (1u << 20);
  char buf[256];
  hv::format_features(s, buf, sizeof buf);
  EXPECT_EQ(std::string(buf), "fpu sse2 nx lm hypervisor smap");
  EXPECT_TRUE(hv::has_feature(s, hv::cpu::smap));
  EXPECT_FALSE(hv::has_feature(s, hv::cpu::smep));
}

TEST(CpuFeatures, TruncatesAtWordBoundary) {
  hv::CpuidSnapshot s;
  s.leaf1_edx = 0xffffffff;
  char buf[12];
  std::size_t n = hv::format_features(s, buf, sizeof buf);
  EXPECT_EQ(std::string(buf), "fpu pse tsc");
  EXPECT_EQ(n, 11u);
}

TEST(CpuFeatures, AddressBits) {
  hv::CpuidSnapshot s;
  EXPECT_EQ(hv::physical_address_bits(s), 36u);
  s.max_extended = 0x80000008;
  s.ext8_eax = 0x3028;
  EXPECT_EQ(hv::physical_address_bits(s), 40u);
}

}  // namespace
