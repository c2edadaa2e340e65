// mm_random_test: long randomized operation sequences (fixed seeds) through MmDriver, with the
// reference checker after every step and "failed means unchanged" for single operations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "mm_driver.hpp"

namespace mmtest {
namespace {

struct RunStats {
  std::size_t ok = 0, max_tables = 0;
  std::size_t tried[16] = {}, succeeded[16] = {};
};

std::string run_seed(std::uint64_t seed, std::size_t ops, RunStats* stats = nullptr) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> bytes(ops * 48);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  FakeMachine m;
  MmDriver driver(m);
  ByteSource in(bytes.data(), bytes.size());
  std::string err = driver.run(in, ops);
  if (stats != nullptr) {
    stats->ok += driver.ops_succeeded();
    stats->max_tables = std::max(stats->max_tables, driver.max_tables());
    for (unsigned k = 0; k < 16; ++k) {
      stats->tried[k] += driver.tried(k);
      stats->succeeded[k] += driver.succeeded(k);
    }
  }
  if (err.empty() && driver.ops_run() != ops) err = "input ran out early";
  return err;
}

TEST(MmRandom, SeedsOneToFour) {
  RunStats st;
  for (std::uint64_t seed = 1; seed <= 4; ++seed)
    EXPECT_EQ(run_seed(seed, 4000, &st), "") << "seed " << seed;
  // The runs must reach real states, not just bounce off the checks.
  for (unsigned k = 0; k < 16; ++k)
    std::printf("kind %2u: %5zu tried, %5zu succeeded\n", k, st.tried[k], st.succeeded[k]);
  std::printf("max validated tables at once: %zu\n", st.max_tables);
  EXPECT_GT(st.ok, 3000u);
  EXPECT_GE(st.max_tables, 12u);
  for (unsigned k : {0u, 1u, 2u, 3u, 5u, 6u, 7u, 8u, 9u, 10u})
    EXPECT_GT(st.succeeded[k], 20u) << "kind " << k << " never gets through";
}

TEST(MmRandom, SeedsFiveToEight) {
  for (std::uint64_t seed = 5; seed <= 8; ++seed)
    EXPECT_EQ(run_seed(seed, 4000), "") << "seed " << seed;
}

TEST(MmRandom, ManyShortRuns) {
  for (std::uint64_t seed = 100; seed < 160; ++seed)
    EXPECT_EQ(run_seed(seed, 300), "") << "seed " << seed;
}

}  // namespace
}  // namespace mmtest
