// usermode: kernel stack, callback registration and the return path of enter_user.
#include "usermode.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/hypercall.hpp>

#include "hypercall.hpp"

extern "C" void guest_enter_user(std::uint64_t rip, std::uint64_t rsp, std::uint64_t rflags);
extern "C" char guest_user_return[];
extern "C" std::uint64_t guest_user_return_rsp;
extern "C" char guest_failsafe_entry[];

namespace guest {
namespace {
alignas(16) char kernel_stack[16384];

long register_one(std::uint16_t type, std::uint16_t flags, std::uint64_t address) {
  pv::callback_register cb{type, flags, 0, address};
  return hypercall<pv::hypercall::callback_op>(pv::CALLBACKOP_register,
                                               reinterpret_cast<std::uint64_t>(&cb));
}
}  // namespace

std::uint64_t use_kernel_stack() {
  std::uint64_t top = reinterpret_cast<std::uint64_t>(kernel_stack + sizeof kernel_stack);
  hypercall<pv::hypercall::stack_switch>(pv::FLAT_KERNEL_SS, top);
  return top;
}

long register_callbacks() {
  long rc = register_one(pv::CALLBACKTYPE_syscall, pv::CALLBACKF_mask_events,
                         trap_entry(kSyscallVector));
  if (rc == 0) rc = register_one(pv::CALLBACKTYPE_event, 0, trap_entry(kEventVector));
  if (rc == 0)
    rc = register_one(pv::CALLBACKTYPE_failsafe, pv::CALLBACKF_mask_events,
                      reinterpret_cast<std::uint64_t>(guest_failsafe_entry));
  return rc;
}

void enter_user(std::uint64_t rip, std::uint64_t rsp, std::uint64_t rflags) {
  guest_enter_user(rip, rsp, rflags);
}

void return_to_kernel(TrapContext& ctx) {
  ctx.rip() = reinterpret_cast<std::uint64_t>(guest_user_return);
  ctx.cs() = pv::FLAT_KERNEL_CS & ~3u;  // RPL 0: the iret hypercall stays in kernel mode
  ctx.rsp() = guest_user_return_rsp;
  ctx.ss() = pv::FLAT_KERNEL_SS;
}

}  // namespace guest
