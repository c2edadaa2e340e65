// vcpu_context: VCPUOP_initialise (Xen 4.17 arch_set_info_guest for a 64-bit PV vCPU).
// Decode -> validate -> commit: check_context refuses what Xen refuses before touching
// anything; take_references takes what can still fail (GDT, roots) and gives it all back on
// failure; only then are the plain fields written. The single-purpose rules are the
// hypercalls' own (set_trap_table, callback_op, stack_switch, set_gdt, MMUEXT_SET_LDT,
// MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR, set_debugreg).
#include "vcpu_context.hpp"

#include <pv/callback.hpp>
#include <pv/errno.hpp>

#include "debugreg.hpp"
#include "descriptors.hpp"
#include "mm_ops.hpp"
#include "priv_op.hpp"
#include "pv_cpu.hpp"
#include "vcpu_kick.hpp"

namespace hv {
namespace {

// The first block of arch_set_info_guest, in Xen's order (all -EINVAL).
long check_context(const pv::vcpu_guest_context& c) {
  const std::uint64_t addresses[] = {c.user_regs.rip,        c.user_regs.rsp,       c.kernel_sp,
                                     c.fs_base,              c.gs_base_kernel,      c.gs_base_user,
                                     c.event_callback_eip,   c.syscall_callback_eip, c.failsafe_callback_eip};
  for (std::uint64_t a : addresses)
    if (!is_canonical(a)) return -pv::XEN_EINVAL;
  if (c.ldt_ents != 0 && !is_canonical(c.ldt_base)) return -pv::XEN_EINVAL;
  for (const pv::trap_info& t : c.trap_ctxt)
    if (!is_canonical(t.address)) return -pv::XEN_EINVAL;
  // Xen checks the base even without entries, and its alignment always.
  if (!guest_addr_ok(c.ldt_base) || (c.ldt_base & 0xfff) != 0 || !MmOps::ldt_ok(c.ldt_base, c.ldt_ents))
    return -pv::XEN_EINVAL;
  // vm_assist is only read for vCPU 0, which is always initialised already: never here.
  if (c.gdt_ents > kGuestGdtEntries) return -pv::XEN_EINVAL;
  // A vCPU starting in user mode needs user page tables.
  if ((c.flags & pv::VGCF_in_kernel) == 0 && c.ctrlreg[1] == 0) return -pv::XEN_EINVAL;
  return 0;
}

// Xen's order: the GDT, the kernel root, the user root. Any failure gives back everything.
long take_references(MmOps& mm, Vcpu& v, const pv::vcpu_guest_context& c) {
  FrameTable& frames = mm.context().frames;
  if (long rc = install_gdt(v, frames, c.gdt_frames, static_cast<unsigned>(c.gdt_ents)); rc != 0) return rc;
  const MmCaller caller{v.domain().memory, v.mm};
  Status s = mm.set_initial_root(caller, c.ctrlreg[3] >> 12);  // xen_cr3_to_pfn
  if (s.ok() && c.ctrlreg[1] != 0) s = mm.set_initial_user_root(caller, c.ctrlreg[1] >> 12);
  if (s.ok()) return 0;
  mm.drop_roots(v.mm);
  destroy_gdt(v.pv, frames);
  return s.code();
}

void commit_registers(Vcpu& v, const pv::cpu_user_regs& u) {
  GuestRegisters& r = v.regs;
  r = GuestRegisters{};
  r.r15 = u.r15, r.r14 = u.r14, r.r13 = u.r13, r.r12 = u.r12, r.r11 = u.r11, r.r10 = u.r10;
  r.r9 = u.r9, r.r8 = u.r8, r.rbp = u.rbp, r.rdi = u.rdi, r.rsi = u.rsi, r.rdx = u.rdx;
  r.rcx = u.rcx, r.rbx = u.rbx, r.rax = u.rax;
  r.rip = u.rip;
  r.rsp = u.rsp;
  r.cs = fixup_guest_selector(u.cs);
  r.ss = fixup_guest_selector(u.ss);
  // IOPL is virtualised; real interrupts stay enabled (Xen).
  v.pv.iopl = static_cast<std::uint8_t>((u.rflags & RFLAGS_IOPL) >> 12);
  r.rflags = (u.rflags & ~RFLAGS_IOPL) | RFLAGS_IF;
  v.pv.ds = u.ds, v.pv.es = u.es, v.pv.fs = u.fs, v.pv.gs = u.gs;  // loaded (or failsafe) at switch-in
}

void commit_pv_state(Vcpu& v, const pv::vcpu_guest_context& c) {
  PvCpuState& pv = v.pv;
  for (unsigned i = 0; i < 256; ++i) pv.traps[i] = trap_entry(c.trap_ctxt[i]);  // index = vector
  pv.kernel_ss = fixup_guest_selector(static_cast<std::uint16_t>(c.kernel_ss));
  pv.kernel_sp = c.kernel_sp;
  const auto mask = [&](std::uint64_t vgcf) {
    return static_cast<std::uint16_t>((c.flags & vgcf) != 0 ? pv::CALLBACKF_mask_events : 0u);
  };
  // Addresses are canonical (checked), so these cannot fail.
  (void)register_callback(pv, {pv::CALLBACKTYPE_event, 0, 0, c.event_callback_eip});
  (void)register_callback(pv, {pv::CALLBACKTYPE_failsafe, mask(pv::VGCF_failsafe_disables_events), 0, c.failsafe_callback_eip});
  (void)register_callback(pv, {pv::CALLBACKTYPE_syscall, mask(pv::VGCF_syscall_disables_events), 0, c.syscall_callback_eip});
  pv.fs_base = c.fs_base;
  pv.gs_base_kernel = c.gs_base_kernel;
  pv.gs_base_user = c.gs_base_user;
  pv.virtual_ts = (c.ctrlreg[0] & priv_op::X86_CR0_TS) != 0;  // only CR0.TS is the guest's
  // CR4: TSD and DE exist on every x86-64 CPU; FSGSBASE and OSXSAVE depend on the CPUID
  // policy, which this path cannot see, so the guest enables them with a CR4 write later.
  pv.guest_cr4 = c.ctrlreg[4] & (priv_op::X86_CR4_TSD | priv_op::X86_CR4_DE);
  // Debug registers from their defaults through set_debugreg; Xen ignores its errors here.
  for (std::uint64_t& dr : pv.dr) dr = 0;
  pv.dr6 = kDr6Default;
  pv.dr7 = kDr7Disabled;
  for (std::uint32_t i = 0; i < 4; ++i) (void)set_debugreg(pv, i, c.debugreg[i]);
  (void)set_debugreg(pv, 6, c.debugreg[6]);
  (void)set_debugreg(pv, 7, c.debugreg[7]);
}

}  // namespace

long initialise_vcpu(HypercallContext& ctx, Vcpu& v, const pv::vcpu_guest_context& c) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  if (long rc = check_context(c); rc != 0) return rc;
  if (long rc = take_references(*ctx.mm, v, c); rc != 0) return rc;
  commit_registers(v, c.user_regs);
  commit_pv_state(v, c);
  v.mm.kernel_mode = (c.flags & pv::VGCF_in_kernel) != 0;
  v.mm.ldt_base = c.ldt_ents != 0 ? c.ldt_base : 0;
  v.mm.ldt_ents = static_cast<std::uint32_t>(c.ldt_ents);
  // The vCPU is not running: its LDT pages are found through its own new root now, and the
  // arch loads root, GDT and LDT when it is first switched in.
  ctx.mm->load_ldt_frames(MmCaller{v.domain().memory, v.mm});
  v.mm.ldt_dirty = false;
  v.initialised = true;
  // The FPU keeps its initial state: a VGCF_i387_valid image is not loaded (not supported yet).
  if ((c.flags & pv::VGCF_online) != 0) bring_vcpu_up(v);  // Xen clears _VPF_down
  return 0;
}

}  // namespace hv
