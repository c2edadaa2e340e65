// vcpu_kick: how a vCPU is told to look at its state (Xen's vcpu_unblock and vcpu_kick). A
// blocked or polling vCPU becomes runnable; one that may be running on another pCPU must
// notice a new event or NMI without waiting for its next entry into the hypervisor. The core
// changes the vCPU's state; the arch is told through a notifier (SMP: run queues and IPIs).
// Hosted tests install no notifier: the state change is all that happens there.
#pragma once

namespace hv {

class Vcpu;

struct VcpuNotifier {
  void (*woken)(Vcpu& v) = nullptr;   // v went from blocked/offline to runnable
  void (*kicked)(Vcpu& v) = nullptr;  // something is pending for v, which may be running
};

// Installed once by the arch before any vCPU runs (nullptr: none).
void set_vcpu_notifier(const VcpuNotifier* notifier);

// A blocked (or polling) vCPU becomes runnable (Xen's vcpu_unblock); no-op otherwise. Any
// CPU, any locks up to level 3 held (the notifier takes scheduler locks): of concurrent
// callers exactly one wakes it and notifies.
void unblock_vcpu(Vcpu& v);
// An offline vCPU becomes runnable (VCPUOP_up); no-op otherwise.
void bring_vcpu_up(Vcpu& v);
// unblock_vcpu, then make a running v look at its pending events/NMI (Xen's vcpu_kick).
// The caller sets what is pending before kicking (see EventChannelOps::block).
void kick_vcpu(Vcpu& v);

}  // namespace hv
