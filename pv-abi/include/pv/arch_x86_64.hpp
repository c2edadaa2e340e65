// x86-64 PV specifics (arch-x86/xen.h, arch-x86/xen-x86_64.h): the hypervisor's reserved
// address range, flat selectors, trap_info, the iret frame and the forced-emulation prefix.
// A guest may never map or point into [HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

// Flat segments in the hypervisor-owned part of every GDT; the guest kernel and user space
// both run at CPL 3 and use the same ones.
inline constexpr std::uint16_t FLAT_RING3_CS32 = 0xe023; // GDT index 260
inline constexpr std::uint16_t FLAT_RING3_CS64 = 0xe033; // GDT index 262
inline constexpr std::uint16_t FLAT_RING3_DS32 = 0xe02b; // GDT index 261
inline constexpr std::uint16_t FLAT_RING3_DS64 = 0x0000; // null selector
inline constexpr std::uint16_t FLAT_RING3_SS32 = 0xe02b;
inline constexpr std::uint16_t FLAT_RING3_SS64 = 0xe02b;
inline constexpr std::uint16_t FLAT_KERNEL_DS64 = FLAT_RING3_DS64;
inline constexpr std::uint16_t FLAT_KERNEL_DS32 = FLAT_RING3_DS32;
inline constexpr std::uint16_t FLAT_KERNEL_DS = FLAT_KERNEL_DS64;
inline constexpr std::uint16_t FLAT_KERNEL_CS64 = FLAT_RING3_CS64;
inline constexpr std::uint16_t FLAT_KERNEL_CS32 = FLAT_RING3_CS32;
inline constexpr std::uint16_t FLAT_KERNEL_CS = FLAT_KERNEL_CS64;
inline constexpr std::uint16_t FLAT_KERNEL_SS64 = FLAT_RING3_SS64;
inline constexpr std::uint16_t FLAT_KERNEL_SS32 = FLAT_RING3_SS32;
inline constexpr std::uint16_t FLAT_KERNEL_SS = FLAT_KERNEL_SS64;
inline constexpr std::uint16_t FLAT_USER_DS64 = FLAT_RING3_DS64;
inline constexpr std::uint16_t FLAT_USER_DS32 = FLAT_RING3_DS32;
inline constexpr std::uint16_t FLAT_USER_DS = FLAT_USER_DS64;
inline constexpr std::uint16_t FLAT_USER_CS64 = FLAT_RING3_CS64;
inline constexpr std::uint16_t FLAT_USER_CS32 = FLAT_RING3_CS32;
inline constexpr std::uint16_t FLAT_USER_CS = FLAT_USER_CS64;
inline constexpr std::uint16_t FLAT_USER_SS64 = FLAT_RING3_SS64;
inline constexpr std::uint16_t FLAT_USER_SS32 = FLAT_RING3_SS32;
inline constexpr std::uint16_t FLAT_USER_SS = FLAT_USER_SS64;

// GDT pages from 14 on belong to the hypervisor: a guest GDT has at most 14 frames.
inline constexpr unsigned FIRST_RESERVED_GDT_PAGE = 14;
inline constexpr unsigned FIRST_RESERVED_GDT_BYTE = FIRST_RESERVED_GDT_PAGE * 4096;
inline constexpr unsigned FIRST_RESERVED_GDT_ENTRY = FIRST_RESERVED_GDT_BYTE / 8;

// Hypervisor hole: L4 slots 256..271. The M2P table is mapped read-only at its start.
inline constexpr std::uint64_t HYPERVISOR_VIRT_START = 0xFFFF800000000000;
inline constexpr std::uint64_t HYPERVISOR_VIRT_END = 0xFFFF880000000000;
inline constexpr std::uint64_t MACH2PHYS_VIRT_START = 0xFFFF800000000000;
inline constexpr std::uint64_t MACH2PHYS_VIRT_END = 0xFFFF804000000000;
inline constexpr std::uint64_t MACH2PHYS_NR_ENTRIES = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 3;

// set_segment_base(which, base)
inline constexpr unsigned SEGBASE_FS = 0;
inline constexpr unsigned SEGBASE_GS_USER = 1;     // user GS base (shadow while in kernel)
inline constexpr unsigned SEGBASE_GS_KERNEL = 2;
inline constexpr unsigned SEGBASE_GS_USER_SEL = 3; // load user %gs selector from base[15:0]

// cr3 values in vcpu_guest_context / p2m_cr3 carry a frame number this way on x86-64.
constexpr std::uint64_t xen_pfn_to_cr3(xen_pfn_t pfn) { return pfn << 12; }
constexpr xen_pfn_t xen_cr3_to_pfn(std::uint64_t cr3) { return cr3 >> 12; }

// trap_info.flags: bits 0-1 = lowest ring allowed to `int $vector` (0: nobody, 3: all);
// bit 2 = deliver like an interrupt gate (mask events on entry).
inline constexpr std::uint8_t TI_DPL_MASK = 3;
inline constexpr std::uint8_t TI_IF_FLAG = 4;
constexpr unsigned TI_GET_DPL(std::uint8_t flags) { return flags & TI_DPL_MASK; }
constexpr bool TI_GET_IF(std::uint8_t flags) { return (flags & TI_IF_FLAG) != 0; }

// One virtual-IDT entry for set_trap_table / vcpu_guest_context. A table passed to
// set_trap_table ends at the first entry whose address is 0.
struct trap_info {
    std::uint8_t vector;
    std::uint8_t flags;    // TI_* above
    std::uint16_t cs;      // code selector (RPL forced to 3)
    std::uint32_t pad;     // (implicit in Xen)
    std::uint64_t address; // handler VA: canonical, outside the hypervisor hole
};
static_assert(sizeof(trap_info) == 16 && alignof(trap_info) == 8);
static_assert(offsetof(trap_info, flags) == 1);
static_assert(offsetof(trap_info, cs) == 2);
static_assert(offsetof(trap_info, address) == 8);

// iret_context.flags: return like sysret (restore rax/rip/rflags/rsp only; discard
// r11/rcx/cs/ss).
inline constexpr std::uint64_t VGCF_in_syscall = 1u << 8;

// Frame at %rsp when the guest issues HYPERVISOR_iret (lowest address first).
struct iret_context {
    std::uint64_t rax, r11, rcx, flags, rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(iret_context) == 72);
static_assert(offsetof(iret_context, r11) == 8 && offsetof(iret_context, rcx) == 16);
static_assert(offsetof(iret_context, flags) == 24 && offsetof(iret_context, rip) == 32);
static_assert(offsetof(iret_context, cs) == 40 && offsetof(iret_context, rflags) == 48);
static_assert(offsetof(iret_context, rsp) == 56 && offsetof(iret_context, ss) == 64);

// Forced-emulation prefix: `ud2; .ascii "xen"` before an instruction (cpuid) asks the
// hypervisor to emulate it from the #UD path and skip the whole sequence.
inline constexpr std::array<std::uint8_t, 5> XEN_EMULATE_PREFIX = {0x0f, 0x0b, 0x78, 0x65, 0x6e};
inline constexpr std::array<std::uint8_t, 7> XEN_CPUID = {0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2};

// Debug-console I/O port (HVM/PVH guests only).
inline constexpr std::uint16_t XEN_HVM_DEBUGCONS_IOPORT = 0xe9;

}  // namespace pv
