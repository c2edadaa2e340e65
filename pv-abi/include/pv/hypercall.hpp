// Hypercall numbers of the x86-64 PV ABI (xen.h `__HYPERVISOR_*`, which is a reserved
// identifier in C++, hence pv::hypercall::<name>) and a name lookup for log lines.
// A number missing here must be answered with -ENOSYS, never dispatched.
#pragma once

#include <array>
#include <cstddef>

namespace pv::hypercall {

inline constexpr unsigned set_trap_table = 0;    // install virtual IDT entries
inline constexpr unsigned mmu_update = 1;        // batched checked page-table writes
inline constexpr unsigned set_gdt = 2;           // install GDT frames
inline constexpr unsigned stack_switch = 3;      // record kernel_ss/kernel_sp
inline constexpr unsigned set_callbacks = 4;     // legacy; Linux uses callback_op
inline constexpr unsigned fpu_taskswitch = 5;    // set/clear virtual CR0.TS
inline constexpr unsigned sched_op_compat = 6;   // pre-3.0.1 sched_op
inline constexpr unsigned platform_op = 7;       // dom0 platform control
inline constexpr unsigned set_debugreg = 8;
inline constexpr unsigned get_debugreg = 9;
inline constexpr unsigned update_descriptor = 10; // write one GDT/LDT descriptor
// 11 has never been assigned.
inline constexpr unsigned memory_op = 12;        // XENMEM_* sub-ops
inline constexpr unsigned multicall = 13;        // batch of hypercalls
inline constexpr unsigned update_va_mapping = 14;
inline constexpr unsigned set_timer_op = 15;     // one-shot timer, absolute ns
inline constexpr unsigned event_channel_op_compat = 16;
inline constexpr unsigned xen_version = 17;      // XENVER_* sub-ops
inline constexpr unsigned console_io = 18;       // CONSOLEIO_* debug console
inline constexpr unsigned physdev_op_compat = 19;
inline constexpr unsigned grant_table_op = 20;   // GNTTABOP_* sub-ops
inline constexpr unsigned vm_assist = 21;        // VMASST_* enable/disable
inline constexpr unsigned update_va_mapping_otherdomain = 22;
inline constexpr unsigned iret = 23;             // x86 only: return via iret_context
inline constexpr unsigned vcpu_op = 24;          // VCPUOP_* sub-ops
inline constexpr unsigned set_segment_base = 25; // x86-64 only: SEGBASE_*
inline constexpr unsigned mmuext_op = 26;        // MMUEXT_* (pin, baseptr, flush, ...)
inline constexpr unsigned xsm_op = 27;
inline constexpr unsigned nmi_op = 28;
inline constexpr unsigned sched_op = 29;         // SCHEDOP_* sub-ops
inline constexpr unsigned callback_op = 30;      // CALLBACKOP_* sub-ops
inline constexpr unsigned xenoprof_op = 31;      // dropped by Xen 4.22; number stays taken
inline constexpr unsigned event_channel_op = 32; // EVTCHNOP_* sub-ops
inline constexpr unsigned physdev_op = 33;       // PHYSDEVOP_* sub-ops
inline constexpr unsigned hvm_op = 34;
inline constexpr unsigned sysctl = 35;
inline constexpr unsigned domctl = 36;
inline constexpr unsigned kexec_op = 37;
inline constexpr unsigned tmem_op = 38;          // removed from Xen; number reserved
inline constexpr unsigned argo_op = 39;
inline constexpr unsigned xenpmu_op = 40;
inline constexpr unsigned dm_op = 41;
inline constexpr unsigned hypfs_op = 42;
// Architecture-specific range 48..55. On x86 arch_0 is the machine-check hypercall
// (arch-x86/xen-mca.h); arch_1 is used by Xen internally for paging-domctl continuations.
inline constexpr unsigned arch_0 = 48;
inline constexpr unsigned arch_1 = 49;
inline constexpr unsigned arch_2 = 50;
inline constexpr unsigned arch_3 = 51;
inline constexpr unsigned arch_4 = 52;
inline constexpr unsigned arch_5 = 53;
inline constexpr unsigned arch_6 = 54;
inline constexpr unsigned arch_7 = 55;
inline constexpr unsigned mca = arch_0;

// Size of Xen's hypercall table (NR_hypercalls); every number >= this is unknown.
inline constexpr unsigned count = 64;

// Layout of a hypercall page: 128 slots of 32 bytes, slot n = stub for hypercall n.
inline constexpr std::size_t page_slot_bytes = 32;
inline constexpr std::size_t page_slots = 4096 / page_slot_bytes;

namespace detail {
inline constexpr std::array<const char*, count> names = [] {
    std::array<const char*, count> n{};
    n[set_trap_table] = "set_trap_table";
    n[mmu_update] = "mmu_update";
    n[set_gdt] = "set_gdt";
    n[stack_switch] = "stack_switch";
    n[set_callbacks] = "set_callbacks";
    n[fpu_taskswitch] = "fpu_taskswitch";
    n[sched_op_compat] = "sched_op_compat";
    n[platform_op] = "platform_op";
    n[set_debugreg] = "set_debugreg";
    n[get_debugreg] = "get_debugreg";
    n[update_descriptor] = "update_descriptor";
    n[memory_op] = "memory_op";
    n[multicall] = "multicall";
    n[update_va_mapping] = "update_va_mapping";
    n[set_timer_op] = "set_timer_op";
    n[event_channel_op_compat] = "event_channel_op_compat";
    n[xen_version] = "xen_version";
    n[console_io] = "console_io";
    n[physdev_op_compat] = "physdev_op_compat";
    n[grant_table_op] = "grant_table_op";
    n[vm_assist] = "vm_assist";
    n[update_va_mapping_otherdomain] = "update_va_mapping_otherdomain";
    n[iret] = "iret";
    n[vcpu_op] = "vcpu_op";
    n[set_segment_base] = "set_segment_base";
    n[mmuext_op] = "mmuext_op";
    n[xsm_op] = "xsm_op";
    n[nmi_op] = "nmi_op";
    n[sched_op] = "sched_op";
    n[callback_op] = "callback_op";
    n[xenoprof_op] = "xenoprof_op";
    n[event_channel_op] = "event_channel_op";
    n[physdev_op] = "physdev_op";
    n[hvm_op] = "hvm_op";
    n[sysctl] = "sysctl";
    n[domctl] = "domctl";
    n[kexec_op] = "kexec_op";
    n[tmem_op] = "tmem_op";
    n[argo_op] = "argo_op";
    n[xenpmu_op] = "xenpmu_op";
    n[dm_op] = "dm_op";
    n[hypfs_op] = "hypfs_op";
    n[arch_0] = "mca";
    n[arch_1] = "arch_1";
    n[arch_2] = "arch_2";
    n[arch_3] = "arch_3";
    n[arch_4] = "arch_4";
    n[arch_5] = "arch_5";
    n[arch_6] = "arch_6";
    n[arch_7] = "arch_7";
    return n;
}();
}  // namespace detail

// True if Xen assigns `nr` (whether or not our hypervisor implements it).
constexpr bool is_assigned(unsigned nr) { return nr < count && detail::names[nr] != nullptr; }

// Name for logs: "mmu_update", ..., or "unknown" for an unassigned number. Never null.
constexpr const char* name(unsigned nr) { return is_assigned(nr) ? detail::names[nr] : "unknown"; }

}  // namespace pv::hypercall
