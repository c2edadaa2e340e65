// dom0: building the initial domain from boot module 0 (its kernel; module 1, if present,
// is its initrd) with the portable domain builder, and starting it.
#pragma once
#include "core/boot_info.hpp"
#include "core/cmdline.hpp"

namespace hv::x86 {

// Builds dom0 and runs it; never returns (the machine ends when every domain has stopped).
// A dom0 that cannot be built is fatal, as in Xen ("Could not set up DOM0 guest OS").
[[noreturn]] void start_dom0(const BootInfo& boot, const Cmdline& cmdline);

// After dom0 has shut down: gives back everything it held (checked: no frame may leak).
void destroy_dom0();

}  // namespace hv::x86
