// gdt: per-CPU GDT/TSS. The TSS gives ring-3 interrupts the per-CPU stack (rsp0) and gives
// NMI, #DF and #MC their own stacks (IST) so a bad guest stack can never be used by ring 0.
#include "gdt.hpp"

#include <cstdint>

#include "layout.hpp"
#include "percpu.hpp"

namespace hv::x86 {
namespace {

constexpr unsigned kGdtBytes = 16 * 4096;  // 14 guest pages + Xen's reserved page + spare

struct [[gnu::packed]] Tss {
  std::uint32_t reserved0;
  std::uint64_t rsp[3];
  std::uint64_t reserved1;
  std::uint64_t ist[7];
  std::uint64_t reserved2;
  std::uint16_t reserved3;
  std::uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

struct [[gnu::packed]] DescriptorPointer {
  std::uint16_t limit;
  std::uint64_t base;
};

struct alignas(4096) CpuTables {
  std::uint64_t gdt[kGdtBytes / 8];
  Tss tss;
  alignas(16) unsigned char ist_stacks[3][4096];  // NMI, #DF, #MC
  // The running guest's LDT: a copy of its descriptor frames (8192 entries at most), refreshed
  // on SET_LDT, update_descriptor of one of its pages and every switch to the vCPU.
  alignas(4096) std::uint64_t ldt[8192];
};
constinit CpuTables cpu_tables[HV_MAX_CPUS];
constinit unsigned guest_pages_loaded[HV_MAX_CPUS] = {};  // guest GDT pages holding a copy
constinit unsigned ldt_entries_loaded[HV_MAX_CPUS] = {};  // entries of the LDT copy in use

void set(std::uint64_t* gdt, unsigned selector, std::uint64_t descriptor) { gdt[selector / 8] = descriptor; }

}  // namespace

void gdt_load_guest(unsigned cpu, const std::uint64_t* const* frames, unsigned nr_frames) {
  std::uint64_t* gdt = cpu_tables[cpu].gdt;
  for (unsigned i = 0; i < nr_frames && i < 14; ++i) __builtin_memcpy(gdt + i * 512, frames[i], 4096);
  for (unsigned i = nr_frames; i < guest_pages_loaded[cpu]; ++i) __builtin_memset(gdt + i * 512, 0, 4096);
  guest_pages_loaded[cpu] = nr_frames;
}

void gdt_load_ldt(unsigned cpu, const std::uint64_t* const* pages, unsigned ents) {
  CpuTables& t = cpu_tables[cpu];
  const unsigned nr_pages = (ents + 511) / 512;
  for (unsigned i = 0; i < nr_pages; ++i) {
    if (pages[i] != nullptr) __builtin_memcpy(t.ldt + i * 512, pages[i], 4096);
    else __builtin_memset(t.ldt + i * 512, 0, 4096);
  }
  // Entries past `ents` of the last page are beyond the limit; clear what an earlier, larger
  // copy left only so a later one never exposes it.
  if (ldt_entries_loaded[cpu] > nr_pages * 512)
    __builtin_memset(t.ldt + nr_pages * 512, 0, (ldt_entries_loaded[cpu] - nr_pages * 512) * 8);
  ldt_entries_loaded[cpu] = nr_pages * 512;
  if (ents == 0) {
    asm volatile("lldt %w0" ::"r"(0) : "memory");
    return;
  }
  auto base = reinterpret_cast<std::uint64_t>(t.ldt);
  std::uint64_t limit = std::uint64_t{ents} * 8 - 1;
  set(t.gdt, HV_SEL_LDT, (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x82ull << 40) |
                             ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56));
  set(t.gdt, HV_SEL_LDT + 8, base >> 32);
  asm volatile("lldt %w0" ::"r"(HV_SEL_LDT) : "memory");
}

void gdt_init(unsigned cpu) {
  CpuTables& t = cpu_tables[cpu];
  std::uint64_t* gdt = t.gdt;
  set(gdt, HV_SEL_CODE64, 0x00AF9A000000FFFF);      // ring 0 code, 64-bit
  set(gdt, HV_SEL_DATA, 0x00CF92000000FFFF);        // ring 0 data
  set(gdt, HV_SEL_RING3_CS32, 0x00CFFA000000FFFF);  // ring 3 code, compatibility mode
  set(gdt, HV_SEL_RING3_DS32, 0x00CFF2000000FFFF);  // ring 3 data (also the 64-bit SS)
  set(gdt, HV_SEL_RING3_CS64, 0x00AFFA000000FFFF);  // ring 3 code, 64-bit

  t.tss.rsp[0] = guest_frame_top(cpu_info_of(cpu));
  for (int i = 0; i < 3; ++i) t.tss.ist[i] = reinterpret_cast<std::uint64_t>(t.ist_stacks[i] + 4096);
  t.tss.iomap_base = sizeof(Tss);  // no I/O bitmap: every port access from ring 3 faults
  auto base = reinterpret_cast<std::uint64_t>(&t.tss);
  std::uint64_t limit = sizeof(Tss) - 1;
  set(gdt, HV_SEL_TSS, (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                           ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56));
  set(gdt, HV_SEL_TSS + 8, base >> 32);

  DescriptorPointer ptr{static_cast<std::uint16_t>(HV_SEL_LDT + 16 - 1), reinterpret_cast<std::uint64_t>(gdt)};
  asm volatile(
      "lgdt %0\n\t"
      "pushq %1\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:\n\t"
      "mov %2, %%ds\n\t"
      "mov %2, %%es\n\t"
      "mov %2, %%ss\n\t"
      "ltr %w3"
      :
      : "m"(ptr), "i"(HV_SEL_CODE64), "r"(static_cast<std::uint32_t>(HV_SEL_DATA)), "r"(HV_SEL_TSS)
      : "rax", "memory");
}

}  // namespace hv::x86
