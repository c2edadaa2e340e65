// log_test: one line per message, prefixed, level-filtered, bounded, to every sink.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/static_vector.hpp"

namespace {

std::vector<std::string> captured;
void capture(const char* text, std::size_t n) { captured.emplace_back(text, n); }

class Log : public testing::Test {
 protected:
  void SetUp() override {
    captured.clear();
    hv::log_reset_sinks();
    ASSERT_TRUE(hv::log_add_sink(capture));
    hv::log_set_level(hv::Level::info);
    hv::log_set_context(nullptr);
  }
  void TearDown() override { hv::log_reset_sinks(); }
};

TEST_F(Log, FormatsOneLineWithPrefix) {
  HV_INFO(boot, "hello %d", 42);
  HV_WARN(mm, "low memory: %s", "yes");
  ASSERT_EQ(captured.size(), 2u);
  EXPECT_EQ(captured[0], "[hv] hello 42\n");
  EXPECT_EQ(captured[1], "[hv] WARNING: low memory: yes\n");
}

TEST_F(Log, LevelFilterAndContext) {
  HV_DEBUG(boot, "hidden");
  EXPECT_TRUE(captured.empty());
  hv::log_set_level(hv::Level::debug);
  hv::log_set_context([](char* buf, std::size_t size) { return snprintf(buf, size, "[cpu1 d0v0]"); });
  HV_DEBUG(boot, "shown");
  ASSERT_EQ(captured.size(), 1u);
  EXPECT_EQ(captured[0], "[cpu1 d0v0] debug: shown\n");
}

TEST_F(Log, LongMessagesAreCutAndMarked) {
  std::string big(2000, 'x');
  HV_INFO(guest, "%s", big.c_str());
  ASSERT_EQ(captured.size(), 1u);
  EXPECT_LT(captured[0].size(), 520u);
  EXPECT_NE(captured[0].find("...\n"), std::string::npos);
}

TEST_F(Log, SinkTableIsBounded) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(hv::log_add_sink(capture));
  EXPECT_FALSE(hv::log_add_sink(capture));
  HV_INFO(boot, "x");
  EXPECT_EQ(captured.size(), 4u);
}

TEST(StaticVector, InsertEraseAndCapacity) {
  hv::StaticVector<int, 3> v;
  EXPECT_TRUE(v.push_back(1));
  EXPECT_TRUE(v.insert(0, 0));
  EXPECT_TRUE(v.insert(2, 2));
  EXPECT_FALSE(v.push_back(3));
  EXPECT_FALSE(v.insert(1, 9));
  EXPECT_EQ(v[0], 0);
  EXPECT_EQ(v[2], 2);
  v.erase(1);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], 2);
  v.erase(5);  // out of range: no effect
  EXPECT_EQ(v.size(), 2u);
  EXPECT_FALSE(v.insert(5, 1));
}

}  // namespace
