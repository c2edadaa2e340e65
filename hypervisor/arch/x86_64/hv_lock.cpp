// hv_lock: see hv_lock.hpp.
#include "hv_lock.hpp"

#include "core/panic.hpp"
#include "ipi.hpp"
#include "smp.hpp"

namespace hv::x86 {
namespace {

constinit SpinLock hypervisor_lock;
constinit unsigned holder = ~0u;  // the CPU holding it (written only by the holder)
constinit void* last_site = nullptr;  // who took it (reported if a CPU takes it twice)

}  // namespace

void hv_lock() {
  if (holder == this_cpu()) HV_PANIC("hv_lock: CPU %u takes it twice (first from %p, now from %p)", this_cpu(), last_site, __builtin_return_address(0));
  hypervisor_lock.lock();
  holder = this_cpu();
  last_site = __builtin_return_address(0);
}

void hv_unlock() {
  HV_ASSERT(holder == this_cpu());
  holder = ~0u;
  hypervisor_lock.unlock();
}

bool hv_lock_held() { return hypervisor_lock.held() && holder == this_cpu(); }

}  // namespace hv::x86
