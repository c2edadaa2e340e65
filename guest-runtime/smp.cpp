// smp: per-vCPU stacks and the start-of-day context of secondary vCPUs (see smp.hpp).
#include "smp.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/hypercall.hpp>

#include "hypercall.hpp"
#include "mm.hpp"
#include "pvclock.hpp"

extern "C" char guest_failsafe_entry[];

namespace guest::smp {
namespace {
// vCPU N > 0 runs on stacks[N] (stacks[0] is unused: vCPU 0 has head.S's boot stack).
alignas(16) unsigned char stacks[kMaxVcpus][kStackSize];
}  // namespace

unsigned current_vcpu() {
  const auto sp = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  const auto base = reinterpret_cast<std::uint64_t>(stacks);
  if (sp < base || sp >= base + sizeof stacks) return 0;
  return static_cast<unsigned>((sp - base) / kStackSize);
}

pv::vcpu_info& vcpu_info(unsigned id) { return mm::shared_info().vcpu_info[id]; }

std::uint64_t now_ns(unsigned id) {
  const pvclock::Snapshot s = pvclock::read_record(vcpu_info(id).time);
  return pvclock::system_time_at(s.record, pvclock::rdtsc());
}

void make_context(pv::vcpu_guest_context& c, unsigned id, void (*entry)(unsigned),
                  std::initializer_list<TrapGate> gates) {
  c = pv::vcpu_guest_context{};
  const auto top = reinterpret_cast<std::uint64_t>(stacks[id]) + kStackSize;
  c.flags = pv::VGCF_in_kernel;
  c.user_regs.rip = reinterpret_cast<std::uint64_t>(entry);
  c.user_regs.rdi = id;
  c.user_regs.rsp = top - 8;  // as if called: the (zero) return address slot
  c.user_regs.cs = pv::FLAT_KERNEL_CS;
  c.user_regs.ss = pv::FLAT_KERNEL_SS;
  c.user_regs.rflags = 0x202;  // IF: events as the upcall mask says
  c.kernel_ss = pv::FLAT_KERNEL_SS;
  c.kernel_sp = top;
  for (const TrapGate& g : gates)
    c.trap_ctxt[g.vector] = pv::trap_info{g.vector, g.flags, pv::FLAT_KERNEL_CS, 0, trap_entry(g.vector)};
  c.event_callback_eip = trap_entry(kEventVector);
  c.failsafe_callback_eip = reinterpret_cast<std::uint64_t>(guest_failsafe_entry);
  c.ctrlreg[3] = mm::root_mfn() << 12;  // xen_pfn_to_cr3 for 64-bit guests
}

long vcpu_op(unsigned cmd, unsigned id, const void* arg) {
  return hypercall<pv::hypercall::vcpu_op>(cmd, id, reinterpret_cast<std::uint64_t>(arg));
}

}  // namespace guest::smp
