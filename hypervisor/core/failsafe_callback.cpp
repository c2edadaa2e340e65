// failsafe_callback: Xen 4.17's load_segments failure path for 64-bit PV vCPUs.
#include "failsafe_callback.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/mmu.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>

#include "log.hpp"

namespace hv {

bool deliver_failsafe_callback(HypercallContext& ctx, const DataSelectors& saved) {
  Vcpu& v = ctx.vcpu;
  GuestRegisters& r = ctx.regs;
  pv::vcpu_info* info = v.info();
  const std::uint64_t mask = info ? info->evtchn_upcall_mask : 1;
  const bool was_kernel = v.mm.kernel_mode;
  const std::uint64_t top = (was_kernel ? r.rsp : v.pv.kernel_sp) & ~std::uint64_t{0xf};

  // The guest's view of IF is !upcall mask; IOPL shows only with architectural_iopl.
  std::uint64_t rflags = (r.rflags & ~(RFLAGS_IF | RFLAGS_IOPL)) | (mask ? 0 : RFLAGS_IF);
  if ((v.domain().memory.vm_assist >> pv::VMASST_TYPE_architectural_iopl) & 1)
    rflags |= std::uint64_t{v.pv.iopl} << 12;

  if (!was_kernel) ctx.cpu.toggle_guest_mode(v);
  else r.cs &= ~std::uint64_t{3};  // RPL 0 in the frame: "interrupted kernel context"

  const std::uint64_t frame[11] = {r.rcx, r.r11, saved.ds, saved.es, saved.fs, saved.gs,
                                   r.rip, r.cs | (mask << 32), rflags, r.rsp, r.ss};
  const std::uint64_t base = top - sizeof frame;
  if (!ctx.memory.copy_to_guest(base, frame, sizeof frame).ok()) {
    HV_WARN(guest, "d%u: cannot write the failsafe callback frame at %#lx: crashing domain",
            v.domain().id(), base);
    v.domain().shutdown(pv::SHUTDOWN_crash);
    return false;
  }
  if (v.pv.failsafe_callback.mask_events && info) info->evtchn_upcall_mask = 1;
  r.rflags &= ~(RFLAGS_AC | RFLAGS_VM | RFLAGS_RF | RFLAGS_NT | RFLAGS_IOPL | (1u << 8));
  r.ss = pv::FLAT_KERNEL_SS;
  r.rsp = base;
  r.cs = pv::FLAT_KERNEL_CS;
  r.rip = v.pv.failsafe_callback.address;
  return true;
}

}  // namespace hv
