// m2p: a physically contiguous table (one buddy block), reached read-write through the
// direct map and mapped read-only for guests with 4 KiB pages under one L3 in slot 256.
#include "m2p.hpp"

#include <pv/arch_x86_64.hpp>

#include "core/log.hpp"
#include "core/panic.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "memory.hpp"
#include "msr.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kP = 1, kRW = 2, kUser = 4, kNX = 1ull << 63;

struct M2PState {
  std::uint64_t* table = nullptr;
  std::uint64_t entries = 0;
  Mfn first = 0;
  std::uint64_t frames = 0;
  std::uint64_t l4e = 0;
};
constinit M2PState m2p;

std::uint64_t* frame_ptr(Mfn mfn) { return static_cast<std::uint64_t*>(phys_to_virt(mfn << 12)); }

}  // namespace

void m2p_init(FrameAllocator& frames) {
  m2p.entries = frames.covered_frames();
  m2p.frames = (m2p.entries * 8 + 4095) / 4096;
  unsigned order = 0;
  while ((std::uint64_t{1} << order) < m2p.frames) ++order;
  Result<Mfn> block = frames.alloc(order);
  if (!block) HV_PANIC("no memory for the M2P table (%lu frames)", m2p.frames);
  m2p.first = *block;
  m2p.table = frame_ptr(m2p.first);
  for (std::uint64_t i = 0; i < m2p.entries; ++i) m2p.table[i] = kInvalidM2P;

  // Read-only user mapping: L3 -> L2s -> L1s. Up to 512 GiB of M2P fits one L3.
  const std::uint64_t nx = (rdmsr(MSR_EFER) & (1u << 11)) ? kNX : 0;
  const std::uint64_t l1_count = (m2p.frames + 511) / 512, l2_count = (l1_count + 511) / 512;
  if (l2_count > 512) HV_PANIC("M2P larger than one L3 can map");
  Mfn l3 = alloc_zeroed_frame();
  for (std::uint64_t l2i = 0; l2i < l2_count; ++l2i) {
    Mfn l2 = alloc_zeroed_frame();
    frame_ptr(l3)[l2i] = (l2 << 12) | kP | kRW | kUser;
    for (std::uint64_t l1i = 0; l1i < 512 && l2i * 512 + l1i < l1_count; ++l1i) {
      Mfn l1 = alloc_zeroed_frame();
      frame_ptr(l2)[l1i] = (l1 << 12) | kP | kRW | kUser;
      for (std::uint64_t e = 0; e < 512; ++e) {
        std::uint64_t page = (l2i * 512 + l1i) * 512 + e;
        if (page >= m2p.frames) break;
        frame_ptr(l1)[e] = ((m2p.first + page) << 12) | kP | kUser | nx;  // read-only
      }
    }
  }
  m2p.l4e = (l3 << 12) | kP | kRW | kUser;
  auto* live = static_cast<std::uint64_t*>(phys_to_virt(read_cr3() & ~0xFFFull));
  live[(pv::MACH2PHYS_VIRT_START >> 39) & 511] = m2p.l4e;
  HV_INFO(mm, "M2P: %lu entries in %lu frames at mfn %#lx, read-only at %#lx", m2p.entries,
          m2p.frames, m2p.first, pv::MACH2PHYS_VIRT_START);
}

void m2p_set(Mfn mfn, std::uint64_t pfn) {
  if (mfn < m2p.entries) m2p.table[mfn] = pfn;
}

std::uint64_t m2p_get(Mfn mfn) { return mfn < m2p.entries ? m2p.table[mfn] : kInvalidM2P; }
std::uint64_t m2p_entries() { return m2p.entries; }
std::uint64_t m2p_l4_entry() { return m2p.l4e; }
Mfn m2p_first_mfn() { return m2p.first; }
std::uint64_t m2p_frames() { return m2p.frames; }

}  // namespace hv::x86
