// vcpu_op (hypercall 24; Xen's do_vcpu_op/common_vcpu_op/map_vcpu_info): vCPU life cycle
// (initialise/up/down/is_up), runstate queries and registration, and placing vcpu_info or a
// copy of the time record in guest memory. The timer sub-ops are in hc_timer.cpp, send_nmi in
// core/nmi, the context checks of VCPUOP_initialise in core/vcpu_context.
// vCPU life cycle (Xen's is_initialised and _VPF_down): a vCPU other than 0 exists offline
// and uninitialised; VCPUOP_initialise gives it a context once; VCPUOP_up/down move it
// between offline and runnable (vcpu_up through core/vcpu_kick's bring_vcpu_up, vcpu_down
// below).
#include <pv/errno.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>
#include <pv/vcpu.hpp>

#include "domain.hpp"
#include "event_channel.hpp"  // the event lock register_vcpu_info takes
#include "hypercall.hpp"
#include "mm_ops.hpp"
#include "nmi.hpp"
#include "vcpu_context.hpp"
#include "vcpu_kick.hpp"

namespace hv {
namespace {

// map_vcpu_info: the frame must be the domain's own and take a writable type reference
// (so it can never become a page table while the hypervisor writes it).
long register_vcpu_info(HypercallContext& ctx, Vcpu& v, const pv::vcpu_register_vcpu_info& req) {
  if (req.offset > 4096 - sizeof(pv::vcpu_info) || req.offset % alignof(pv::vcpu_info) != 0)
    return -pv::XEN_ENXIO;
  if (v.placed_info != nullptr) return -pv::XEN_EINVAL;
  // Another vCPU's only while it is down and switched out everywhere (Xen's VCPUOP_down
  // waits for that; ours returns at once, so its CPU may still be delivering into the old
  // vcpu_info).
  if (&v != &ctx.vcpu && (v.state != VcpuState::offline || v.sched.context_live.load())) return -pv::XEN_EINVAL;
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  FrameTable& frames = ctx.mm->context().frames;
  const Mfn mfn = req.mfn;  // PV: the guest frame number is the machine frame number
  if (!frames.valid(mfn) || !frames.get_page_and_type(mfn, v.domain().id(), PageType::writable).ok())
    return -pv::XEN_EINVAL;
  std::uint64_t* page = ctx.mm->context().memory.frame(mfn);
  if (page == nullptr) {
    frames.put_page_and_type(mfn);
    return -pv::XEN_ENOMEM;
  }
  auto* placed = reinterpret_cast<pv::vcpu_info*>(reinterpret_cast<std::uint8_t*>(page) + req.offset);
  // Events may be delivered to v from other CPUs meanwhile. The domain's event lock (taken
  // after the frame reference: memory before events in the lock order) keeps this domain's
  // own deliveries (IPIs, VIRQs, unmask) out until the new place is complete. A peer's
  // interdomain send holds only its own lock: it reads the pointer once and writes wholly to
  // the old or the new place, and what it set in the old one after the copy is covered by
  // marking everything pending below, after the switch.
  SpinLock* events_lock = v.domain().events != nullptr ? &v.domain().events->lock : nullptr;
  if (events_lock != nullptr) events_lock->lock();
  if (pv::vcpu_info* old = v.info()) {
    __builtin_memcpy(placed, old, sizeof *placed);
  } else {
    __builtin_memset(placed, 0, sizeof *placed);
    placed->evtchn_upcall_mask = 1;
  }
  __atomic_store_n(&v.placed_info, placed, __ATOMIC_SEQ_CST);  // the copy is visible first
  v.placed_info_mfn = mfn;
  // Everything pending, so nothing raised during the move is lost (a spurious upcall is
  // harmless), exactly as Xen does.
  __atomic_store_n(&placed->evtchn_pending_sel, ~std::uint64_t{0}, __ATOMIC_SEQ_CST);
  __atomic_store_n(&placed->evtchn_upcall_pending, std::uint8_t{1}, __ATOMIC_SEQ_CST);
  if (events_lock != nullptr) events_lock->unlock();
  return 0;
}

// Xen: only an initialised vCPU comes up; one already up stays as it is (running or blocked).
long vcpu_up(Vcpu& v) {
  if (!v.initialised) return -pv::XEN_EINVAL;
  bring_vcpu_up(v);  // (the scheduler queues it; a no-op if it is up already)
  return 0;
}

// Xen's default_initialise_vcpu: the copy first (-EFAULT), then -EEXIST for a vCPU that
// already has a context. The context (5 KiB) is copied to the stack: the hypervisor stack is
// 32 KiB and nothing below this call is deep.
long vcpu_initialise(HypercallContext& ctx, Vcpu& v, std::uint64_t arg) {
  pv::vcpu_guest_context c;
  if (!ctx.memory.read(arg, c).ok()) return -pv::XEN_EFAULT;
  if (v.initialised) return -pv::XEN_EEXIST;
  return initialise_vcpu(ctx, v, c);
}

long vcpu_down(Vcpu& v) {
  Domain& d = v.domain();
  for (unsigned i = 0; i < d.vcpu_count(); ++i)
    if (d.vcpu(i) != &v && d.vcpu(i)->state != VcpuState::offline) {
      v.state = VcpuState::offline;
      kick_vcpu(v);  // running on another pCPU: switched out there at once
      return 0;
    }
  d.shutdown(pv::SHUTDOWN_poweroff);  // the last vCPU going down ends the domain, as in Xen
  return 0;
}

}  // namespace

void release_vcpu_info(Vcpu& v, FrameTable& frames) {
  if (v.placed_info == nullptr) return;
  v.placed_info = nullptr;
  frames.put_page_and_type(v.placed_info_mfn);
}

long do_vcpu_op(HypercallContext& ctx, const HypercallArgs& args) {
  const unsigned cmd = static_cast<unsigned>(args.a1);
  Domain& d = ctx.vcpu.domain();
  Vcpu* target = d.vcpu(static_cast<unsigned>(args.a2));
  if (target == nullptr || args.a2 > 0xffffffffu) return -pv::XEN_ENOENT;
  Vcpu& v = *target;
  const std::uint64_t arg = args.a3;
  switch (cmd) {
    case pv::VCPUOP_initialise:
      return vcpu_initialise(ctx, v, arg);
    case pv::VCPUOP_up:
      return vcpu_up(v);
    case pv::VCPUOP_down:
      return vcpu_down(v);
    case pv::VCPUOP_is_up:
      return v.state != VcpuState::offline ? 1 : 0;
    case pv::VCPUOP_get_runstate_info: {
      pv::vcpu_runstate_info info = runstate_snapshot(v.runstate, ctx.cpu.system_time_ns());
      return ctx.memory.write(arg, info).ok() ? 0 : -pv::XEN_EFAULT;
    }
    case pv::VCPUOP_register_runstate_memory_area: {
      pv::vcpu_register_runstate_memory_area area{};
      if (!ctx.memory.read(arg, area).ok()) return -pv::XEN_EFAULT;
      if (!guest_addr_ok(area.addr) || !guest_addr_ok(area.addr + sizeof(pv::vcpu_runstate_info) - 1))
        return -pv::XEN_EFAULT;
      v.runstate.guest_area = area.addr;
      VcpuRunstate now = v.runstate;
      if (&v == &ctx.vcpu) now.info = runstate_snapshot(v.runstate, ctx.cpu.system_time_ns());
      update_runstate_area(now, ctx.memory, false);  // Xen's plain __copy_to_guest here
      return 0;
    }
    case pv::VCPUOP_register_vcpu_info: {
      pv::vcpu_register_vcpu_info req{};
      if (!ctx.memory.read(arg, req).ok()) return -pv::XEN_EFAULT;
      return register_vcpu_info(ctx, v, req);
    }
    case pv::VCPUOP_register_vcpu_time_memory_area: {
      std::uint64_t addr = 0;  // vcpu_register_time_memory_area: one guest pointer
      if (!ctx.memory.read(arg, addr).ok()) return -pv::XEN_EFAULT;
      if (!guest_addr_ok(addr) || !guest_addr_ok(addr + sizeof(pv::vcpu_time_info) - 1)) return -pv::XEN_EFAULT;
      v.time_area = addr;
      if (&v == &ctx.vcpu && v.info() != nullptr) (void)ctx.memory.write(addr, v.info()->time);
      return 0;
    }
    case pv::VCPUOP_send_nmi:
      if (arg != 0) return -pv::XEN_EINVAL;  // Xen: the argument must be a null handle
      raise_nmi(v);
      return 0;
    case pv::VCPUOP_set_periodic_timer:
    case pv::VCPUOP_stop_periodic_timer:
    case pv::VCPUOP_set_singleshot_timer:
    case pv::VCPUOP_stop_singleshot_timer:
      return vcpu_timer_op(ctx, cmd, v, arg);
    case pv::VCPUOP_get_physid:
      return -pv::XEN_EINVAL;  // only for a hardware domain with pinned vCPUs (dom0_vcpus_pin)
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
