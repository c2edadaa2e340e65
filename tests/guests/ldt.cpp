// ldt: MMUEXT_SET_LDT as Linux uses it (modify_ldt, Wine): a descriptor frame mapped
// read-only becomes the LDT; its selectors work from the guest (lsl/lar, a segment load);
// while it is the LDT the frame cannot be mapped writable; update_descriptor changes a live
// entry; SET_LDT(0, 0) drops it (the frame may be mapped writable again); bad arguments are
// refused with -EINVAL.
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

namespace {
using guest::fail;
using guest::print;
namespace mm = guest::mm;

// Flat-ish DPL-3 data descriptors (base 0, byte granular) with limits 0xfff and 0x1fff.
constexpr std::uint64_t kData4K = 0x0040F20000000FFF, kData8K = 0x0040F20000001FFF;
constexpr std::uint64_t kData12K = 0x0040F20000002FFF;
constexpr std::uint16_t kSel1 = (1 << 3) | 4 | 3, kSel2 = (2 << 3) | 4 | 3, kSel3 = (3 << 3) | 4 | 3;
constexpr long kEINVAL = -22, kEBUSY = -16;

void expect_rc(const char* what, long rc, long expected = 0) {
  if (rc != expected) fail("%s returned %ld, expected %ld", what, rc, expected);
  print("ok: %s = %ld\n", what, rc);
}

// lsl: the segment limit when the selector names a usable descriptor, else -1.
long limit_of(std::uint16_t sel) {
  std::uint64_t limit = 0;
  std::uint8_t ok = 0;
  asm volatile("lsl %2, %0\n\tsetz %1" : "=r"(limit), "=q"(ok) : "r"(static_cast<std::uint64_t>(sel)) : "cc");
  return ok ? static_cast<long>(limit) : -1;
}

void expect_limit(std::uint16_t sel, long expected) {
  long got = limit_of(sel);
  if (got != expected) fail("lsl %#x gives %ld, expected %ld", sel, got, expected);
  print("ok: lsl %#x = %#lx\n", sel, got);
}

std::uint16_t load_es(std::uint16_t sel) {
  std::uint16_t now;
  asm volatile("mov %1, %%es\n\tmov %%es, %0" : "=r"(now) : "r"(static_cast<std::uint32_t>(sel)) : "memory");
  return now;
}

long set_ldt(std::uint64_t base, std::uint64_t ents) { return mm::mmuext(pv::MMUEXT_SET_LDT, base, ents); }

}  // namespace

void guest_main(const pv::start_info& info) {
  mm::init(info);
  std::uint64_t frame = mm::alloc_frame();
  mm::write_frame(frame, 1, kData4K);
  mm::write_frame(frame, 2, kData8K);
  void* ldt = mm::map_window(frame, mm::PTE_P | mm::PTE_A);
  if (ldt == nullptr) fail("cannot map the LDT frame read-only");
  const auto base = reinterpret_cast<std::uint64_t>(ldt);

  expect_rc("SET_LDT(misaligned base)", set_ldt(base + 8, 3), kEINVAL);
  expect_rc("SET_LDT(8193 entries)", set_ldt(base, 8193), kEINVAL);
  expect_limit(kSel1, -1);  // no LDT yet
  expect_rc("SET_LDT(base, 3)", set_ldt(base, 3));
  expect_limit(kSel1, 0xfff);
  expect_limit(kSel2, 0x1fff);
  expect_limit(kSel3, -1);  // beyond the 3 entries
  if (load_es(kSel2) != kSel2) fail("%%es does not hold the LDT selector");
  load_es(0);
  print("ok: loaded LDT selector %#x into %%es\n", kSel2);

  long rc = 0;
  if (void* w = mm::map_window(frame, mm::PTE_P | mm::PTE_RW | mm::PTE_A, &rc)) {
    mm::unmap_window(w);
    fail("the live LDT frame could be mapped writable");
  }
  if (rc != kEBUSY) fail("writable mapping of the live LDT frame: %ld, expected -EBUSY", rc);
  print("ok: writable mapping of the live LDT frame refused (%ld)\n", rc);

  expect_rc("update_descriptor(entry 1, limit 0x2fff)",
            guest::hypercall<pv::hypercall::update_descriptor>((frame << 12) + 1 * 8, kData12K));
  expect_limit(kSel1, 0x2fff);

  expect_rc("SET_LDT(0, 0)", set_ldt(0, 0));
  expect_limit(kSel1, -1);
  void* w = mm::map_window(frame, mm::PTE_P | mm::PTE_RW | mm::PTE_A, &rc);
  if (w == nullptr) fail("the former LDT frame cannot be mapped writable (%ld)", rc);
  mm::unmap_window(w);
  print("ok: the former LDT frame maps writable again\n");
  mm::unmap_window(ldt);
}
