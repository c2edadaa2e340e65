// state: the single definition of the hypervisor's global state.
#include "state.hpp"

#include "percpu.hpp"

namespace hv::x86 {
namespace {
constinit GlobalState global_state;
}  // namespace

GlobalState& state() { return global_state; }

}  // namespace hv::x86

// Per-CPU stacks (CpuInfo at the top of each); CPU 0 boots on its own (boot.S).
alignas(HV_STACK_SIZE) unsigned char hv_percpu_stacks[HV_MAX_CPUS][HV_STACK_SIZE];
