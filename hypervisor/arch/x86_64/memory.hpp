// memory: the machine's frames after boot. Hands usable RAM (minus the hypervisor image,
// the boot modules, the low 1 MiB and its own metadata) to the buddy allocator.
#pragma once
#include "core/boot_info.hpp"
#include "core/frame_allocator.hpp"

namespace hv::x86 {

void memory_init(const BootInfo& boot);
FrameAllocator& frame_allocator();

// A zeroed frame for hypervisor use (shared_info, ...); panics when memory is exhausted.
Mfn alloc_zeroed_frame();

}  // namespace hv::x86
