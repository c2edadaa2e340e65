// guest_entry: what happens when the CPU enters the hypervisor (entry.S calls hv_exception
// for every exception and every guest syscall). From a guest: hypercalls are dispatched,
// anything else is the guest's problem (its domain is crashed until bounce frames exist).
// From the hypervisor itself: a fault in a guest-memory accessor resumes at its fixup;
// anything else is a hypervisor bug and panics.
#include <pv/sched.hpp>

#include "context.hpp"
#include "core/hypercall.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "fault_fixup.hpp"
#include "guest_memory.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "percpu.hpp"
#include "state.hpp"
#include "trap_frame.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint64_t kVectorPageFault = 14;

void handle_hypercall(Vcpu& vcpu, TrapFrame& f) {
  CurrentGuestMemory memory;
  HypercallContext ctx{vcpu, memory, state().info};
  HypercallArgs args{f.rdi, f.rsi, f.rdx, f.r10, f.r8};
  f.rax = static_cast<std::uint64_t>(dispatch_hypercall(ctx, f.rax, args));
}

void handle_guest_entry(TrapFrame& f) {
  CpuInfo* info = get_cpu_info();
  Vcpu* vcpu = info->current;
  if (vcpu == nullptr || &f != &info->guest_frame)
    HV_PANIC("guest entry (vector %#lx) without a current vCPU frame", f.vector);
  if (f.vector == HV_VECTOR_SYSCALL && vcpu->kernel_mode) {
    handle_hypercall(*vcpu, f);
  } else {
    // Exception and syscall bounces to the guest kernel are not implemented yet: the guest
    // cannot handle this, so its domain crashes (the hypervisor and others carry on).
    Domain& d = vcpu->domain();
    HV_WARN(guest, "d%uv%u: unhandled vector %#lx error %#lx at rip %#lx (cr2 %#lx): crashing domain",
            d.id(), vcpu->id(), f.vector, f.error_code, f.rip,
            f.vector == kVectorPageFault ? read_cr2() : 0);
    d.shutdown(pv::SHUTDOWN_crash);
  }
  reschedule_if_needed();
}

}  // namespace
}  // namespace hv::x86

extern "C" void hv_exception(hv::x86::TrapFrame* f) {
  using namespace hv::x86;
  if ((f->cs & 3) == 3 || f->vector == HV_VECTOR_SYSCALL) {
    handle_guest_entry(*f);
    return;
  }
  if (std::uint64_t fixup = find_fixup(f->rip)) {
    f->rip = fixup;  // a guest-memory access faulted: the accessor reports -EFAULT
    return;
  }
  static const char* const kNames[32] = {
      "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound",
      "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
      "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
      "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
      "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22",
      "reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV injection",
      "#VC VMM communication", "#SX security", "reserved 31"};
  const char* name = f->vector < 32 ? kNames[f->vector] : "interrupt";
  HV_PANIC("unexpected exception %lu (%s) err=%#lx rip=%#lx cs=%#lx rflags=%#lx rsp=%#lx cr2=%#lx "
           "rax=%#lx rbx=%#lx rcx=%#lx rdx=%#lx rsi=%#lx rdi=%#lx rbp=%#lx",
           f->vector, name, f->error_code, f->rip, f->cs, f->rflags, f->rsp, read_cr2(), f->rax,
           f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp);
}
