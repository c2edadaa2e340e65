// smp: several vCPUs in a guest-runtime kernel, brought up as Linux's cpu_initialize_context
// does (VCPUOP_initialise with a context on the same page tables, then VCPUOP_up). Each vCPU
// runs on its own stack here, so the stack tells which vCPU is running (kernel-mode traps and
// event upcalls are delivered on the current stack); vCPU 0 keeps the boot stack. The trap
// stubs and handler table (traps.hpp) are shared by every vCPU; a handler that keeps state
// must keep it per vCPU. Events of the 2-level ABI are per vCPU only in vcpu_info (the
// selector and upcall flags): a handler must take only its own vCPU's ports.
#pragma once
#include <cstdint>
#include <initializer_list>

#include <pv/shared_info.hpp>
#include <pv/vcpu_context.hpp>

#include "traps.hpp"

namespace guest::smp {

inline constexpr unsigned kMaxVcpus = 8;
inline constexpr std::uint64_t kStackSize = 16384;

// The vCPU running this code (0 on the boot stack, N on vCPU N's stack).
unsigned current_vcpu();
// vCPU `id`'s vcpu_info in shared_info (this runtime never moves it).
pv::vcpu_info& vcpu_info(unsigned id);
// Nanoseconds of system time from vCPU `id`'s time record (it must be the caller).
std::uint64_t now_ns(unsigned id);

// The start-of-day context of vCPU `id` (1..kMaxVcpus-1): kernel mode on the current page
// tables, its own stack, entry(id) as its first function (which must never return), the
// trap stubs of `gates` and the runtime's event and failsafe callbacks.
void make_context(pv::vcpu_guest_context& c, unsigned id, void (*entry)(unsigned),
                  std::initializer_list<TrapGate> gates);

// vcpu_op(cmd, id, arg): the hypercall's result.
long vcpu_op(unsigned cmd, unsigned id, const void* arg = nullptr);

}  // namespace guest::smp
