// boot_domains: the domains the hypervisor builds itself from boot modules: dom0 from module
// 0 (module 1, if it is no `domain` module, is its initrd) and unprivileged "boot-module
// domains" from modules whose command line starts with `domain` (syntax and domids:
// core/boot_domain_config.hpp). One build path serves both kinds.
#pragma once
#include "core/boot_info.hpp"
#include "core/cmdline.hpp"

namespace hv::x86 {

// Builds dom0 and every boot-module domain, then runs dom0; never returns (the machine ends
// when every domain has stopped). A dom0 that cannot be built is fatal, as in Xen ("Could
// not set up DOM0 guest OS"); a boot-module domain that cannot be built is reported by module
// number and field and not started, and the others run.
// Hypervisor option `console_io_domu`: every boot-module domain may write through console_io
// (Xen has no such option for PV domUs; a release Xen returns -EPERM to them).
[[noreturn]] void start_boot_domains(const BootInfo& boot, const Cmdline& cmdline);

// When the machine stops: gives back everything each built domain held, the latest built
// first, each checked that no frame leaked.
void destroy_boot_domains();

}  // namespace hv::x86
