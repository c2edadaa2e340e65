// mmu_fuzz: fuzz target for the PV memory-management core. Input bytes become a sequence of
// mmu_update / mmuext_op / update_va_mapping / ptwr / teardown operations on a fake machine,
// with the reference checker after every step; any inconsistency or sanitizer report aborts.
//
//   mmu_fuzz [FILE...]            run each file (stdin if none) as one input (AFL-style)
//   mmu_fuzz --selftest N [SEED]  run N deterministic pseudo-random inputs (CTest uses this)
//   built with -DMMU_FUZZ_LIBFUZZER (and -fsanitize=fuzzer): a libFuzzer target instead.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "mm_driver.hpp"

namespace {

constexpr std::size_t kMaxOpsPerInput = 4000;

mmtest::FakeMachine& machine() {
  static mmtest::FakeMachine m;  // reset() per input: same start state every time
  return m;
}

// Runs one input; returns false (after printing why) on a violated invariant.
bool run_input(const std::uint8_t* data, std::size_t size, const char* name) {
  mmtest::FakeMachine& m = machine();
  m.reset();
  mmtest::MmDriver driver(m);
  mmtest::ByteSource in(data, size);
  std::string err = driver.run(in, kMaxOpsPerInput);
  if (err.empty()) return true;
  std::fprintf(stderr, "mmu_fuzz: %s: %s\n", name, err.c_str());
  return false;
}

}  // namespace

#ifdef MMU_FUZZ_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!run_input(data, size, "input")) std::abort();
  return 0;
}
#else

namespace {

int selftest(unsigned long count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> input;
  for (unsigned long i = 0; i < count; ++i) {
    input.resize(16 + rng() % 600);  // about 2 to 25 operations each
    for (auto& b : input) b = static_cast<std::uint8_t>(rng());
    const std::string name = "selftest input " + std::to_string(i) + " (seed " +
                             std::to_string(seed) + ")";
    if (!run_input(input.data(), input.size(), name.c_str())) return 1;
  }
  std::printf("mmu_fuzz: %lu inputs passed\n", count);
  return 0;
}

std::vector<std::uint8_t> read_all(std::istream& s) {
  return {std::istreambuf_iterator<char>(s), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--selftest") == 0)
    return selftest(std::strtoul(argv[2], nullptr, 0),
                    argc >= 4 ? std::strtoull(argv[3], nullptr, 0) : 1);
  if (argc == 1) {
    std::vector<std::uint8_t> data = read_all(std::cin);
    if (!run_input(data.data(), data.size(), "stdin")) std::abort();  // a crash, for AFL
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "mmu_fuzz: %s: cannot open\n", argv[i]);
      return 2;
    }
    std::vector<std::uint8_t> data = read_all(f);
    if (!run_input(data.data(), data.size(), argv[i])) std::abort();
  }
  return 0;
}
#endif
