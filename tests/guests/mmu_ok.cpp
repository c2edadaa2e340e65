// mmu_ok: the PV MMU hypercalls doing what Linux relies on. Hooks a new L1 into the
// bootstrap L2 with mmu_update and maps a free frame through it; reads the entry back
// (Xen's adjustments); remaps it read-only with update_va_mapping(UVMF_INVLPG) and checks
// that a write faults; MMU_PT_UPDATE_PRESERVE_AD; pins and unpins L1, L2 and L3 tables;
// switches to a copy of the L4 with MMUEXT_NEW_BASEPTR and back; the TLB flush ops;
// MMU_MACHPHYS_UPDATE; a multicall of update_va_mapping.
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/multicall.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "probe.h"
#include "traps.hpp"

DECLARE_PROBE(probe_write_new);
DECLARE_PROBE(probe_read_new);
DECLARE_PROBE(probe_read_low);

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kNewVa = mm::kVirtBase + (16u << 20);  // mmu_ok_probes.S
constexpr std::uint64_t kLowVa = 0x3000;
constexpr std::uint64_t kData = mm::PTE_P | mm::PTE_RW | mm::PTE_A | mm::PTE_D;
constexpr std::uint64_t kTable = mm::PTE_P | mm::PTE_RW | mm::PTE_US | mm::PTE_A;
constexpr std::uint64_t kGuestKernel = 1ull << 52;  // Xen's _PAGE_GUEST_KERNEL
constexpr std::uint64_t kGlobal = 1u << 8;

void expect_rc(const char* what, long rc, long expected = 0) {
  if (rc != expected) fail("%s returned %ld, expected %ld", what, rc, expected);
  print("ok: %s = %ld\n", what, rc);
}

std::uint64_t read_entry(std::uint64_t table_mfn, unsigned index) {
  auto* t = static_cast<const std::uint64_t*>(mm::map_window(table_mfn, mm::PTE_P | mm::PTE_A));
  if (t == nullptr) fail("cannot map table mfn %#lx read-only", table_mfn);
  std::uint64_t e = t[index];
  mm::unmap_window(const_cast<std::uint64_t*>(t));
  return e;
}

// A new L1 hooked at L2 slot 8 with mmu_update, a free frame mapped through it.
std::uint64_t map_new_page(std::uint64_t& l1) {
  l1 = mm::alloc_frame();
  std::uint64_t data = mm::alloc_frame();
  if (mm::entry_value(kNewVa, 2) & mm::PTE_P) fail("L2 slot for %#lx is already in use", kNewVa);
  expect_rc("mmu_update(L2 entry -> new L1)", mm::mmu_update(mm::entry_maddr(kNewVa, 2), (l1 << 12) | kTable));
  std::uint64_t pte_maddr = (l1 << 12) + mm::table_index(kNewVa, 1) * 8;
  expect_rc("mmu_update(L1 entry -> free frame, RW)", mm::mmu_update(pte_maddr, (data << 12) | kData));
  probe_write_new();  // writes probe_pattern(0)
  probe_read_new();
  if (probe_after[0] != guest::probe_pattern(0)) fail("read back %#lx through the new mapping", probe_after[0]);
  print("ok: wrote and read %#lx at %#lx\n", probe_after[0], kNewVa);
  // A kernel mapping (US clear) is stored with US and Xen's guest-kernel bit 52 added.
  std::uint64_t e = read_entry(l1, mm::table_index(kNewVa, 1));
  if (e != ((data << 12) | kData | mm::PTE_US | kGuestKernel))
    fail("L1 entry reads back %#lx, expected %#lx", e, (data << 12) | kData | mm::PTE_US | kGuestKernel);
  print("ok: L1 entry reads back %#lx (US and bit 52 added by Xen)\n", e);
  return data;
}

void read_only_remap(std::uint64_t l1, std::uint64_t data) {
  expect_rc("update_va_mapping(read-only, UVMF_INVLPG)",
            mm::update_va(kNewVa, (data << 12) | mm::PTE_P | mm::PTE_A, pv::UVMF_INVLPG));
  probe_read_new();
  if (probe_after[0] != guest::probe_pattern(0)) fail("read-only mapping reads %#lx", probe_after[0]);
  guest::expect_trap(14, reinterpret_cast<std::uint64_t>(probe_write_new_resume));
  probe_write_new();
  if (guest::last_trap.error != 3 || mm::vcpu0().arch.cr2 != kNewVa)
    fail("write to read-only page: #PF error %#lx cr2 %#lx, expected 0x3 at %#lx",
         guest::last_trap.error, mm::vcpu0().arch.cr2, kNewVa);
  print("ok: write to the read-only mapping -> #PF error 0x3, cr2 %#lx\n", kNewVa);
  // PRESERVE_AD keeps the A/D bits already in the entry.
  std::uint64_t pte_maddr = (l1 << 12) + mm::table_index(kNewVa, 1) * 8;
  expect_rc("mmu_update(PRESERVE_AD, RW without A/D)",
            mm::mmu_update(pte_maddr | pv::MMU_PT_UPDATE_PRESERVE_AD, (data << 12) | mm::PTE_P | mm::PTE_RW));
  std::uint64_t e = read_entry(l1, mm::table_index(kNewVa, 1));
  if ((e & (mm::PTE_A | mm::PTE_RW)) != (mm::PTE_A | mm::PTE_RW)) fail("PRESERVE_AD entry %#lx lost A or RW", e);
  print("ok: PRESERVE_AD entry reads back %#lx (A kept)\n", e);
}

void pin_levels(std::uint64_t data) {
  std::uint64_t l1 = mm::alloc_frame(), l2 = mm::alloc_frame(), l3 = mm::alloc_frame();
  mm::write_frame(l1, 0, (data << 12) | mm::PTE_P | mm::PTE_A);
  mm::write_frame(l2, 0, (l1 << 12) | kTable);
  mm::write_frame(l3, 0, (l2 << 12) | kTable);
  expect_rc("MMUEXT_PIN_L1_TABLE", mm::mmuext(pv::MMUEXT_PIN_L1_TABLE, l1));
  expect_rc("MMUEXT_PIN_L2_TABLE (over the pinned L1)", mm::mmuext(pv::MMUEXT_PIN_L2_TABLE, l2));
  expect_rc("MMUEXT_PIN_L3_TABLE (over the pinned L2)", mm::mmuext(pv::MMUEXT_PIN_L3_TABLE, l3));
  std::uint64_t e = read_entry(l3, 0);
  if (e != ((l2 << 12) | kTable)) fail("pinned L3 entry 0 reads %#lx", e);
  print("ok: pinned L3 maps read-only, entry 0 = %#lx (as written)\n", e);
  expect_rc("MMUEXT_UNPIN_TABLE L3", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, l3));
  expect_rc("MMUEXT_UNPIN_TABLE L2", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, l2));
  expect_rc("MMUEXT_UNPIN_TABLE L1", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, l1));
  // Unpinned and unreferenced, the frames are ordinary pages again: writable mappings work.
  mm::write_frame(l3, 0, 0);
  print("ok: unpinned table frame maps writable again\n");
}

void switch_root(std::uint64_t data) {
  std::uint64_t orig = mm::root_mfn(), copy = mm::alloc_frame();
  std::uint64_t l3 = mm::alloc_frame(), l2 = mm::alloc_frame(), l1 = mm::alloc_frame();
  mm::write_frame(l1, mm::table_index(kLowVa, 1), (data << 12) | mm::PTE_P | mm::PTE_A);
  mm::write_frame(l2, 0, (l1 << 12) | kTable);
  mm::write_frame(l3, 0, (l2 << 12) | kTable);
  mm::copy_to_frame(copy, reinterpret_cast<const void*>(mm::start().pt_base), mm::kPageSize);
  mm::write_frame(copy, 0, (l3 << 12) | kTable);  // only the copy maps VA 0x3000
  expect_rc("MMUEXT_PIN_L4_TABLE (copy of the L4 + slot 0)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, copy));
  expect_rc("MMUEXT_NEW_BASEPTR(copy)", mm::mmuext(pv::MMUEXT_NEW_BASEPTR, copy));
  probe_read_low();
  if (probe_after[0] != guest::probe_pattern(0)) fail("VA %#lx under the copy reads %#lx", kLowVa, probe_after[0]);
  print("ok: running on the copy: VA %#lx maps the data page\n", kLowVa);
  expect_rc("MMUEXT_NEW_BASEPTR(original)", mm::mmuext(pv::MMUEXT_NEW_BASEPTR, orig));
  guest::expect_trap(14, reinterpret_cast<std::uint64_t>(probe_read_low_resume));
  probe_read_low();
  if (guest::last_trap.vector != 14 || mm::vcpu0().arch.cr2 != kLowVa) fail("VA %#lx still mapped", kLowVa);
  print("ok: back on the original L4: VA %#lx faults\n", kLowVa);
  expect_rc("MMUEXT_UNPIN_TABLE(copy)", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, copy));
}

void flushes() {
  std::uint64_t vcpus = 1;
  expect_rc("MMUEXT_TLB_FLUSH_LOCAL", mm::mmuext(pv::MMUEXT_TLB_FLUSH_LOCAL, 0));
  expect_rc("MMUEXT_INVLPG_LOCAL", mm::mmuext(pv::MMUEXT_INVLPG_LOCAL, kNewVa));
  expect_rc("MMUEXT_TLB_FLUSH_MULTI {vcpu0}", mm::mmuext(pv::MMUEXT_TLB_FLUSH_MULTI, 0, reinterpret_cast<std::uint64_t>(&vcpus)));
  expect_rc("MMUEXT_INVLPG_MULTI {vcpu0}", mm::mmuext(pv::MMUEXT_INVLPG_MULTI, kNewVa, reinterpret_cast<std::uint64_t>(&vcpus)));
  expect_rc("MMUEXT_TLB_FLUSH_ALL", mm::mmuext(pv::MMUEXT_TLB_FLUSH_ALL, 0));
  expect_rc("MMUEXT_INVLPG_ALL", mm::mmuext(pv::MMUEXT_INVLPG_ALL, kNewVa));
}

void machphys(std::uint64_t data) {
  std::uint64_t pfn = mm::mfn_to_pfn(data);
  expect_rc("MMU_MACHPHYS_UPDATE(m2p[data] = 0x12345)", mm::mmu_update((data << 12) | pv::MMU_MACHPHYS_UPDATE, 0x12345));
  if (mm::mfn_to_pfn(data) != 0x12345) fail("M2P reads %#lx after the update", mm::mfn_to_pfn(data));
  expect_rc("MMU_MACHPHYS_UPDATE(restore)", mm::mmu_update((data << 12) | pv::MMU_MACHPHYS_UPDATE, pfn));
  if (mm::mfn_to_pfn(data) != pfn) fail("M2P reads %#lx after the restore", mm::mfn_to_pfn(data));
  print("ok: the read-only M2P mapping shows both updates\n");
}

void multicall(std::uint64_t data) {
  pv::multicall_entry calls[3] = {};
  std::uint64_t* pages[3];
  for (unsigned i = 0; i < 3; ++i) {
    pages[i] = static_cast<std::uint64_t*>(mm::alloc_mapped_page());
    calls[i].op = pv::hypercall::update_va_mapping;
    calls[i].result = 0xdead;
    calls[i].args[0] = reinterpret_cast<std::uint64_t>(pages[i]);
    calls[i].args[1] = (data << 12) | kData;
    calls[i].args[2] = pv::UVMF_INVLPG;
  }
  expect_rc("multicall(3 x update_va_mapping)", guest::hypercall<pv::hypercall::multicall>(reinterpret_cast<std::uint64_t>(calls), 3));
  for (unsigned i = 0; i < 3; ++i)
    if (calls[i].result != 0 || pages[i][0] != guest::probe_pattern(0))
      fail("multicall entry %u: result %ld, page reads %#lx", i, static_cast<long>(calls[i].result), pages[i][0]);
  print("ok: every entry's result is 0 and all three VAs map the data frame\n");
}
}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  if (guest::set_trap_table({{14, 0}}) != 0) fail("set_trap_table failed");
  std::uint64_t l1 = 0;
  std::uint64_t data = map_new_page(l1);
  read_only_remap(l1, data);
  pin_levels(data);
  switch_root(data);
  flushes();
  machphys(data);
  multicall(data);
}
