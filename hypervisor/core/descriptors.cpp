// descriptors: check_descriptor as in Xen 4.17 (pv/descriptor-tables.c), for 64-bit PV only.
// The descriptor is handled as Xen does, as two 32-bit words: `a` (low) and `b` (high).
#include "descriptors.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>

namespace hv {
namespace {

constexpr std::uint32_t kSegType = 15u << 8, kSegS = 1u << 12, kSegDpl = 3u << 13,
                        kSegP = 1u << 15;
constexpr std::uint32_t kTypeCallGate64 = 0xc00;
constexpr unsigned kGuestKernelRpl = 3;  // a 64-bit PV kernel runs in ring 3

// Xen's guest_gate_selector_okay: a guest GDT entry, Xen's flat kernel CS, or any LDT entry.
bool gate_selector_okay(std::uint32_t sel) {
  return (sel >> 3) < kGuestGdtEntries || sel == pv::FLAT_KERNEL_CS || (sel & 4) != 0;
}

}  // namespace

bool check_descriptor(std::uint64_t& desc) {
  std::uint32_t a = static_cast<std::uint32_t>(desc), b = static_cast<std::uint32_t>(desc >> 32);
  if ((b & kSegP) == 0) return true;  // a not-present descriptor always faults: safe

  std::uint32_t dpl = (b >> 13) & 3;
  if (dpl < kGuestKernelRpl) dpl = kGuestKernelRpl;  // __fixup_guest_selector
  b = (b & ~kSegDpl) | (dpl << 13);

  if ((b & kSegS) == 0) {  // system descriptor
    if ((b & kSegType) == 0) return true;  // type 0: second half of a gate; left unchanged
    if ((b & kSegType) != kTypeCallGate64) return false;
    std::uint32_t cs = a >> 16;
    if (!gate_selector_okay(cs)) return false;
    // DPL 0: using the gate raises #GP for emulation; the guest's DPL rides in the RPL.
    b &= ~kSegDpl;
    cs = (cs & ~3u) | dpl;
    a = (a & 0xffffu) | (cs << 16);
    if ((b & 0xff) != 0) return false;  // reserved bits of a 64-bit gate
  }
  // Code and data segments: no base/limit checks in 64-bit mode.
  desc = (std::uint64_t{b} << 32) | a;
  return true;
}

Status check_segdesc_page(std::uint64_t* descriptors) {
  for (unsigned i = 0; i < 512; ++i)
    if (!check_descriptor(descriptors[i])) return Status::error(-pv::XEN_EINVAL);
  return kOk;
}

void destroy_gdt(PvCpuState& pv, FrameTable& frames) {
  const unsigned nr_frames = (pv.gdt_ents + 511) / 512;
  for (unsigned i = 0; i < nr_frames; ++i) frames.put_page_and_type(pv.gdt_frames[i]);
  for (std::uint64_t& f : pv.gdt_frames) f = 0;
  pv.gdt_ents = 0;
}

}  // namespace hv
