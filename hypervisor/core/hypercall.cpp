// hypercall: number -> handler. One line per hypercall; the handlers live by ABI area.
#include "hypercall.hpp"

#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/vcpu.hpp>

#include "mm_ops.hpp"

namespace hv {
namespace {

struct HypercallTable {
  HypercallHandler handlers[64] = {};
  constexpr HypercallTable() {
    handlers[pv::hypercall::console_io] = do_console_io;
    handlers[pv::hypercall::xen_version] = do_xen_version;
    handlers[pv::hypercall::sched_op] = do_sched_op;
    handlers[pv::hypercall::vcpu_op] = do_vcpu_op;
    handlers[pv::hypercall::set_timer_op] = do_set_timer_op;
    handlers[pv::hypercall::set_trap_table] = do_set_trap_table;
    handlers[pv::hypercall::stack_switch] = do_stack_switch;
    handlers[pv::hypercall::set_callbacks] = do_set_callbacks;
    handlers[pv::hypercall::callback_op] = do_callback_op;
    handlers[pv::hypercall::iret] = do_iret;
    handlers[pv::hypercall::set_segment_base] = do_set_segment_base;
    handlers[pv::hypercall::fpu_taskswitch] = do_fpu_taskswitch;
    handlers[pv::hypercall::vm_assist] = do_vm_assist;
    handlers[pv::hypercall::multicall] = do_multicall;
    handlers[pv::hypercall::physdev_op] = do_physdev_op;
    handlers[pv::hypercall::mmu_update] = do_mmu_update;
    handlers[pv::hypercall::mmuext_op] = do_mmuext_op;
    handlers[pv::hypercall::update_va_mapping] = do_update_va_mapping;
    handlers[pv::hypercall::update_va_mapping_otherdomain] = do_update_va_mapping_otherdomain;
    handlers[pv::hypercall::memory_op] = do_memory_op;
    handlers[pv::hypercall::set_gdt] = do_set_gdt;
    handlers[pv::hypercall::update_descriptor] = do_update_descriptor;
    handlers[pv::hypercall::set_debugreg] = do_set_debugreg;
    handlers[pv::hypercall::get_debugreg] = do_get_debugreg;
    handlers[pv::hypercall::event_channel_op] = do_event_channel_op;
    handlers[pv::hypercall::event_channel_op_compat] = do_event_channel_op_compat;
  }
};
constexpr HypercallTable kTable;

}  // namespace

// A multicall is not one: each of its entries comes through dispatch_hypercall and decides
// for itself.
bool needs_memory_lock(std::uint64_t number, const HypercallArgs& args) {
  switch (number) {
    case pv::hypercall::mmu_update:
    case pv::hypercall::mmuext_op:
    case pv::hypercall::update_va_mapping:
    case pv::hypercall::update_va_mapping_otherdomain:
    case pv::hypercall::memory_op:
    case pv::hypercall::set_gdt:
    case pv::hypercall::update_descriptor:
    case pv::hypercall::vm_assist:
      return true;
    case pv::hypercall::vcpu_op: {  // the two that take frame references
      const auto cmd = static_cast<unsigned>(args.a1);  // as do_vcpu_op reads it (Xen: int cmd)
      return cmd == pv::VCPUOP_initialise || cmd == pv::VCPUOP_register_vcpu_info;
    }
    default:
      return false;
  }
}

long dispatch_hypercall(HypercallContext& ctx, std::uint64_t number, const HypercallArgs& args) {
  if (number >= sizeof kTable.handlers / sizeof kTable.handlers[0] || kTable.handlers[number] == nullptr)
    return -pv::XEN_ENOSYS;
  if (ctx.mm != nullptr && needs_memory_lock(number, args)) {
    LockGuard guard(ctx.mm->lock());
    return kTable.handlers[number](ctx, args);
  }
  return kTable.handlers[number](ctx, args);
}

}  // namespace hv
