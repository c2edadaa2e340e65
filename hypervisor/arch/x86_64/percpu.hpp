// percpu: per-CPU state. Each CPU has one STACK_SIZE-aligned stack whose top holds CpuInfo:
// first the register frame of the guest that entered (written by the CPU and entry.S, read
// back on return to the guest), then per-CPU data. get_cpu_info() finds it from %rsp, so no
// segment register is needed (guests own the FS/GS bases).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/panic.hpp"
#include "layout.hpp"
#include "trap_frame.hpp"

namespace hv {
class Vcpu;
}

namespace hv::x86 {

struct CpuInfo {
  TrapFrame guest_frame;        // must be first: TSS.rsp0 points just past its `ss`
  std::uint64_t syscall_scratch;  // the syscall stub parks %rax here
  std::uint32_t cpu_id;
  std::uint32_t apic_id;        // local APIC id (the IPI destination), from the MADT
  Vcpu* current;                // the vCPU whose state is in guest_frame, or nullptr
  // TLB-flush requests from other CPUs (ipi.cpp): initiators merge their request into
  // flush_request, then take a ticket from flush_seq; this CPU performs the request and
  // publishes the last ticket it covered in flush_done (written only by this CPU).
  std::atomic<std::uint64_t> flush_request;
  std::atomic<std::uint64_t> flush_seq;
  std::atomic<std::uint64_t> flush_done;
  std::uint8_t reserved[HV_CPU_INFO_SIZE - sizeof(TrapFrame) - 48];
};
static_assert(sizeof(CpuInfo) == HV_CPU_INFO_SIZE);
static_assert(offsetof(CpuInfo, guest_frame) == 0);

extern "C" unsigned char hv_percpu_stacks[HV_MAX_CPUS][HV_STACK_SIZE];

inline CpuInfo* cpu_info_of(unsigned cpu) {
  return reinterpret_cast<CpuInfo*>(hv_percpu_stacks[cpu] + HV_STACK_SIZE - HV_CPU_INFO_SIZE);
}

inline CpuInfo* get_cpu_info() {
  std::uint64_t rsp;
  asm volatile("mov %%rsp, %0" : "=r"(rsp));
  return reinterpret_cast<CpuInfo*>((rsp | (HV_STACK_SIZE - 1)) + 1 - HV_CPU_INFO_SIZE);
}

// What another CPU runs (its `current`), read atomically: only that CPU writes it
// (set_current), so this is a snapshot, good for choosing whom to send an IPI.
inline Vcpu* current_of(unsigned cpu) { return __atomic_load_n(&cpu_info_of(cpu)->current, __ATOMIC_ACQUIRE); }
inline void set_current(CpuInfo& info, Vcpu* v) { __atomic_store_n(&info.current, v, __ATOMIC_SEQ_CST); }

// The vCPU an interrupt with frame `f` interrupted, or nullptr when it came from ring 0 (the
// idle loop's halt). A ring-3 frame can only be this CPU's guest frame, of its current vCPU.
inline Vcpu* interrupted_vcpu(const TrapFrame* f) {
  if ((f->cs & 3) != 3) return nullptr;
  CpuInfo* info = get_cpu_info();
  if (info->current == nullptr || f != &info->guest_frame)
    HV_PANIC("interrupt (vector %#lx) from a guest without a current vCPU frame", f->vector);
  return info->current;
}

// Where the CPU pushes a ring-3 interrupt frame: right past guest_frame.ss.
inline std::uint64_t guest_frame_top(const CpuInfo* info) {
  return reinterpret_cast<std::uint64_t>(&info->guest_frame) + sizeof(TrapFrame);
}

}  // namespace hv::x86
