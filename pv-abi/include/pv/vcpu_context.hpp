// cpu_user_regs and vcpu_guest_context (arch-x86/xen-x86_64.h, arch-x86/xen.h, x86-64):
// the full vCPU state a PV guest passes to VCPUOP_initialise. Every field is guest input:
// selectors get RPL 3, rflags IF=1/IOPL=0, addresses are checked before anything is loaded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch_x86_64.hpp"
#include "types.hpp"

namespace pv {

// Register frame (Xen keeps `guest_user_regs` as its internal name for this layout).
struct cpu_user_regs {
    std::uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
    std::uint64_t rax, rcx, rdx, rsi, rdi;
    std::uint32_t error_code;   // hypervisor-private
    std::uint32_t entry_vector; // hypervisor-private
    std::uint64_t rip;
    std::uint16_t cs, pad0[1];
    std::uint8_t saved_upcall_mask; // event mask at the time of the frame
    std::uint8_t pad1[3];
    std::uint64_t rflags; // rflags.IF == !saved_upcall_mask
    std::uint64_t rsp;
    std::uint16_t ss, pad2[3];
    std::uint16_t es, pad3[3];
    std::uint16_t ds, pad4[3];
    std::uint16_t fs, pad5[3];
    std::uint16_t gs, pad6[3];
};
static_assert(sizeof(cpu_user_regs) == 200 && alignof(cpu_user_regs) == 8);
static_assert(offsetof(cpu_user_regs, r15) == 0 && offsetof(cpu_user_regs, rbp) == 32);
static_assert(offsetof(cpu_user_regs, rbx) == 40 && offsetof(cpu_user_regs, r11) == 48);
static_assert(offsetof(cpu_user_regs, r8) == 72 && offsetof(cpu_user_regs, rax) == 80);
static_assert(offsetof(cpu_user_regs, rcx) == 88 && offsetof(cpu_user_regs, rdx) == 96);
static_assert(offsetof(cpu_user_regs, rsi) == 104 && offsetof(cpu_user_regs, rdi) == 112);
static_assert(offsetof(cpu_user_regs, error_code) == 120);
static_assert(offsetof(cpu_user_regs, entry_vector) == 124);
static_assert(offsetof(cpu_user_regs, rip) == 128 && offsetof(cpu_user_regs, cs) == 136);
static_assert(offsetof(cpu_user_regs, saved_upcall_mask) == 140);
static_assert(offsetof(cpu_user_regs, rflags) == 144 && offsetof(cpu_user_regs, rsp) == 152);
static_assert(offsetof(cpu_user_regs, ss) == 160 && offsetof(cpu_user_regs, es) == 168);
static_assert(offsetof(cpu_user_regs, ds) == 176 && offsetof(cpu_user_regs, fs) == 184);
static_assert(offsetof(cpu_user_regs, gs) == 192);

// vcpu_guest_context.flags
inline constexpr std::uint64_t VGCF_i387_valid = 1u << 0;               // fpu_ctxt is valid
inline constexpr std::uint64_t VGCF_in_kernel = 1u << 2;                // start in kernel mode
inline constexpr std::uint64_t VGCF_failsafe_disables_events = 1u << 3; // = CALLBACKF_mask_events
inline constexpr std::uint64_t VGCF_syscall_disables_events = 1u << 4;  // = CALLBACKF_mask_events
inline constexpr std::uint64_t VGCF_online = 1u << 5;                   // vCPU is up

struct vcpu_guest_context {
    std::uint8_t fpu_ctxt[512];       // FXSAVE image
    std::uint64_t flags;              // VGCF_*
    cpu_user_regs user_regs;
    trap_info trap_ctxt[256];         // virtual IDT
    std::uint64_t ldt_base, ldt_ents; // LDT linear address and entry count
    std::uint64_t gdt_frames[16];     // GDT machine frames
    std::uint64_t gdt_ents;
    std::uint64_t kernel_ss, kernel_sp; // stack for user->kernel transitions
    std::uint64_t ctrlreg[8];         // cr3 = xen_pfn_to_cr3(L4 mfn); ctrlreg[1] = user L4
    std::uint64_t debugreg[8];
    std::uint64_t event_callback_eip;
    std::uint64_t failsafe_callback_eip;
    std::uint64_t syscall_callback_eip;
    std::uint64_t vm_assist;          // bitmap of enabled VMASST_TYPE_*
    std::uint64_t fs_base;
    std::uint64_t gs_base_kernel;
    std::uint64_t gs_base_user;
};
static_assert(sizeof(vcpu_guest_context) == 5168 && alignof(vcpu_guest_context) == 8);
static_assert(offsetof(vcpu_guest_context, flags) == 512);
static_assert(offsetof(vcpu_guest_context, user_regs) == 520);
static_assert(offsetof(vcpu_guest_context, trap_ctxt) == 720);
static_assert(offsetof(vcpu_guest_context, ldt_base) == 4816);
static_assert(offsetof(vcpu_guest_context, ldt_ents) == 4824);
static_assert(offsetof(vcpu_guest_context, gdt_frames) == 4832);
static_assert(offsetof(vcpu_guest_context, gdt_ents) == 4960);
static_assert(offsetof(vcpu_guest_context, kernel_ss) == 4968);
static_assert(offsetof(vcpu_guest_context, kernel_sp) == 4976);
static_assert(offsetof(vcpu_guest_context, ctrlreg) == 4984);
static_assert(offsetof(vcpu_guest_context, debugreg) == 5048);
static_assert(offsetof(vcpu_guest_context, event_callback_eip) == 5112);
static_assert(offsetof(vcpu_guest_context, failsafe_callback_eip) == 5120);
static_assert(offsetof(vcpu_guest_context, syscall_callback_eip) == 5128);
static_assert(offsetof(vcpu_guest_context, vm_assist) == 5136);
static_assert(offsetof(vcpu_guest_context, fs_base) == 5144);
static_assert(offsetof(vcpu_guest_context, gs_base_kernel) == 5152);
static_assert(offsetof(vcpu_guest_context, gs_base_user) == 5160);

}  // namespace pv
