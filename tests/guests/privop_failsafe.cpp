// privop_failsafe: the failsafe callback (Xen 4.17 load_segments). The guest loads %es from
// an entry of its own GDT, then makes that entry unusable with update_descriptor and yields.
// If another vCPU runs in between (a second domain, or a second vCPU), switching this one
// back in reloads its data selectors: %es no longer loads, it becomes null and the failsafe
// callback gets RCX R11 DS ES FS GS RIP CS|mask RFLAGS RSP SS, checked word by word. Alone
// (one vCPU, as in the oracle run) neither Xen 4.17 nor microxen switches it out on a yield
// (prev == next keeps running, no load_segments), so %es must still hold the stale selector
// and the callback must not run. Which of the two happened is printed; the frame checks run
// only where a switch happened (the unit tests check the frame word by word).
#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

extern "C" char privop_failsafe_entry[];
extern "C" std::uint64_t failsafe_frame[11];
extern "C" std::uint32_t failsafe_count;

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kData0 = 0x00CF92000000FFFF;  // flat data, DPL 0 (Xen makes it 3)
constexpr std::uint16_t kSelector = 0x13;             // GDT entry 2, RPL 3

void load_es(std::uint16_t sel) { asm volatile("mov %0, %%es" ::"r"(static_cast<std::uint32_t>(sel)) : "memory"); }
std::uint16_t read_es() {
  std::uint16_t sel;
  asm volatile("mov %%es, %0" : "=r"(sel));
  return sel;
}
std::uint16_t read_ds() {
  std::uint16_t sel;
  asm volatile("mov %%ds, %0" : "=r"(sel));
  return sel;
}

void expect_rc(const char* what, long rc) {
  if (rc != 0) fail("%s returned %ld", what, rc);
  print("ok: %s = 0\n", what);
}

void check_frame(std::uint16_t ds_before) {
  const std::uint64_t* f = failsafe_frame;
  const auto page = reinterpret_cast<std::uint64_t>(hypercall_page);
  const std::uint64_t yield_entry = page + 32 * pv::hypercall::sched_op;
  if (f[2] != ds_before || f[3] != kSelector)
    fail("failsafe frame DS %#lx ES %#lx, expected %#x %#x", f[2], f[3], ds_before, kSelector);
  if (f[6] < yield_entry || f[6] >= yield_entry + 32)
    fail("failsafe frame RIP %#lx is not in the sched_op hypercall entry at %#lx", f[6], yield_entry);
  if ((f[7] & 0xffff) != (pv::FLAT_KERNEL_CS & ~3u))
    fail("failsafe frame CS %#lx: expected FLAT_KERNEL_CS with RPL 0", f[7]);
  const std::uint64_t mask = f[7] >> 32;
  if (((f[8] >> 9) & 1) != (mask == 0 ? 1u : 0u))
    fail("failsafe frame RFLAGS %#lx: IF must be !upcall mask (%lu)", f[8], mask);
  if ((f[10] & 0xffff) != pv::FLAT_KERNEL_SS) fail("failsafe frame SS %#lx", f[10]);
  print("ok: failsafe frame ds %#lx es %#lx fs %#lx gs %#lx rip %#lx cs %#lx rflags %#lx rsp %#lx ss %#lx\n",
        f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]);
  if (read_es() != 0) fail("%%es reads %#x after the failsafe callback, expected null", read_es());
  print("ok: %%es is null after the failed reload\n");
}

}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  pv::callback_register cb{};
  cb.type = pv::CALLBACKTYPE_failsafe;
  cb.address = reinterpret_cast<std::uint64_t>(privop_failsafe_entry);
  expect_rc("callback_op(register failsafe)",
            guest::hypercall<pv::hypercall::callback_op>(pv::CALLBACKOP_register,
                                                         reinterpret_cast<std::uint64_t>(&cb)));
  static std::uint64_t frames[1];
  frames[0] = mm::alloc_frame();
  mm::write_frame(frames[0], 2, kData0);
  expect_rc("set_gdt(one frame, 16 entries)",
            guest::hypercall<pv::hypercall::set_gdt>(reinterpret_cast<std::uint64_t>(frames), 16));
  load_es(kSelector);
  if (read_es() != kSelector) fail("%%es reads %#x after loading %#x", read_es(), kSelector);
  const std::uint16_t ds_before = read_ds();
  expect_rc("update_descriptor(entry 2 -> 0) under a loaded %es",
            guest::hypercall<pv::hypercall::update_descriptor>((frames[0] << 12) + 2 * 8, 0));
  expect_rc("sched_op(yield)", guest::hypercall<pv::hypercall::sched_op>(pv::SCHEDOP_yield, 0));
  if (failsafe_count == 1) {
    print("the vCPU was switched back in: the failsafe callback ran\n");
    check_frame(ds_before);
  } else if (failsafe_count == 0) {
    if (read_es() != kSelector)
      fail("no failsafe callback, yet %%es changed from %#x to %#x", kSelector, read_es());
    print("ok: the yield did not switch the vCPU out (Xen 4.17, one vCPU): %%es still %#x\n", read_es());
  } else {
    fail("the failsafe callback ran %u times", failsafe_count);
  }
  load_es(0);
}
