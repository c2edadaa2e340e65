// mmu_bad: the PV MMU refusing what would break isolation, each with Xen 4.17's exact errno
// (xen/arch/x86/mm.c), the domain still running afterwards. Writable mappings of page-table
// frames and of Xen's M2P, mappings of frames owned by others, the hypervisor L4 slots and
// addresses, superpages and cache bits in L2 entries, malformed L4s (reserved bit, non-table
// target, writable self-map, a loop of L4s), double pin/unpin, a failing batch, and
// update_va_mapping_otherdomain's owner checks (get_pg_owner: own id or an unknown id -ESRCH;
// DOMID_SELF is the caller; DOMID_IO as owner of a RAM frame -EBUSY).
// Guests boot as dom0 here: dom0 may use cache attributes in L1 entries and map MMIO
// (-EPERM for a domU), so those domU-only refusals are not checked.
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/memory.hpp>
#include <pv/mmu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kData = mm::PTE_P | mm::PTE_RW | mm::PTE_A | mm::PTE_D;
constexpr std::uint64_t kRo = mm::PTE_P | mm::PTE_A;
constexpr std::uint64_t kTable = mm::PTE_P | mm::PTE_RW | mm::PTE_US | mm::PTE_A;

void expect_rc(const char* what, long rc, long expected) {
  if (rc != expected) fail("%s returned %ld, expected %ld", what, rc, expected);
  print("ok: %s = %ld\n", what, rc);
}

// A RAM frame outside our p2m: just below the lowest mfn we own, not ours in the M2P.
std::uint64_t foreign_frame() {
  std::uint64_t lowest = ~0ull;
  for (std::uint64_t pfn = 0; pfn < mm::start().nr_pages; ++pfn)
    if (mm::pfn_to_mfn(pfn) < lowest) lowest = mm::pfn_to_mfn(pfn);
  std::uint64_t m = lowest - 1, pfn = mm::mfn_to_pfn(m);
  if (m < 0x100 || mm::pfn_to_mfn(pfn) == m) fail("no foreign frame below mfn %#lx", lowest);
  print("foreign frame: mfn %#lx (M2P entry %#lx, not ours)\n", m, pfn);
  return m;
}

void writable_mappings(std::uint64_t va, std::uint64_t foreign) {
  std::uint64_t l1 = mm::entry_maddr(va, 1) >> 12;
  expect_rc("update_va_mapping(RW -> own L1 frame)", mm::update_va(va, (l1 << 12) | kData, pv::UVMF_INVLPG), -pv::XEN_EBUSY);
  expect_rc("update_va_mapping(RO -> own L1 frame)", mm::update_va(va, (l1 << 12) | kRo, pv::UVMF_INVLPG), 0);
  expect_rc("mmu_update(L1 entry RW -> the live L4)", mm::mmu_update(mm::entry_maddr(va, 1), (mm::root_mfn() << 12) | kData), -pv::XEN_EBUSY);
  expect_rc("update_va_mapping(RO -> foreign frame)", mm::update_va(va, (foreign << 12) | kRo, pv::UVMF_INVLPG), -pv::XEN_EBUSY);
  expect_rc("mmu_update(ptr inside a foreign frame)", mm::mmu_update(foreign << 12, 0), -pv::XEN_EINVAL);
  std::uint64_t m2p[4] = {};
  pv::xen_machphys_mfn_list list{4, 0, {reinterpret_cast<std::uint64_t>(m2p)}, 0};
  expect_rc("memory_op(XENMEM_machphys_mfn_list)", guest::hypercall<pv::hypercall::memory_op>(pv::XENMEM_machphys_mfn_list, reinterpret_cast<std::uint64_t>(&list)), 0);
  print("   M2P starts at mfn %#lx (%u extents reported)\n", m2p[0], list.nr_extents);
  expect_rc("update_va_mapping(RW -> M2P frame)", mm::update_va(va, (m2p[0] << 12) | kData, pv::UVMF_INVLPG), -pv::XEN_EBUSY);
}

void hypervisor_area() {
  std::uint64_t l4 = mm::root_mfn() << 12;
  std::uint64_t l3 = mm::alloc_frame();
  expect_rc("mmu_update(L4 slot 256, hypervisor)", mm::mmu_update(l4 + 256 * 8, (l3 << 12) | kTable), -pv::XEN_EINVAL);
  expect_rc("mmu_update(L4 slot 271, hypervisor)", mm::mmu_update(l4 + 271 * 8, 0), -pv::XEN_EINVAL);
  expect_rc("update_va_mapping(HYPERVISOR_VIRT_START + 4 KiB)", mm::update_va(0xffff800000001000, 0, 0), -pv::XEN_EINVAL);
  expect_rc("update_va_mapping(0x1000, no L2 there)", mm::update_va(0x1000, 0, 0), -pv::XEN_EINVAL);
}

void bad_l2_entries() {
  std::uint64_t va = mm::kVirtBase + (18u << 20);  // bootstrap L2 slot 9: empty
  if (mm::entry_value(va, 2) & mm::PTE_P) fail("L2 slot for %#lx in use", va);
  std::uint64_t l1 = mm::alloc_frame();
  expect_rc("mmu_update(L2 entry with PSE: superpage)", mm::mmu_update(mm::entry_maddr(va, 2), (l1 << 12) | kTable | mm::PTE_PSE), -pv::XEN_EINVAL);
  expect_rc("mmu_update(L2 entry with PCD)", mm::mmu_update(mm::entry_maddr(va, 2), (l1 << 12) | kTable | mm::PTE_PCD), -pv::XEN_EINVAL);
}

void malformed_l4s(void* rw_page) {
  std::uint64_t l3 = mm::alloc_frame();
  std::uint64_t a = mm::alloc_frame(), b = mm::alloc_frame(), c = mm::alloc_frame(), d = mm::alloc_frame();
  mm::write_frame(a, 0, (l3 << 12) | kTable | mm::PTE_PSE);
  expect_rc("MMUEXT_PIN_L4_TABLE(entry with reserved PSE bit)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, a), -pv::XEN_EINVAL);
  mm::write_frame(b, 0, (mm::virt_to_mfn(rw_page) << 12) | kTable);
  expect_rc("MMUEXT_PIN_L4_TABLE(entry -> writable data page)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, b), -pv::XEN_EINVAL);
  mm::write_frame(c, 0, (c << 12) | kTable);
  expect_rc("MMUEXT_PIN_L4_TABLE(writable self-map)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, c), -pv::XEN_EINVAL);
  mm::write_frame(c, 0, (d << 12) | kRo);
  mm::write_frame(d, 0, (c << 12) | kRo);
  expect_rc("MMUEXT_PIN_L4_TABLE(loop: A[0] -> B, B[0] -> A, read-only)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, c), -pv::XEN_EINVAL);
  expect_rc("MMUEXT_NEW_BASEPTR(writable data page)", mm::mmuext(pv::MMUEXT_NEW_BASEPTR, mm::virt_to_mfn(rw_page)), -pv::XEN_EINVAL);
}

void pin_rules(std::uint64_t va, void* rw_page) {
  std::uint64_t l1 = mm::alloc_frame();
  expect_rc("MMUEXT_PIN_L1_TABLE(fresh frame)", mm::mmuext(pv::MMUEXT_PIN_L1_TABLE, l1), 0);
  expect_rc("MMUEXT_PIN_L1_TABLE(again)", mm::mmuext(pv::MMUEXT_PIN_L1_TABLE, l1), -pv::XEN_EINVAL);
  expect_rc("update_va_mapping(RW -> pinned L1)", mm::update_va(va, (l1 << 12) | kData, pv::UVMF_INVLPG), -pv::XEN_EBUSY);
  expect_rc("MMUEXT_UNPIN_TABLE", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, l1), 0);
  expect_rc("MMUEXT_UNPIN_TABLE(not pinned)", mm::mmuext(pv::MMUEXT_UNPIN_TABLE, l1), -pv::XEN_EINVAL);
  expect_rc("MMUEXT_PIN_L1_TABLE(frame mapped writable)", mm::mmuext(pv::MMUEXT_PIN_L1_TABLE, mm::virt_to_mfn(rw_page)), -pv::XEN_EINVAL);
  expect_rc("MMUEXT_PIN_L4_TABLE(the live, pinned L4)", mm::mmuext(pv::MMUEXT_PIN_L4_TABLE, mm::root_mfn()), -pv::XEN_EINVAL);
  expect_rc("mmuext_op(cmd 14, unassigned)", mm::mmuext(14, 0), -pv::XEN_ENOSYS);
}

// A batch stops at the first failure; success_count says how many were done.
void failing_batch(std::uint64_t va) {
  std::uint64_t data = mm::virt_to_mfn(reinterpret_cast<void*>(va));
  pv::mmu_update reqs[3] = {{mm::entry_maddr(va, 1), (data << 12) | kData},
                            {(mm::root_mfn() << 12) + 260 * 8, 0},
                            {mm::entry_maddr(va, 1), (data << 12) | kRo}};
  unsigned done = 99;
  long rc = guest::hypercall<pv::hypercall::mmu_update>(reinterpret_cast<std::uint64_t>(reqs), 3, reinterpret_cast<std::uint64_t>(&done), pv::DOMID_SELF);
  if (rc != -pv::XEN_EINVAL || done != 1) fail("batch: rc %ld, success_count %u; expected -EINVAL, 1", rc, done);
  print("ok: mmu_update batch [ok, L4 slot 260, ok] = %ld with success_count %u\n", rc, done);
}
// update_va_mapping_otherdomain(va, pte, flags, domid); we are dom0 (domid 0).
long uvm_other(std::uint64_t va, std::uint64_t pte, std::uint32_t domid) {
  return guest::hypercall<pv::hypercall::update_va_mapping_otherdomain>(va, pte, pv::UVMF_INVLPG, domid);
}

void other_domain(std::uint64_t va, std::uint64_t own) {
  expect_rc("update_va_mapping_otherdomain(own domid 0)", uvm_other(va, (own << 12) | kRo, 0), -pv::XEN_ESRCH);
  expect_rc("update_va_mapping_otherdomain(unknown domid 77)", uvm_other(va, (own << 12) | kRo, 77), -pv::XEN_ESRCH);
  expect_rc("update_va_mapping_otherdomain(DOMID_IO, own RAM frame)", uvm_other(va, (own << 12) | kRo, pv::DOMID_IO), -pv::XEN_EBUSY);
  expect_rc("update_va_mapping_otherdomain(DOMID_SELF)", uvm_other(va, (own << 12) | kData, pv::DOMID_SELF), 0);
  *reinterpret_cast<volatile std::uint64_t*>(va) = 2;
}
}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  auto va = reinterpret_cast<std::uint64_t>(mm::alloc_mapped_page());
  void* rw_page = mm::alloc_mapped_page();
  std::uint64_t own = mm::virt_to_mfn(reinterpret_cast<void*>(va));
  writable_mappings(va, foreign_frame());
  hypervisor_area();
  bad_l2_entries();
  malformed_l4s(rw_page);
  expect_rc("update_va_mapping(restore own frame RW)", mm::update_va(va, (own << 12) | kData, pv::UVMF_INVLPG), 0);
  pin_rules(va, rw_page);
  failing_batch(va);
  other_domain(va, own);
  *static_cast<volatile std::uint64_t*>(rw_page) = 1;  // still alive, memory intact
  print("ok: the domain survived every refusal\n");
}
