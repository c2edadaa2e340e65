// PV memory-management ABI (xen.h): mmu_update, mmuext_op, update_va_mapping flags and
// vm_assist types. Every request carries guest-chosen machine addresses: each must be
// validated against frame ownership and page types before anything is written.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

// mmu_update.ptr low 2 bits select the command; the rest is an 8-byte-aligned machine address.
inline constexpr std::uint64_t MMU_NORMAL_PT_UPDATE = 0;       // checked *ptr = val
inline constexpr std::uint64_t MMU_MACHPHYS_UPDATE = 1;        // M2P[ptr >> 12] = val
inline constexpr std::uint64_t MMU_PT_UPDATE_PRESERVE_AD = 2;  // *ptr = val | (*ptr & (A|D))
inline constexpr std::uint64_t MMU_PT_UPDATE_NO_TRANSLATE = 3; // translated guests only

struct mmu_update {
    std::uint64_t ptr; // machine address of the entry | MMU_* command
    std::uint64_t val; // new entry contents (or pfn for MMU_MACHPHYS_UPDATE)
};
static_assert(sizeof(mmu_update) == 16 && offsetof(mmu_update, val) == 8);

// mmuext_op.cmd
inline constexpr unsigned MMUEXT_PIN_L1_TABLE = 0;      // arg1.mfn: validate as L1, pin
inline constexpr unsigned MMUEXT_PIN_L2_TABLE = 1;
inline constexpr unsigned MMUEXT_PIN_L3_TABLE = 2;
inline constexpr unsigned MMUEXT_PIN_L4_TABLE = 3;
inline constexpr unsigned MMUEXT_UNPIN_TABLE = 4;       // arg1.mfn: drop the pin reference
inline constexpr unsigned MMUEXT_NEW_BASEPTR = 5;       // arg1.mfn: new kernel L4
inline constexpr unsigned MMUEXT_TLB_FLUSH_LOCAL = 6;
inline constexpr unsigned MMUEXT_INVLPG_LOCAL = 7;      // arg1.linear_addr
inline constexpr unsigned MMUEXT_TLB_FLUSH_MULTI = 8;   // arg2.vcpumask
inline constexpr unsigned MMUEXT_INVLPG_MULTI = 9;      // arg1.linear_addr, arg2.vcpumask
inline constexpr unsigned MMUEXT_TLB_FLUSH_ALL = 10;
inline constexpr unsigned MMUEXT_INVLPG_ALL = 11;       // arg1.linear_addr
inline constexpr unsigned MMUEXT_FLUSH_CACHE = 12;      // privileged wbinvd
inline constexpr unsigned MMUEXT_SET_LDT = 13;          // arg1.linear_addr, arg2.nr_ents
// 14 is unassigned.
inline constexpr unsigned MMUEXT_NEW_USER_BASEPTR = 15; // arg1.mfn: user L4 (0 = none)
inline constexpr unsigned MMUEXT_CLEAR_PAGE = 16;       // arg1.mfn
inline constexpr unsigned MMUEXT_COPY_PAGE = 17;        // arg1.mfn, arg2.src_mfn
inline constexpr unsigned MMUEXT_FLUSH_CACHE_GLOBAL = 18;
inline constexpr unsigned MMUEXT_MARK_SUPER = 19;       // obsolete superpage support
inline constexpr unsigned MMUEXT_UNMARK_SUPER = 20;

struct mmuext_op {
    std::uint32_t cmd; // MMUEXT_*
    std::uint32_t pad; // (implicit in Xen)
    union {
        xen_pfn_t mfn;             // pin/unpin, baseptrs, clear/copy page
        std::uint64_t linear_addr; // invlpg, set_ldt
    } arg1;
    union {
        std::uint32_t nr_ents;                  // set_ldt
        guest_handle<const void> vcpumask;      // *_MULTI: guest VA of an unsigned long bitmap
        xen_pfn_t src_mfn;                      // copy_page
    } arg2;
};
static_assert(sizeof(mmuext_op) == 24 && alignof(mmuext_op) == 8);
static_assert(offsetof(mmuext_op, arg1) == 8 && offsetof(mmuext_op, arg2) == 16);

// update_va_mapping(va, pte, flags): low 2 bits = flush type, bit 2 = scope. UVMF_MULTI is
// a guest pointer to a vCPU bitmap OR-ed into flags (it is 8-byte aligned).
inline constexpr std::uint64_t UVMF_NONE = 0;
inline constexpr std::uint64_t UVMF_TLB_FLUSH = 1;
inline constexpr std::uint64_t UVMF_INVLPG = 2;
inline constexpr std::uint64_t UVMF_FLUSHTYPE_MASK = 3;
inline constexpr std::uint64_t UVMF_MULTI = 0;
inline constexpr std::uint64_t UVMF_LOCAL = 0;
inline constexpr std::uint64_t UVMF_ALL = 1u << 2;

// vm_assist(cmd, type)
inline constexpr unsigned VMASST_CMD_enable = 0;
inline constexpr unsigned VMASST_CMD_disable = 1;
inline constexpr unsigned VMASST_TYPE_4gb_segments = 0;        // x86-32 only
inline constexpr unsigned VMASST_TYPE_4gb_segments_notify = 1; // x86-32 only
inline constexpr unsigned VMASST_TYPE_writable_pagetables = 2; // trap-and-emulate PTE writes
inline constexpr unsigned VMASST_TYPE_pae_extended_cr3 = 3;
inline constexpr unsigned VMASST_TYPE_architectural_iopl = 4;  // virtual IOPL in rflags
inline constexpr unsigned VMASST_TYPE_runstate_update_flag = 5; // XEN_RUNSTATE_UPDATE bit
inline constexpr unsigned VMASST_TYPE_m2p_strict = 32;

}  // namespace pv
