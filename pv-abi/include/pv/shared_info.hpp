// The shared_info page (xen.h + arch-x86 parts, x86-64): per-vCPU event/time records, the
// 2-level event bitmaps and the wall clock. The guest writes it concurrently with us, so the
// hypervisor only touches its words atomically and follows the version (seqlock) protocols.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

// vcpu_info slots in shared_info; later vCPUs need VCPUOP_register_vcpu_info.
inline constexpr unsigned XEN_LEGACY_MAX_VCPUS = 32;

// vcpu_time_info.flags
inline constexpr std::uint8_t XEN_PVCLOCK_TSC_STABLE_BIT = 1u << 0; // TSC invariant & synced
inline constexpr std::uint8_t XEN_PVCLOCK_GUEST_STOPPED = 1u << 1;  // guest was paused

// pvclock record. Writer: version++ (odd), wmb, fields, wmb, version++ (even). Guest time:
// system_time + (((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul >> 32)
// (a negative tsc_shift shifts right).
struct vcpu_time_info {
    std::uint32_t version;           // odd while being updated
    std::uint32_t pad0;
    std::uint64_t tsc_timestamp;     // TSC when system_time was sampled
    std::uint64_t system_time;       // ns since hypervisor boot
    std::uint32_t tsc_to_system_mul; // 32.32 fixed-point TSC-tick -> ns multiplier
    std::int8_t tsc_shift;
    std::uint8_t flags;              // XEN_PVCLOCK_*
    std::uint8_t pad1[2];
};
static_assert(sizeof(vcpu_time_info) == 32 && alignof(vcpu_time_info) == 8);
static_assert(offsetof(vcpu_time_info, version) == 0);
static_assert(offsetof(vcpu_time_info, tsc_timestamp) == 8);
static_assert(offsetof(vcpu_time_info, system_time) == 16);
static_assert(offsetof(vcpu_time_info, tsc_to_system_mul) == 24);
static_assert(offsetof(vcpu_time_info, tsc_shift) == 28);
static_assert(offsetof(vcpu_time_info, flags) == 29);
static_assert(offsetof(vcpu_time_info, pad1) == 30);

// x86-64 part of vcpu_info (arch-x86/xen-x86_64.h).
struct arch_vcpu_info {
    std::uint64_t cr2; // faulting address of the last #PF bounced to this vCPU
    std::uint64_t pad; // keeps vcpu_info at 64 bytes
};
static_assert(sizeof(arch_vcpu_info) == 16 && offsetof(arch_vcpu_info, pad) == 8);

struct vcpu_info {
    // Set by the hypervisor when an event is pending for this vCPU; cleared by the guest
    // before it scans the selector, so a set-and-check race cannot lose an event.
    std::uint8_t evtchn_upcall_pending;
    // The guest's virtual "interrupts disabled" flag: non-zero = no upcall will be made.
    std::uint8_t evtchn_upcall_mask;
    std::uint8_t pad0[6];              // (implicit in Xen)
    xen_ulong_t evtchn_pending_sel;    // bit w: word w of evtchn_pending may have news
    arch_vcpu_info arch;
    vcpu_time_info time;
};
static_assert(sizeof(vcpu_info) == 64 && alignof(vcpu_info) == 8);
static_assert(offsetof(vcpu_info, evtchn_upcall_pending) == 0);
static_assert(offsetof(vcpu_info, evtchn_upcall_mask) == 1);
static_assert(offsetof(vcpu_info, evtchn_pending_sel) == 8);
static_assert(offsetof(vcpu_info, arch) == 16);
static_assert(offsetof(vcpu_info, time) == 32);

// x86-64 part of shared_info (arch-x86/xen.h). Written by the guest for tools
// (save/restore, dump); the hypervisor only stores it.
struct arch_shared_info {
    std::uint64_t max_pfn;                  // valid entries in the p2m
    xen_pfn_t pfn_to_mfn_frame_list_list;   // MFN of the 3-level p2m tree root (0/~0: none)
    std::uint64_t nmi_reason;
    std::uint64_t p2m_cr3;                  // cr3 of the space p2m_vaddr lives in (0: none)
    std::uint64_t p2m_vaddr;                // VA of the linear p2m list
    std::uint64_t p2m_generation;           // odd while the guest remaps the p2m
};
static_assert(sizeof(arch_shared_info) == 48);
static_assert(offsetof(arch_shared_info, pfn_to_mfn_frame_list_list) == 8);
static_assert(offsetof(arch_shared_info, nmi_reason) == 16);
static_assert(offsetof(arch_shared_info, p2m_cr3) == 24);
static_assert(offsetof(arch_shared_info, p2m_vaddr) == 32);
static_assert(offsetof(arch_shared_info, p2m_generation) == 40);

struct shared_info {
    ::pv::vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    // 2-level event channels: port p is bit p%64 of word p/64. The hypervisor sets pending
    // bits; the guest clears them and owns the mask bits (EVTCHNOP_unmask aside).
    xen_ulong_t evtchn_pending[sizeof(xen_ulong_t) * 8];
    xen_ulong_t evtchn_mask[sizeof(xen_ulong_t) * 8];
    // Wall clock (UTC at system_time 0); same odd/even protocol on wc_version.
    std::uint32_t wc_version;
    std::uint32_t wc_sec;    // low 32 bits of seconds
    std::uint32_t wc_nsec;
    std::uint32_t wc_sec_hi; // high 32 bits of seconds (not on 32-bit x86)
    arch_shared_info arch;
};
static_assert(sizeof(shared_info) == 3136 && sizeof(shared_info) <= PAGE_SIZE);
static_assert(offsetof(shared_info, vcpu_info) == 0);
static_assert(offsetof(shared_info, evtchn_pending) == 2048);
static_assert(offsetof(shared_info, evtchn_mask) == 2560);
static_assert(offsetof(shared_info, wc_version) == 3072);
static_assert(offsetof(shared_info, wc_sec) == 3076);
static_assert(offsetof(shared_info, wc_nsec) == 3080);
static_assert(offsetof(shared_info, wc_sec_hi) == 3084);
static_assert(offsetof(shared_info, arch) == 3088);

}  // namespace pv
