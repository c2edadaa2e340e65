// pv_bench_guest: a test-guest-style PV kernel that times hypercall paths with the TSC and
// prints one "BENCH name=... ops=... cycles=..." line per figure (pv_bench reads them):
//   floor_roundtrip  hypercall 63 under microxen's bench_floor option: syscall + sysret, no work
//   null_hypercall   xen_version(XENVER_version): the full entry, dispatch and exit
//   mmu_update_bN    batches of N validated PTE updates (mmu_update), per update
//   syscall_bounce   guest user mode executes `syscall`; the hypervisor bounces it to the
//                    guest kernel's syscall callback, which returns to user mode with
//                    HYPERVISOR_iret: one user->kernel->user round trip
// It also prints "BENCH_CLOCK mul=... shift=..." from its own vcpu_time_info, so pv_bench can
// turn cycles into ns the way the guest's clock would, on each hypervisor.
// Iterations come from the command line ("iterations=N"). With "sync_start_ms=S sync_ms=D"
// figure k starts at system time S + k*D ms (lock_bench runs two domains at once, so each
// figure overlaps the same figure of the other domain); a figure that would start late says
// so ("BENCH_SYNC late figure=k").
#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/start_info.hpp>
#include <pv/types.hpp>
#include <pv/version.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "pvclock.hpp"
#include "traps.hpp"
#include "usermode.hpp"

namespace {

inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return (std::uint64_t{hi} << 32) | lo;
}

// The number after " key=" (or at the start) on the command line, or `otherwise`.
std::uint64_t parse_number(const char* cmdline, const char* key, std::uint64_t otherwise) {
  for (const char* p = cmdline; *p != 0; ++p) {
    if (p != cmdline && p[-1] != ' ') continue;
    unsigned i = 0;
    while (key[i] != 0 && p[i] == key[i]) ++i;
    if (key[i] != 0) continue;
    std::uint64_t n = 0;
    for (p += i; *p >= '0' && *p <= '9'; ++p) n = n * 10 + static_cast<std::uint64_t>(*p - '0');
    return n;
  }
  return otherwise;
}

std::uint64_t sync_start_ns = 0, sync_step_ns = 0;  // 0: figures start when the last ended
unsigned next_figure = 0;

// Waits for figure k's start time (see the header), interrupts off: a spin on the clock.
void wait_for_slot() {
  const unsigned k = next_figure++;
  if (sync_step_ns == 0) return;
  const std::uint64_t at = sync_start_ns + k * sync_step_ns;
  if (guest::pvclock::now(guest::mm::vcpu0().time) > at) {
    guest::print("BENCH_SYNC late figure=%u\n", k);
    return;
  }
  while (guest::pvclock::now(guest::mm::vcpu0().time) < at) asm volatile("pause");
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
    wait_for_slot();
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

// ---- syscall_bounce: a user-mode loop of `syscall`s, each returned by the kernel's iret.

// The user program, position independent: 1: syscall; jmp 1b.
constexpr unsigned char kUserSyscallLoop[] = {0x0f, 0x05, 0xeb, 0xfc};
constexpr std::uint64_t kUserCode = 0x400000, kUserStack = 0x401000;  // one L1 maps both

std::uint64_t bounces_left;

void on_user_syscall(guest::TrapContext& ctx) {
  if (--bounces_left == 0) guest::return_to_kernel(ctx);  // else iret back to the loop
}

// A user L4 mapping the code page (read-only) and a stack page at kUserCode; pinned.
std::uint64_t build_user_space() {
  using namespace guest::mm;
  std::uint64_t code = alloc_frame(), stack = alloc_frame();
  copy_to_frame(code, kUserSyscallLoop, sizeof kUserSyscallLoop);
  std::uint64_t l4 = alloc_frame(), l3 = alloc_frame(), l2 = alloc_frame(), l1 = alloc_frame();
  constexpr std::uint64_t table = PTE_P | PTE_RW | PTE_US | PTE_A;
  write_frame(l4, table_index(kUserCode, 4), (l3 << 12) | table);
  write_frame(l3, table_index(kUserCode, 3), (l2 << 12) | table);
  write_frame(l2, table_index(kUserCode, 2), (l1 << 12) | table);
  write_frame(l1, table_index(kUserCode, 1), (code << 12) | PTE_P | PTE_US | PTE_A);
  write_frame(l1, table_index(kUserStack, 1), (stack << 12) | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D);
  GUEST_CHECK(mmuext(pv::MMUEXT_PIN_L4_TABLE, l4) == 0);
  return l4;
}

void bench_syscall_bounce(std::uint64_t iterations) {
  guest::set_trap_handler(guest::kSyscallVector, on_user_syscall);
  GUEST_CHECK(guest::register_callbacks() == 0);
  guest::use_kernel_stack();
  std::uint64_t user_l4 = build_user_space();
  GUEST_CHECK(guest::mm::mmuext(pv::MMUEXT_NEW_USER_BASEPTR, user_l4) == 0);
  // Events stay masked in user mode too (IF clear in the frame): nothing may interrupt.
  bounces_left = iterations;
  wait_for_slot();
  const std::uint64_t start = rdtsc();
  guest::enter_user(kUserCode, kUserStack + guest::mm::kPageSize, 0x002);
  const std::uint64_t cycles = rdtsc() - start;
  GUEST_CHECK(bounces_left == 0);
  report("syscall_bounce", iterations, cycles);
  GUEST_CHECK(guest::mm::mmuext(pv::MMUEXT_NEW_USER_BASEPTR, 0) == 0);
  GUEST_CHECK(guest::mm::mmuext(pv::MMUEXT_UNPIN_TABLE, user_l4) == 0);
  guest::mm::vcpu0().evtchn_upcall_mask = 1;
}

// The scale this guest's clock uses: pv_bench converts every figure's cycles with it.
void report_clock() {
  const pv::vcpu_time_info r = guest::pvclock::read_record(guest::mm::vcpu0().time).record;
  guest::print("BENCH_CLOCK mul=%u shift=%d tsc_khz=%lu\n", r.tsc_to_system_mul, r.tsc_shift,
               static_cast<unsigned long>(guest::pvclock::tsc_khz(r)));
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  const char* cmdline = reinterpret_cast<const char*>(info.cmd_line);
  const std::uint64_t n = parse_number(cmdline, "iterations=", 20000);
  sync_start_ns = parse_number(cmdline, "sync_start_ms=", 0) * 1'000'000;
  sync_step_ns = parse_number(cmdline, "sync_ms=", 0) * 1'000'000;
  guest::print("pv_bench: %lu iterations per figure\n", static_cast<unsigned long>(n));
  if (floor_available()) {
    wait_for_slot();
    const std::uint64_t start = rdtsc();
    for (std::uint64_t i = 0; i < n; ++i) guest::hypercall<63>();
    report("floor_roundtrip", n, rdtsc() - start);
  }
  wait_for_slot();
  const std::uint64_t start = rdtsc();
  for (std::uint64_t i = 0; i < n; ++i) guest::hypercall<pv::hypercall::xen_version>(pv::XENVER_version, 0);
  report("null_hypercall", n, rdtsc() - start);
  bench_mmu_update(n);
  if (n > 0) bench_syscall_bounce(n);
  report_clock();
}
