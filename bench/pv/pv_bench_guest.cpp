// pv_bench_guest: a test-guest-style PV kernel that times hypercall paths with the TSC and
// prints one "BENCH name=... ops=... cycles=..." line per figure (pv_bench reads them):
//   floor_roundtrip  hypercall 63 under microxen's bench_floor option: syscall + sysret, no work
//   null_hypercall   xen_version(XENVER_version): the full entry, dispatch and exit
//   mmu_update_bN    batches of N validated PTE updates (mmu_update), per update
// Iterations come from the command line ("iterations=N").
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/start_info.hpp>
#include <pv/types.hpp>
#include <pv/version.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

namespace {

inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return (std::uint64_t{hi} << 32) | lo;
}

std::uint64_t parse_iterations(const char* cmdline) {
  const char key[] = "iterations=";
  for (const char* p = cmdline; *p != 0; ++p) {
    unsigned i = 0;
    while (key[i] != 0 && p[i] == key[i]) ++i;
    if (key[i] != 0) continue;
    std::uint64_t n = 0;
    for (p += i; *p >= '0' && *p <= '9'; ++p) n = n * 10 + static_cast<std::uint64_t>(*p - '0');
    return n;
  }
  return 20000;
}

void report(const char* name, std::uint64_t ops, std::uint64_t cycles) {
  guest::print("BENCH name=%s ops=%lu cycles=%lu\n", name, static_cast<unsigned long>(ops),
               static_cast<unsigned long>(cycles));
}

// Hypercall 63 is unused in Xen's ABI: -ENOSYS there; microxen's bench_floor returns at
// once without touching %rax, so the result says whether the floor exists.
bool floor_available() { return guest::hypercall<63>() == 63; }

void bench_mmu_update(std::uint64_t iterations) {
  void* page = guest::mm::alloc_mapped_page();
  const auto va = reinterpret_cast<std::uint64_t>(page);
  const std::uint64_t pte_maddr = guest::mm::entry_maddr(va, 1);
  const std::uint64_t mfn = guest::mm::virt_to_mfn(page);
  GUEST_CHECK(pte_maddr != 0 && mfn != guest::mm::kInvalidMfn);
  using namespace guest::mm;
  const std::uint64_t rw = (mfn << 12) | PTE_P | PTE_RW | PTE_A | PTE_D, ro = (mfn << 12) | PTE_P | PTE_A;
  static pv::mmu_update reqs[256];
  for (unsigned batch : {1u, 16u, 256u}) {
    for (unsigned i = 0; i < batch; ++i) reqs[i] = {pte_maddr | pv::MMU_NORMAL_PT_UPDATE, (i & 1) ? rw : ro};
    if (batch % 2 == 1) reqs[batch - 1].val = rw;  // always end writable
    const std::uint64_t calls = iterations / batch + 1;
    unsigned done = 0;
    const std::uint64_t start = rdtsc();
    for (std::uint64_t c = 0; c < calls; ++c) {
      long rc = guest::hypercall<pv::hypercall::mmu_update>(reinterpret_cast<std::uint64_t>(reqs), batch,
                                                            reinterpret_cast<std::uint64_t>(&done), pv::DOMID_SELF);
      GUEST_CHECK(rc == 0 && done == batch);
    }
    const std::uint64_t cycles = rdtsc() - start;
    char name[32] = "mmu_update_b";
    unsigned n = 12;
    if (batch >= 100) name[n++] = static_cast<char>('0' + batch / 100);
    if (batch >= 10) name[n++] = static_cast<char>('0' + batch / 10 % 10);
    name[n++] = static_cast<char>('0' + batch % 10);
    report(name, calls * batch, cycles);
  }
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  const std::uint64_t n = parse_iterations(reinterpret_cast<const char*>(info.cmd_line));
  guest::print("pv_bench: %lu iterations per figure\n", static_cast<unsigned long>(n));
  if (floor_available()) {
    const std::uint64_t start = rdtsc();
    for (std::uint64_t i = 0; i < n; ++i) guest::hypercall<63>();
    report("floor_roundtrip", n, rdtsc() - start);
  }
  const std::uint64_t start = rdtsc();
  for (std::uint64_t i = 0; i < n; ++i) guest::hypercall<pv::hypercall::xen_version>(pv::XENVER_version, 0);
  report("null_hypercall", n, rdtsc() - start);
  bench_mmu_update(n);
}
