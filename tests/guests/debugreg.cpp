// debugreg: the guest's debug registers are live in hardware (set_debugreg, Xen's
// activate_debugregs). An instruction breakpoint (DR0, L0, R/W 00) raises #DB at the
// function with DR6.B0 in get_debugreg(6); a data write watchpoint (DR1, L1, R/W 01, 8 bytes)
// raises #DB after the store with DR6.B1. When the hypervisor itself writes the watched bytes
// (xen_version into the buffer), Xen 4.17 notes the hit in its own context and drops it: the
// guest sees no #DB and no DR6 bit, and the watchpoint stays armed for the guest's own store.
#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>
#include <pv/start_info.hpp>
#include <pv/version.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "traps.hpp"

extern "C" {
alignas(16) volatile std::uint64_t watched[2];
void bp_target();
void store_watched(std::uint64_t value);
extern char after_store[];
}

// Exact addresses for the frames: the breakpoint's instruction and the one after the store.
asm(R"(
        .text
        .globl bp_target
bp_target:
        ret
        .globl store_watched
store_watched:
        movq    %rdi, watched(%rip)
        .globl after_store
after_store:
        ret
)");

namespace {
using guest::fail;

constexpr std::uint64_t kDr6Default = 0xffff0ff0, kDr7Off = 0x400;
constexpr std::uint64_t kB0 = 1, kB1 = 2;
constexpr std::uint64_t kKernelCs = pv::FLAT_KERNEL_CS & ~3u;

struct DebugSeen {
  unsigned count;
  std::uint64_t rip, cs, dr6, watched0;
  bool has_error;
};
volatile DebugSeen seen;
volatile bool disarm_in_handler;

long set_dr(unsigned reg, std::uint64_t value) {
  return guest::hypercall<pv::hypercall::set_debugreg>(reg, value);
}
std::uint64_t get_dr(unsigned reg) {
  return static_cast<std::uint64_t>(guest::hypercall<pv::hypercall::get_debugreg>(reg));
}

// The guest's #DB: records the frame and DR6 as the handler sees them, then (for the
// instruction breakpoint, which would fault again) disables every breakpoint.
void debug_handler(guest::TrapContext& ctx) {
  seen.count = seen.count + 1;
  seen.rip = ctx.rip();
  seen.cs = ctx.cs() & 0xffff;
  seen.has_error = ctx.has_error();
  seen.dr6 = get_dr(6);
  seen.watched0 = watched[0];
  if (disarm_in_handler && set_dr(7, kDr7Off) != 0) fail("set_debugreg(7) in the #DB handler failed");
}

void reset_dr6() {
  if (set_dr(6, kDr6Default) != 0) fail("set_debugreg(6) failed");
  seen.count = 0;
}

void expect_debug(const char* what, std::uint64_t rip, std::uint64_t bit) {
  if (seen.count != 1) fail("%s: %u #DB deliveries, expected one", what, seen.count);
  if (seen.rip != rip) fail("%s: #DB frame rip %#lx, expected %#lx", what, seen.rip, rip);
  if (seen.cs != kKernelCs || seen.has_error) fail("%s: frame cs %#lx / error code %d", what, seen.cs, seen.has_error);
  if ((seen.dr6 & 0xf) != bit) fail("%s: DR6 %#lx in the handler, expected B%d alone", what, seen.dr6, bit == kB0 ? 0 : 1);
}

void instruction_breakpoint() {
  const auto target = reinterpret_cast<std::uint64_t>(&bp_target);
  reset_dr6();
  disarm_in_handler = true;
  GUEST_CHECK(set_dr(0, target) == 0);
  GUEST_CHECK(set_dr(7, kDr7Off | 1) == 0);  // L0, R/W0 = 00 (execute), LEN0 = 00
  GUEST_CHECK(get_dr(7) == (kDr7Off | 1));
  bp_target();
  expect_debug("instruction breakpoint", target, kB0);
  GUEST_CHECK(get_dr(7) == kDr7Off);
  bp_target();  // disabled now: no second #DB
  if (seen.count != 1) fail("the instruction breakpoint fired after DR7 was cleared");
}

void data_watchpoint() {
  const auto addr = reinterpret_cast<std::uint64_t>(&watched[0]);
  constexpr std::uint64_t kDr7Watch = kDr7Off | (1u << 2) | (1u << 20) | (2u << 22);  // L1, write, 8 bytes
  reset_dr6();
  disarm_in_handler = false;
  GUEST_CHECK(set_dr(1, addr) == 0);
  GUEST_CHECK(set_dr(7, kDr7Watch) == 0);
  store_watched(42);
  expect_debug("write watchpoint", reinterpret_cast<std::uint64_t>(after_store), kB1);
  if (seen.watched0 != 42) fail("the #DB came before the watched store completed (%#lx)", seen.watched0);

  // The hypervisor writing the watched bytes: nothing for the guest, the watchpoint stays.
  reset_dr6();
  char* buffer = const_cast<char*>(reinterpret_cast<volatile char*>(watched));
  if (long rc = guest::hypercall<pv::hypercall::xen_version>(pv::XENVER_extraversion,
                                                             reinterpret_cast<std::uint64_t>(buffer));
      rc != 0)
    fail("xen_version into the watched buffer: %ld", rc);
  guest::print("extraversion \"%.16s\" written under a watchpoint\n", buffer);
  if (seen.count != 0) fail("the hypervisor's own write raised #DB in the guest (rip %#lx)", seen.rip);
  if (std::uint64_t dr6 = get_dr(6); dr6 != kDr6Default) fail("DR6 %#lx after the hypervisor's write", dr6);
  store_watched(7);
  expect_debug("write watchpoint after the hypercall", reinterpret_cast<std::uint64_t>(after_store), kB1);
  GUEST_CHECK(set_dr(7, kDr7Off) == 0);
  store_watched(8);
  if (seen.count != 1) fail("the watchpoint fired after DR7 was cleared");
}

}  // namespace

void guest_main(const pv::start_info&) {
  if (guest::set_trap_table({{1, 0}}) != 0) fail("set_trap_table(#DB) failed");
  guest::set_trap_handler(1, debug_handler);
  instruction_breakpoint();
  data_watchpoint();
  guest::print("debugreg: instruction and data breakpoints delivered as on Xen\n");
}
