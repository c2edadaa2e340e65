// memory: frame allocator set-up. Only the boot direct map (the first 4 GiB) is reachable
// yet, so RAM above it is reported and left unused.
#include "memory.hpp"

#include "core/log.hpp"
#include "core/panic.hpp"
#include "layout.hpp"

extern "C" const char __image_end[];  // linker.ld: virtual end of the image

namespace hv::x86 {
namespace {

constinit FrameAllocator allocator;

constexpr std::uint64_t kPage = 4096;

std::uint64_t round_up(std::uint64_t v, std::uint64_t to) { return (v + to - 1) / to * to; }

bool overlaps(std::uint64_t a, std::uint64_t a_size, std::uint64_t b, std::uint64_t b_size) {
  return a < b + b_size && b < a + a_size;
}

}  // namespace

FrameAllocator& frame_allocator() { return allocator; }

void memory_init(const BootInfo& boot) {
  std::uint64_t top = 0;
  for (const MemoryRange& r : boot.memory.ranges())
    if (r.type == MemoryType::usable && r.end() > top) top = r.end();
  if (top > HV_BOOT_DIRECTMAP_SIZE) {
    HV_WARN(mm, "RAM above 4 GiB (%luMB) is not used yet", (top - HV_BOOT_DIRECTMAP_SIZE) >> 20);
    top = HV_BOOT_DIRECTMAP_SIZE;
  }
  const std::uint64_t nr_frames = top / kPage;

  StaticVector<ReservedRange, BootInfo::kMaxModules + 4> reserved;
  (void)reserved.push_back({0, 0x100000});  // real-mode area, BIOS data, EBDA
  std::uint64_t image_start = HV_KERNEL_PHYS;
  std::uint64_t image_end = reinterpret_cast<std::uint64_t>(__image_end) - HV_KERNEL_VIRT_BASE;
  (void)reserved.push_back({image_start, image_end - image_start});
  for (const BootModule& m : boot.modules) (void)reserved.push_back({m.base, round_up(m.size, kPage)});

  // The allocator's metadata goes in the first usable range that fits and clashes with none.
  std::uint64_t meta_size = round_up(FrameAllocator::metadata_bytes(nr_frames), kPage);
  std::uint64_t meta = 0;
  for (const MemoryRange& r : boot.memory.ranges()) {
    if (r.type != MemoryType::usable) continue;
    for (std::uint64_t at = round_up(r.base, kPage); at + meta_size <= r.end() && at + meta_size <= top; at += kPage) {
      bool clash = false;
      for (const ReservedRange& x : reserved)
        if (overlaps(at, meta_size, x.base, x.size)) { clash = true; at = round_up(x.base + x.size, kPage) - kPage; break; }
      if (!clash) { meta = at; break; }
    }
    if (meta != 0) break;
  }
  if (meta == 0) HV_PANIC("no room for %lu bytes of frame metadata", meta_size);
  (void)reserved.push_back({meta, meta_size});

  auto* slots = static_cast<FrameAllocator::Slot*>(phys_to_virt(meta));
  allocator.init(std::span<FrameAllocator::Slot>(slots, nr_frames));
  std::uint64_t added = allocator.add_usable(boot.memory, std::span<const ReservedRange>(reserved.begin(), reserved.size()));
  HV_INFO(mm, "frame allocator: %lu frames (%luMB) free, metadata at %#lx", added, added >> 8, meta);
}

Mfn alloc_zeroed_frame() {
  Result<Mfn> mfn = allocator.alloc(0);
  if (!mfn) HV_PANIC("out of memory for a hypervisor frame");
  __builtin_memset(phys_to_virt(*mfn << 12), 0, kPage);
  return *mfn;
}

}  // namespace hv::x86
