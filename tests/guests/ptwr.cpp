// ptwr: writable page tables (VMASST_TYPE_writable_pagetables). With the assist enabled, the
// guest maps one of its own L1 tables read-only and writes entries into it with ordinary
// instructions, as Linux does: a plain 64-bit mov installs a valid entry; a mov of an entry
// that mmu_update would refuse (a writable mapping of a page-table frame) faults to the
// guest's #PF handler and changes nothing; lock cmpxchg succeeds or fails like the real
// instruction (rax, ZF); xchg returns the old entry.
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
        .popsection
)");

extern "C" {
void ptwr_store(volatile std::uint64_t* p, std::uint64_t v);
extern char ptwr_store_resume[];
std::uint64_t ptwr_cmpxchg(volatile std::uint64_t* p, std::uint64_t expected, std::uint64_t desired);
std::uint64_t ptwr_xchg(volatile std::uint64_t* p, std::uint64_t v);
std::uint8_t ptwr_zf;
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
}
