// ptwr: writable page tables (VMASST_TYPE_writable_pagetables). With the assist enabled, the
// guest maps one of its own L1 tables read-only and writes entries into it with ordinary
// instructions, as Linux does: a plain 64-bit mov installs a valid entry; a mov of an entry
// that mmu_update would refuse (a writable mapping of a page-table frame) faults to the
// guest's #PF handler and changes nothing; lock cmpxchg succeeds or fails like the real
// instruction (rax, ZF); xchg returns the old entry. The read-modify-write forms Linux's
// PTE helpers compile to are emulated too (Xen runs x86_emulate on any instruction that
// writes memory): clear_bit/set_bit as `lock andb/orb $imm`, test_and_clear_bit as
// `lock btr` (CF = the old bit), `lock bts $imm`, and xadd; an RMW that would make the entry
// a writable mapping of a page table faults like the plain store.
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "traps.hpp"

// The stores under test, at known addresses so the #PF handler can resume after them.
asm(R"(
        .pushsection .text.ptwr, "ax"
        .globl ptwr_store, ptwr_store_resume, ptwr_cmpxchg, ptwr_xchg
        .globl ptwr_clear_rw, ptwr_set_rw, ptwr_set_rw_resume, ptwr_btr, ptwr_bts, ptwr_xadd
ptwr_store:                      /* (u64 *p, u64 v): mov %rsi,(%rdi) as Linux's set_pte */
        movq    %rsi, (%rdi)
ptwr_store_resume:
        ret
ptwr_cmpxchg:                    /* (p, expected, desired) -> rax; ZF in ptwr_zf */
        movq    %rsi, %rax
        lock cmpxchgq %rdx, (%rdi)
        setz    ptwr_zf(%rip)
        ret
ptwr_xchg:                       /* (p, v) -> old */
        xchgq   %rsi, (%rdi)
        movq    %rsi, %rax
        ret
ptwr_clear_rw:                   /* (p): clear_bit(_PAGE_BIT_RW) */
        lock andb $0xfd, (%rdi)
        ret
ptwr_set_rw:                     /* (p): set_bit(_PAGE_BIT_RW) */
        lock orb $0x02, (%rdi)
ptwr_set_rw_resume:
        ret
ptwr_btr:                        /* (p, bit) -> old bit: test_and_clear_bit */
        xorl    %eax, %eax
        lock btrq %rsi, (%rdi)
        setc    %al
        ret
ptwr_bts:                        /* (p) -> old bit 63: lock btsq $63 (NX) */
        xorl    %eax, %eax
        lock btsq $63, (%rdi)
        setc    %al
        ret
ptwr_xadd:                       /* (p, v) -> old */
        lock xaddq %rsi, (%rdi)
        movq    %rsi, %rax
        ret
        .popsection
)");

extern "C" {
void ptwr_store(volatile std::uint64_t* p, std::uint64_t v);
extern char ptwr_store_resume[];
std::uint64_t ptwr_cmpxchg(volatile std::uint64_t* p, std::uint64_t expected, std::uint64_t desired);
std::uint64_t ptwr_xchg(volatile std::uint64_t* p, std::uint64_t v);
std::uint8_t ptwr_zf;
void ptwr_clear_rw(volatile std::uint64_t* p);
void ptwr_set_rw(volatile std::uint64_t* p);
extern char ptwr_set_rw_resume[];
std::uint64_t ptwr_btr(volatile std::uint64_t* p, std::uint64_t bit);
std::uint64_t ptwr_bts(volatile std::uint64_t* p);
std::uint64_t ptwr_xadd(volatile std::uint64_t* p, std::uint64_t v);
}

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kBaseVa = mm::kVirtBase + (20u << 20);  // bootstrap L2 slot 10
constexpr std::uint64_t kData = mm::PTE_P | mm::PTE_RW | mm::PTE_A | mm::PTE_D;
constexpr std::uint64_t kTable = mm::PTE_P | mm::PTE_RW | mm::PTE_US | mm::PTE_A;
constexpr std::uint64_t kGuestKernel = 1ull << 52;  // Xen's _PAGE_GUEST_KERNEL
constexpr std::uint64_t kPattern = 0x5054575254455354;

void expect_rc(const char* what, long rc, long expected = 0) {
  if (rc != expected) fail("%s returned %ld, expected %ld", what, rc, expected);
  print("ok: %s = %ld\n", what, rc);
}

// A fresh L1 hooked at kBaseVa's L2 slot; returns it mapped read-only (the only way a table
// frame may be mapped) at a window.
volatile std::uint64_t* hook_l1(std::uint64_t& l1) {
  l1 = mm::alloc_frame();
  if (mm::entry_value(kBaseVa, 2) & mm::PTE_P) fail("L2 slot for %#lx is already in use", kBaseVa);
  expect_rc("mmu_update(L2 entry -> new L1)", mm::mmu_update(mm::entry_maddr(kBaseVa, 2), (l1 << 12) | kTable));
  long rc = 0;
  auto* t = static_cast<volatile std::uint64_t*>(mm::map_window(l1, mm::PTE_P | mm::PTE_A, &rc));
  if (t == nullptr) fail("cannot map the L1 read-only: %ld", rc);
  print("ok: L1 mfn %#lx mapped read-only at %p\n", l1, const_cast<std::uint64_t*>(t));
  return t;
}

void valid_mov(volatile std::uint64_t* t, std::uint64_t data) {
  const std::uint64_t pte = (data << 12) | kData;
  ptwr_store(&t[1], pte);
  const std::uint64_t e = t[1];
  if (e != (pte | mm::PTE_US | kGuestKernel)) fail("entry 1 reads %#lx after the store", e);
  const auto* page = reinterpret_cast<volatile std::uint64_t*>(kBaseVa + mm::kPageSize);
  if (page[0] != kPattern) fail("the new mapping reads %#lx", page[0]);
  print("ok: mov %%rsi,(%%rdi) into the read-only L1 installed %#lx; the page reads back\n", e);
}

void invalid_mov(volatile std::uint64_t* t, std::uint64_t l1) {
  guest::expect_trap(14, reinterpret_cast<std::uint64_t>(ptwr_store_resume));
  ptwr_store(&t[2], (l1 << 12) | kData);  // a writable mapping of a page table
  const std::uint64_t cr2 = mm::vcpu0().arch.cr2;
  if (guest::trap_count == 0 || guest::last_trap.error != 3 || cr2 != reinterpret_cast<std::uint64_t>(&t[2]))
    fail("RW mapping of the L1 through ptwr: #PF count %u error %#lx cr2 %#lx", guest::trap_count,
         guest::last_trap.error, cr2);
  if (t[2] != 0) fail("refused store left entry 2 = %#lx", t[2]);
  print("ok: storing an RW mapping of the L1 -> #PF error 0x3 at cr2 %#lx, entry unchanged\n", cr2);
}

void cmpxchg_and_xchg(volatile std::uint64_t* t, std::uint64_t data) {
  const std::uint64_t cur = t[1], ro = (data << 12) | mm::PTE_P | mm::PTE_A;
  std::uint64_t rax = ptwr_cmpxchg(&t[1], cur, 0);
  if (!ptwr_zf || rax != cur || t[1] != 0) fail("cmpxchg(cur -> 0): zf %u rax %#lx entry %#lx", ptwr_zf, rax, t[1]);
  print("ok: lock cmpxchg(expected = entry, 0): ZF=1, entry cleared\n");
  rax = ptwr_cmpxchg(&t[1], 0x1234, ro);
  if (ptwr_zf || rax != 0 || t[1] != 0) fail("cmpxchg(stale): zf %u rax %#lx entry %#lx", ptwr_zf, rax, t[1]);
  print("ok: lock cmpxchg(stale expected): ZF=0, rax = observed 0, entry unchanged\n");
  rax = ptwr_cmpxchg(&t[3], 0, ro);
  if (!ptwr_zf || rax != 0 || t[3] != (ro | mm::PTE_US | kGuestKernel))
    fail("cmpxchg(0 -> ro): zf %u rax %#lx entry %#lx", ptwr_zf, rax, t[3]);
  const auto* page = reinterpret_cast<volatile std::uint64_t*>(kBaseVa + 3 * mm::kPageSize);
  if (page[0] != kPattern) fail("the cmpxchg-installed mapping reads %#lx", page[0]);
  print("ok: lock cmpxchg(0, read-only entry) installed %#lx\n", t[3]);
  rax = ptwr_xchg(&t[3], 0);
  if (rax != (ro | mm::PTE_US | kGuestKernel) || t[3] != 0) fail("xchg: old %#lx entry %#lx", rax, t[3]);
  print("ok: xchg(entry, 0) returned the old entry and cleared it\n");
}
// Entry 4 maps the data page writable; entry 5 maps the L1 itself read-only.
void read_modify_writes(volatile std::uint64_t* t, std::uint64_t data, std::uint64_t l1) {
  const std::uint64_t rw = (data << 12) | kData, expect_rw = rw | mm::PTE_US | kGuestKernel;
  ptwr_store(&t[4], rw);
  ptwr_clear_rw(&t[4]);
  if (t[4] != (expect_rw & ~mm::PTE_RW)) fail("lock andb $0xfd: entry %#lx", t[4]);
  print("ok: lock andb $~RW (clear_bit) -> %#lx\n", t[4]);
  ptwr_set_rw(&t[4]);
  if (t[4] != expect_rw) fail("lock orb $RW: entry %#lx", t[4]);
  print("ok: lock orb $RW (set_bit) -> %#lx\n", t[4]);
  std::uint64_t old = ptwr_btr(&t[4], 5);  // accessed, set by kData
  if (old != 1 || t[4] != (expect_rw & ~mm::PTE_A)) fail("lock btr $A: old %lu entry %#lx", old, t[4]);
  old = ptwr_btr(&t[4], 5);
  if (old != 0 || t[4] != (expect_rw & ~mm::PTE_A)) fail("lock btr again: old %lu entry %#lx", old, t[4]);
  print("ok: lock btr (test_and_clear_bit accessed): CF 1 then 0\n");
  old = ptwr_bts(&t[4]);
  if (old != 0 || (t[4] >> 63) != 1) fail("lock bts $63: old %lu entry %#lx", old, t[4]);
  print("ok: lock bts $63 set NX -> %#lx\n", t[4]);
  const std::uint64_t before = t[4];
  old = ptwr_xadd(&t[4], 0);
  if (old != before || t[4] != before) fail("lock xadd 0: old %#lx entry %#lx", old, t[4]);
  print("ok: lock xadd returned the entry\n");
  // set_bit(RW) on an entry mapping the L1 itself: refused, #PF, unchanged.
  ptwr_store(&t[5], (l1 << 12) | mm::PTE_P | mm::PTE_A);
  const std::uint64_t ro = t[5];
  guest::expect_trap(14, reinterpret_cast<std::uint64_t>(ptwr_set_rw_resume));
  const unsigned traps = guest::trap_count;
  ptwr_set_rw(&t[5]);
  if (guest::trap_count != traps + 1 || t[5] != ro) fail("lock orb RW on a table mapping: traps %u entry %#lx", guest::trap_count - traps, t[5]);
  print("ok: lock orb $RW making a page-table mapping writable -> #PF, entry unchanged\n");
  ptwr_store(&t[5], 0);
  ptwr_store(&t[4], 0);
}
}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  if (guest::set_trap_table({{14, 0}}) != 0) fail("set_trap_table failed");
  expect_rc("vm_assist(enable, writable_pagetables)",
            guest::hypercall<pv::hypercall::vm_assist>(pv::VMASST_CMD_enable, pv::VMASST_TYPE_writable_pagetables));
  std::uint64_t l1 = 0, data = mm::alloc_frame();
  mm::write_frame(data, 0, kPattern);
  volatile std::uint64_t* t = hook_l1(l1);
  valid_mov(t, data);
  invalid_mov(t, l1);
  cmpxchg_and_xchg(t, data);
  read_modify_writes(t, data, l1);
}
