// hv_lock: the hypervisor lock. Guests run on every pCPU in parallel; the hypervisor's own
// work (hypercalls, traps and interrupts from guests, scheduling decisions, timers) runs on
// one pCPU at a time, under this lock. That keeps every core object (domains, frame table,
// event channels, run queues, timer queues) free of finer locking, and is the lock order by
// construction: there is one lock.
//
// Rules: a CPU takes it on every entry from a guest (entry handlers) and when it leaves the
// halt of its idle loop; it releases it only as it enters a guest (run_vcpu) or halts. It is
// never held while guest code runs, and never taken twice. A CPU waiting for it has
// interrupts off, so the wait loop performs TLB-flush requests from other CPUs itself
// (service_ipi_requests): the holder may be waiting for exactly that.
#pragma once

namespace hv::x86 {

void hv_lock();
void hv_unlock();
// Whether this CPU holds it (for assertions).
bool hv_lock_held();

}  // namespace hv::x86
