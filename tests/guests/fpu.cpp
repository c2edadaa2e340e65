// fpu: the FPU/SSE/AVX state of a vCPU is its own. The guest fills x87 (control word and all
// eight stack registers), MXCSR, xmm0-15 and, when AVX is enabled, the ymm upper halves with a
// pattern derived from its command-line seed (`seed=N`), then yields hundreds of times and
// checks every register after every yield. Started twice with different seeds (dom0 and a
// boot-module domU on microxen), any state leaking between domains shows up as a mismatch.
// It also exercises fpu_taskswitch: with the virtual CR0.TS set, the first FPU instruction
// raises #NM in the guest's own trap handler, which clears TS with fpu_taskswitch(0); the
// state must be intact afterwards, also when TS stayed set across a yield. The data segment
// selectors %ds/%es (different per seed) are checked after every yield as well.
#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/start_info.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "traps.hpp"

namespace {

constexpr unsigned kYields = 400;
constexpr unsigned kTsEvery = 40;  // every 40th yield happens with the virtual TS set

struct FpuPattern {
  std::uint16_t fcw;
  std::uint16_t pad0;
  std::uint32_t mxcsr;
  std::int64_t x87[8];
  std::uint64_t pad1;
  std::uint8_t ymm[16][32];
};
static_assert(__builtin_offsetof(FpuPattern, x87) == 8 && __builtin_offsetof(FpuPattern, ymm) == 80);

struct alignas(64) FpuSnapshot {
  std::uint8_t fxsave[512];
  std::uint8_t upper[16][16];
};

extern "C" void fpu_fill(const FpuPattern* pattern, int avx);
extern "C" void fpu_snapshot(FpuSnapshot* snapshot, int avx);

FpuPattern pattern;
FpuSnapshot reference, now;
volatile unsigned nm_count = 0;

long fpu_taskswitch(int set) { return guest::hypercall<pv::hypercall::fpu_taskswitch>(static_cast<std::uint64_t>(set)); }
long yield() { return guest::hypercall<pv::hypercall::sched_op>(pv::SCHEDOP_yield, 0); }

// The guest's view of CR0 (mov from %cr0 is emulated for PV kernels).
std::uint64_t read_cr0() {
  std::uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}

// #NM: only expected while the virtual TS is set. Xen clears the virtual TS as it delivers
// the #NM (do_device_not_available), so it reads clear here already; fpu_taskswitch(0) is
// what a kernel written for either behaviour does anyway.
void on_device_not_available(guest::TrapContext&) {
  nm_count = nm_count + 1;
  if (read_cr0() & 8) guest::fail("virtual CR0.TS still set inside the #NM handler");
  if (fpu_taskswitch(0) != 0) guest::fail("fpu_taskswitch(0) in the #NM handler failed");
}

unsigned seed_from(const char* cmdline) {
  for (unsigned i = 0; i + 5 < pv::MAX_GUEST_CMDLINE && cmdline[i] != 0; ++i) {
    if ((i != 0 && cmdline[i - 1] != ' ') || cmdline[i] != 's' || cmdline[i + 1] != 'e' ||
        cmdline[i + 2] != 'e' || cmdline[i + 3] != 'd' || cmdline[i + 4] != '=')
      continue;
    unsigned seed = 0;
    for (unsigned j = i + 5; cmdline[j] >= '0' && cmdline[j] <= '9'; ++j) seed = seed * 10 + static_cast<unsigned>(cmdline[j] - '0');
    return seed;
  }
  return 1;
}

std::uint64_t xgetbv0() {
  std::uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}

// AVX is usable when the CPU has it and XCR0 enables it. Xen 4.17 starts a PV vCPU with XCR0
// = x87|SSE and CR4.OSXSAVE clear in the guest's view, and emulates the kernel's mov to CR4
// and xsetbv (Linux enables AVX that way); microxen enables x87|SSE|AVX for every guest from
// the start, so it never gets to the emulation.
bool enable_avx() {
  std::uint32_t a = 1, b, c = 0, d;
  asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  const bool avx = (c >> 28) & 1, osxsave = (c >> 27) & 1;
  if (!avx || !osxsave) return false;
  std::uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 6) == 6) return true;
  // As Linux does: CR4.OSXSAVE first (xsetbv raises #UD without it), then XCR0; both are
  // privileged instructions the hypervisor emulates for the PV kernel.
  guest::print("fpu: XCR0 %#lx at start: enabling AVX (CR4.OSXSAVE, xsetbv)\n", static_cast<unsigned long>(xcr0));
  std::uint64_t cr4;
  asm volatile("mov %%cr4, %0" : "=r"(cr4));
  asm volatile("mov %0, %%cr4" ::"r"(cr4 | (std::uint64_t{1} << 18)) : "memory");
  xcr0 |= 6;
  asm volatile("xsetbv" ::"a"(static_cast<std::uint32_t>(xcr0)), "d"(static_cast<std::uint32_t>(xcr0 >> 32)), "c"(0));
  return (xgetbv0() & 6) == 6;
}

void make_pattern(unsigned seed) {
  pattern.fcw = static_cast<std::uint16_t>(0x037F | ((seed & 3) << 10));      // rounding control
  pattern.mxcsr = 0x1F80 | ((seed & 3) << 13);                                   // rounding control
  for (unsigned i = 0; i < 8; ++i)
    pattern.x87[i] = static_cast<std::int64_t>(seed) * 1000003 - static_cast<std::int64_t>(i) * 7919 - 4000;
  for (unsigned r = 0; r < 16; ++r)
    for (unsigned j = 0; j < 32; ++j)
      pattern.ymm[r][j] = static_cast<std::uint8_t>((seed * 31 + r * 17 + j * 3) ^ (seed >> 3) ^ 0xA5);
}

bool same(const std::uint8_t* a, const std::uint8_t* b, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// Names the first register that differs from the reference, or returns nullptr.
const char* first_difference(const FpuSnapshot& s, bool avx, unsigned& index) {
  index = 0;
  if (!same(s.fxsave + 0, reference.fxsave + 0, 5)) return "FCW/FSW/FTW";
  if (!same(s.fxsave + 24, reference.fxsave + 24, 4)) return "MXCSR";
  for (index = 0; index < 8; ++index)
    if (!same(s.fxsave + 32 + 16 * index, reference.fxsave + 32 + 16 * index, 10)) return "st";
  for (index = 0; index < 16; ++index)
    if (!same(s.fxsave + 160 + 16 * index, reference.fxsave + 160 + 16 * index, 16)) return "xmm";
  for (index = 0; avx && index < 16; ++index)
    if (!same(s.upper[index], reference.upper[index], 16)) return "ymm upper half";
  return nullptr;
}

void check_reference(bool avx) {
  std::uint16_t fcw;
  std::uint32_t mxcsr;
  __builtin_memcpy(&fcw, reference.fxsave, 2);
  __builtin_memcpy(&mxcsr, reference.fxsave + 24, 4);
  GUEST_CHECK(fcw == pattern.fcw);
  GUEST_CHECK(mxcsr == pattern.mxcsr);
  for (unsigned r = 0; r < 16; ++r) {
    GUEST_CHECK(same(reference.fxsave + 160 + 16 * r, pattern.ymm[r], 16));
    if (avx) GUEST_CHECK(same(reference.upper[r], pattern.ymm[r] + 16, 16));
  }
}

// The data segment selectors are per vCPU too: one domain holds the flat ring-3 data selector
// in %ds and null in %es, the other the reverse (by seed parity).
constexpr std::uint16_t kFlatRing3Data = pv::FLAT_RING3_DS32;  // 0xe02b, also valid in 64-bit mode
std::uint16_t expected_ds, expected_es;

std::uint16_t read_ds() { std::uint16_t v; asm volatile("mov %%ds, %0" : "=r"(v)); return v; }
std::uint16_t read_es() { std::uint16_t v; asm volatile("mov %%es, %0" : "=r"(v)); return v; }

void load_data_selectors(unsigned seed) {
  expected_ds = seed & 1 ? kFlatRing3Data : 0;
  expected_es = seed & 1 ? 0 : kFlatRing3Data;
  asm volatile("mov %0, %%ds" ::"r"(static_cast<std::uint32_t>(expected_ds)) : "memory");
  asm volatile("mov %0, %%es" ::"r"(static_cast<std::uint32_t>(expected_es)) : "memory");
}

// Takes a snapshot; with the virtual TS set exactly one #NM must come first.
void snapshot_and_compare(bool avx, bool ts_set, unsigned round) {
  const unsigned nm_before = nm_count;
  fpu_snapshot(&now, avx);
  const unsigned expected = nm_before + (ts_set ? 1 : 0);
  if (nm_count != expected)
    guest::fail("round %u: %u #NM deliveries, expected %u (virtual TS %s)", round, nm_count - nm_before,
                expected - nm_before, ts_set ? "set" : "clear");
  if (read_ds() != expected_ds || read_es() != expected_es)
    guest::fail("round %u: ds/es %#x/%#x, expected %#x/%#x", round, read_ds(), read_es(), expected_ds, expected_es);
  unsigned index;
  if (const char* what = first_difference(now, avx, index))
    guest::fail("round %u: %s %u changed across a yield", round, what, index);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  const unsigned seed = seed_from(reinterpret_cast<const char*>(info.cmd_line));
  const bool avx = enable_avx();
  guest::print("fpu: seed %u, AVX %s\n", seed, avx ? "enabled (ymm upper halves checked too)" : "not enabled in XCR0");
  if (guest::set_trap_table({{7, 0}}) != 0) guest::fail("set_trap_table(#NM) failed");
  guest::set_trap_handler(7, on_device_not_available);

  // Both Xen builders start every data selector at FLAT_KERNEL_DS, which is the null
  // selector for 64-bit guests (FLAT_RING3_DS64).
  if (read_ds() != pv::FLAT_KERNEL_DS || read_es() != pv::FLAT_KERNEL_DS)
    guest::fail("start of day: ds/es %#x/%#x, expected FLAT_KERNEL_DS %#x", read_ds(), read_es(), pv::FLAT_KERNEL_DS);
  load_data_selectors(seed);
  make_pattern(seed);
  fpu_fill(&pattern, avx);
  fpu_snapshot(&reference, avx);
  check_reference(avx);

  // fpu_taskswitch(1) without a yield: the next FPU instruction traps once.
  GUEST_CHECK(fpu_taskswitch(1) == 0);
  snapshot_and_compare(avx, true, 0);

  for (unsigned round = 1; round <= kYields; ++round) {
    const bool ts = round % kTsEvery == 0;
    if (ts) GUEST_CHECK(fpu_taskswitch(1) == 0);
    if (yield() != 0) guest::fail("round %u: sched_op(yield) failed", round);
    snapshot_and_compare(avx, ts, round);
  }
  guest::print("fpu: seed %u: registers intact after %u yields, %u #NM delivered\n", seed, kYields, nm_count);
}
