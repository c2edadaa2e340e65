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

// Taken with try_lock in a loop, never by queueing a ticket: whichever CPU is running when
// the lock is free gets it. FIFO hand-off stalls every CPU whenever the next ticket belongs to
// a CPU that is not running at that moment, which is the normal case for CPUs that are
// threads of a host (QEMU's TCG with more vCPUs than host cores, or a hypervisor below us):
// measured, the 4-vCPU smp guest on 4 TCG CPUs over 2 host cores took minutes with tickets
// and 9 s this way.
void hv_lock() {
  if (holder == this_cpu()) HV_PANIC("hv_lock: CPU %u takes it twice (first from %p, now from %p)", this_cpu(), last_site, __builtin_return_address(0));
  while (!hypervisor_lock.try_lock()) IpiRelax::relax();
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
