// usermode: guest user mode on 64-bit PV. Builds a separate user page table (L4..L1 in free
// frames, mapping only a code and a stack page at low VAs), pins it and installs it with
// MMUEXT_NEW_USER_BASEPTR, registers the syscall/event/failsafe callbacks and a kernel stack
// (stack_switch), enters user mode with the iret hypercall and checks each way back: a
// `syscall` reaches the syscall callback with Xen's frame (RCX = return rip, R11 = user
// rflags, CS 0xe033), a user #PF reaches the kernel #PF handler with CS RPL 3 and U/S set
// in the error code, `int $0x80` works from user mode; then returns to the kernel.
#include <pv/arch_x86_64.hpp>
#include <pv/mmu.hpp>

#include "console.hpp"
#include "mm.hpp"
#include "traps.hpp"
#include "usermode.hpp"

extern "C" char user_blob[], user_blob_end[], user_syscall1_ret[], user_fault[],
    user_after_fault[], user_int80_ret[], user_exit_ret[];

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kUserCode = 0x400000, kUserStack = 0x401000;  // one L1 maps both
constexpr std::uint64_t kUserStackTop = kUserStack + mm::kPageSize;
constexpr std::uint64_t kUserFault = 0x800000;                        // L2 slot 4: absent
constexpr std::uint64_t kUserCs = pv::FLAT_USER_CS, kUserSs = pv::FLAT_USER_SS;
constexpr std::uint64_t kRflagsIF = 1u << 9;

std::uint64_t user_va(const char* label) { return kUserCode + (label - user_blob); }

std::uint64_t kernel_sp;
unsigned step;

// The frame every user->kernel bounce builds: at kernel_sp (aligned), user CS/SS (RPL 3),
// the user's rsp, the saved mask 0 (user mode ran with events enabled).
void check_user_frame(const char* what, guest::TrapContext& ctx, std::uint64_t rip) {
  std::uint64_t frame_va = (kernel_sp & ~15ull) - (ctx.has_error() ? 64 : 56);
  if (ctx.frame_va() != frame_va)
    fail("%s: frame at %#lx, expected kernel_sp-aligned %#lx", what, ctx.frame_va(), frame_va);
  if (ctx.rip() != rip) fail("%s: frame rip %#lx, expected %#lx", what, ctx.rip(), rip);
  if (ctx.cs() != kUserCs) fail("%s: frame cs %#lx, expected %#lx (RPL 3, mask 0)", what, ctx.cs(), kUserCs);
  if (ctx.ss() != kUserSs || ctx.rsp() != kUserStackTop)
    fail("%s: frame rsp:ss %#lx:%#lx, expected %#lx:%#lx", what, ctx.rsp(), ctx.ss(), kUserStackTop, kUserSs);
  if (!(ctx.rflags() & kRflagsIF)) fail("%s: frame rflags %#lx lacks IF (mask was 0)", what, ctx.rflags());
  print("ok: %s: frame at kernel_sp-%lu, rip %#lx, cs %#lx, rsp:ss %#lx:%#lx\n", what,
        kernel_sp - frame_va, ctx.rip(), ctx.cs(), ctx.rsp(), ctx.ss());
}

void on_syscall(guest::TrapContext& ctx) {
  std::uint8_t mask = mm::vcpu0().evtchn_upcall_mask;
  if (ctx.rax == 1 && step == 0) {
    check_user_frame("syscall from user mode", ctx, user_va(user_syscall1_ret));
    if (ctx.frame_rcx() != ctx.rip()) fail("syscall: frame rcx %#lx != rip", ctx.frame_rcx());
    if (!(ctx.frame_r11() & kRflagsIF) || (ctx.frame_r11() & 0x2) == 0)
      fail("syscall: frame r11 %#lx is not the user rflags", ctx.frame_r11());
    if (mask != 1) fail("syscall: CALLBACKF_mask_events left upcall mask %u", mask);
    if (ctx.rbx != 0x5a5a5a5a00000300) fail("syscall: rbx %#lx not preserved", ctx.rbx);
    print("ok: syscall frame rcx = return rip, r11 = user rflags %#lx; events masked; rbx kept\n",
          ctx.frame_r11());
    ctx.rax = 0x1234;  // returned to user mode in rax by the iret hypercall
    step = 1;
    return;
  }
  if (ctx.rax == 2 && step == 3) {
    check_user_frame("final syscall", ctx, user_va(user_exit_ret));
    step = 4;
    guest::return_to_kernel(ctx);
    return;
  }
  fail("unexpected syscall rax %#lx at step %u", ctx.rax, step);
}

void on_page_fault(guest::TrapContext& ctx) {
  if (step != 1) fail("unexpected #PF at %#lx, cr2 %#lx", ctx.rip(), mm::vcpu0().arch.cr2);
  check_user_frame("#PF in user mode", ctx, user_va(user_fault));
  // Read of a not-present page from user mode: U/S (4), not W (2), not P (1).
  if (ctx.error() != 4) fail("user #PF: error code %#lx, expected 0x4", ctx.error());
  if (mm::vcpu0().arch.cr2 != kUserFault) fail("user #PF: cr2 %#lx", mm::vcpu0().arch.cr2);
  if (ctx.rbp != 0x1234) fail("user mode got rax %#lx from the iret, expected 0x1234", ctx.rbp);
  print("ok: user #PF error code 0x4 (U/S), cr2 %#lx; iret had set user rax = 0x1234\n", kUserFault);
  ctx.rip() = user_va(user_after_fault);
  step = 2;
}

void on_int80(guest::TrapContext& ctx) {
  if (step != 2) fail("unexpected int $0x80 at %#lx", ctx.rip());
  check_user_frame("int $0x80 from user mode", ctx, user_va(user_int80_ret));
  step = 3;
}

// L4 -> L3 -> L2 -> L1 for VA 0x400000 with the code page (read-only) and the stack page.
std::uint64_t build_user_tables(std::uint64_t code, std::uint64_t stack) {
  std::uint64_t l4 = mm::alloc_frame(), l3 = mm::alloc_frame(), l2 = mm::alloc_frame(),
                l1 = mm::alloc_frame();
  constexpr std::uint64_t table = mm::PTE_P | mm::PTE_RW | mm::PTE_US | mm::PTE_A;
  mm::write_frame(l4, mm::table_index(kUserCode, 4), (l3 << 12) | table);
  mm::write_frame(l3, mm::table_index(kUserCode, 3), (l2 << 12) | table);
  mm::write_frame(l2, mm::table_index(kUserCode, 2), (l1 << 12) | table);
  mm::write_frame(l1, mm::table_index(kUserCode, 1), (code << 12) | mm::PTE_P | mm::PTE_US | mm::PTE_A);
  mm::write_frame(l1, mm::table_index(kUserStack, 1),
                  (stack << 12) | mm::PTE_P | mm::PTE_RW | mm::PTE_US | mm::PTE_A | mm::PTE_D);
  return l4;
}
}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  long rc = guest::set_trap_table({{14, 0}, {0x80, 3}});
  if (rc != 0) fail("set_trap_table: %ld", rc);
  guest::set_trap_handler(guest::kSyscallVector, on_syscall);
  guest::set_trap_handler(14, on_page_fault);
  guest::set_trap_handler(0x80, on_int80);
  rc = guest::register_callbacks();
  if (rc != 0) fail("callback_op(CALLBACKOP_register): %ld", rc);
  print("ok: callback_op register syscall (mask events), event, failsafe = 0\n");
  kernel_sp = guest::use_kernel_stack();
  print("ok: stack_switch(FLAT_KERNEL_SS, %#lx)\n", kernel_sp);

  std::uint64_t code = mm::alloc_frame(), stack = mm::alloc_frame();
  mm::copy_to_frame(code, user_blob, static_cast<std::uint64_t>(user_blob_end - user_blob));
  std::uint64_t user_l4 = build_user_tables(code, stack);
  if ((rc = mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, user_l4)) != 0) fail("pin user L4: %ld", rc);
  if ((rc = mm::mmuext(pv::MMUEXT_NEW_USER_BASEPTR, user_l4)) != 0)
    fail("MMUEXT_NEW_USER_BASEPTR: %ld", rc);
  print("ok: user L4 (mfn %#lx) built, pinned and installed with NEW_USER_BASEPTR\n", user_l4);

  // Events enabled in user mode (IF=1 in the iret frame): nothing is bound, none arrive.
  mm::vcpu0().evtchn_upcall_pending = 0;
  guest::enter_user(kUserCode, kUserStackTop, 0x202);
  if (step != 4) fail("back in the kernel at step %u", step);
  print("ok: back in kernel mode after the final syscall (iret with CS RPL 0)\n");

  // The kernel L4 is live again: the user table can go.
  if ((rc = mm::mmuext(pv::MMUEXT_NEW_USER_BASEPTR, 0)) != 0) fail("NEW_USER_BASEPTR(0): %ld", rc);
  if ((rc = mm::mmuext(pv::MMUEXT_UNPIN_TABLE, user_l4)) != 0) fail("unpin user L4: %ld", rc);
  print("ok: NEW_USER_BASEPTR(0) and unpinning the user L4 = 0\n");
  mm::vcpu0().evtchn_upcall_mask = 1;
}
