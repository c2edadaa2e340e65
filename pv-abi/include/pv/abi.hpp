// Umbrella header: the whole Xen x86-64 PV guest ABI as C++ types and constants (namespace
// pv). Names are Xen's own (structs, fields and constants) so they grep against Xen and
// Linux; every layout is pinned by static_assert next to its struct. The shared-ring
// template lives in ring.hpp and is not pulled in here.
#pragma once

#include "arch_x86_64.hpp"
#include "blkif.hpp"
#include "callback.hpp"
#include "console.hpp"
#include "console_io.hpp"
#include "elfnote.hpp"
#include "errno.hpp"
#include "event_channel.hpp"
#include "grant_table.hpp"
#include "hvm_start_info.hpp"
#include "hypercall.hpp"
#include "memory.hpp"
#include "mmu.hpp"
#include "multicall.hpp"
#include "netif.hpp"
#include "physdev.hpp"
#include "sched.hpp"
#include "shared_info.hpp"
#include "start_info.hpp"
#include "types.hpp"
#include "vcpu.hpp"
#include "vcpu_context.hpp"
#include "version.hpp"
#include "xenbus.hpp"
#include "xenstore.hpp"
