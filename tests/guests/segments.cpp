// segments: the descriptor-table and debug-register hypercalls as Linux uses them. Builds a
// GDT page with DPL-0 descriptors in a free frame, installs it with set_gdt, reads back
// Xen's DPL fixup through a read-only mapping and loads a data selector from it;
// update_descriptor on a live entry (then loads it) and with a TSS (refused); set_gdt on a
// writable-mapped frame (refused, the old GDT stays); set_segment_base FS read through %fs;
// set/get_debugreg with valid and invalid values.
#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

constexpr std::uint64_t kCode0 = 0x00AF9A000000FFFF;  // flat 64-bit code, DPL 0
constexpr std::uint64_t kData0 = 0x00CF92000000FFFF;  // flat data, DPL 0
constexpr std::uint64_t kDplMask = 3ull << 45;
constexpr std::uint64_t kTss = 0x0000890000000067;
constexpr long kEINVAL = -22, kEPERM = -1, kENODEV = -19;
constexpr unsigned kEntries = 16;

void expect_rc(const char* what, long rc, long expected = 0) {
  if (rc != expected) fail("%s returned %ld, expected %ld", what, rc, expected);
  print("ok: %s = %ld\n", what, rc);
}

long set_gdt(std::uint64_t mfn) {
  static std::uint64_t list[1];
  list[0] = mfn;
  return guest::hypercall<pv::hypercall::set_gdt>(reinterpret_cast<std::uint64_t>(list), kEntries);
}

void load_es(std::uint16_t sel) { asm volatile("mov %0, %%es" ::"r"(static_cast<std::uint32_t>(sel)) : "memory"); }
std::uint16_t read_es() {
  std::uint16_t sel;
  asm volatile("mov %%es, %0" : "=r"(sel));
  return sel;
}

void expect_loadable(std::uint16_t sel) {
  load_es(sel);  // a #GP here (no handler) fails the test
  if (read_es() != sel) fail("%%es reads %#x after loading %#x", read_es(), sel);
  print("ok: loaded selector %#x into %%es\n", sel);
}

void check_entry(const std::uint64_t* gdt, unsigned index, std::uint64_t expected) {
  if (gdt[index] != expected) fail("GDT entry %u reads %#lx, expected %#lx", index, gdt[index], expected);
  print("ok: GDT entry %u reads back %#lx (DPL 3)\n", index, gdt[index]);
}

std::uint64_t gdt_setup() {
  std::uint64_t frame = mm::alloc_frame();
  mm::write_frame(frame, 1, kCode0);
  mm::write_frame(frame, 2, kData0);
  expect_rc("set_gdt(fresh frame, 16 entries)", set_gdt(frame));
  auto* gdt = static_cast<const std::uint64_t*>(mm::map_window(frame, mm::PTE_P | mm::PTE_A));
  if (gdt == nullptr) fail("cannot map the GDT frame read-only");
  check_entry(gdt, 1, kCode0 | kDplMask);
  check_entry(gdt, 2, kData0 | kDplMask);
  expect_loadable(0x13);

  expect_rc("update_descriptor(entry 3, DPL-0 data)",
            guest::hypercall<pv::hypercall::update_descriptor>((frame << 12) + 3 * 8, kData0));
  check_entry(gdt, 3, kData0 | kDplMask);
  expect_loadable(0x1b);
  expect_rc("update_descriptor(entry 4, TSS)",
            guest::hypercall<pv::hypercall::update_descriptor>((frame << 12) + 4 * 8, kTss), kEINVAL);
  expect_rc("update_descriptor(misaligned)",
            guest::hypercall<pv::hypercall::update_descriptor>((frame << 12) + 3 * 8 + 4, kData0), kEINVAL);
  if (gdt[4] != 0) fail("refused update_descriptor wrote %#lx", gdt[4]);
  mm::unmap_window(const_cast<std::uint64_t*>(gdt));
  return frame;
}

void writable_gdt_refused() {
  void* page = mm::alloc_mapped_page();
  __builtin_memset(page, 0, mm::kPageSize);
  expect_rc("set_gdt(writable-mapped frame)", set_gdt(mm::virt_to_mfn(page)), kEINVAL);
  expect_loadable(0x13);  // the old GDT is still in place
}

std::uint64_t fs_target = 0x5e65'6d65'6e74'7321;

void fs_base() {
  asm volatile("mov %0, %%fs" ::"r"(0x13u) : "memory");
  expect_rc("set_segment_base(FS)", guest::hypercall<pv::hypercall::set_segment_base>(
                                        pv::SEGBASE_FS, reinterpret_cast<std::uint64_t>(&fs_target)));
  std::uint64_t v;
  asm volatile("mov %%fs:0, %0" : "=r"(v));
  if (v != fs_target) fail("%%fs:0 reads %#lx, expected %#lx", v, fs_target);
  print("ok: %%fs:0 reads %#lx\n", v);
}

long set_dr(unsigned reg, std::uint64_t v) { return guest::hypercall<pv::hypercall::set_debugreg>(reg, v); }
long get_dr(unsigned reg) { return guest::hypercall<pv::hypercall::get_debugreg>(reg); }

void debug_registers() {
  const auto addr = reinterpret_cast<std::uint64_t>(&fs_target);
  expect_rc("set_debugreg(DR0, guest address)", set_dr(0, addr));
  expect_rc("get_debugreg(DR0)", get_dr(0), static_cast<long>(addr));
  expect_rc("set_debugreg(DR0, hypervisor address)", set_dr(0, 0xffff830000000000), kEPERM);
  expect_rc("set_debugreg(DR1, non-canonical)", set_dr(1, 0x0000800000000000), kEPERM);
  expect_rc("get_debugreg(DR0) after refusals", get_dr(0), static_cast<long>(addr));
  expect_rc("set_debugreg(DR7, L0 on DR0, execute)", set_dr(7, 0x1));
  expect_rc("get_debugreg(DR7)", get_dr(7), 0x401);
  expect_rc("set_debugreg(DR7, GD)", set_dr(7, 0x2000), kEPERM);
  expect_rc("set_debugreg(DR7, upper bits)", set_dr(7, 1ull << 32), kEINVAL);
  expect_rc("set_debugreg(DR7, 0)", set_dr(7, 0));
  expect_rc("get_debugreg(DR7) after clearing", get_dr(7), 0x400);
  expect_rc("set_debugreg(DR6, 0)", set_dr(6, 0));
  expect_rc("get_debugreg(DR6)", get_dr(6), 0xffff0ff0);
  expect_rc("set_debugreg(DR8)", set_dr(8, 0), kENODEV);
  expect_rc("get_debugreg(DR8)", get_dr(8), kENODEV);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  gdt_setup();
  writable_gdt_refused();
  fs_base();
  debug_registers();
  load_es(0);
}
