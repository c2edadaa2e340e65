// syscall: per-CPU syscall entry stubs (a patched copy of entry.S's template) and the MSRs.
// SFMASK clears IF, so the hypervisor always runs with interrupts off after a syscall.
#include "syscall.hpp"

#include <cstdint>

#include "core/panic.hpp"
#include "layout.hpp"
#include "msr.hpp"
#include "percpu.hpp"

extern "C" const unsigned char syscall_stub_floor_prefix[], syscall_stub_template[],
    syscall_stub_template_end[];
extern "C" const unsigned char syscall_stub_patch_scratch1[], syscall_stub_patch_top[],
    syscall_stub_patch_scratch2[];

namespace hv::x86 {
namespace {

constexpr std::size_t kStubSize = 128;
alignas(64) constinit unsigned char stubs[HV_MAX_CPUS][kStubSize] = {};

void patch(unsigned char* stub, const unsigned char* start, const unsigned char* label, std::uint64_t value) {
  __builtin_memcpy(stub + (label - start) + 2, &value, sizeof value);
}

}  // namespace

void syscall_init(unsigned cpu, bool bench_floor) {
  unsigned char* stub = stubs[cpu];
  const unsigned char* start = bench_floor ? syscall_stub_floor_prefix : syscall_stub_template;
  std::size_t size = static_cast<std::size_t>(syscall_stub_template_end - start);
  HV_ASSERT(size <= kStubSize);
  __builtin_memcpy(stub, start, size);
  CpuInfo* info = cpu_info_of(cpu);
  patch(stub, start, syscall_stub_patch_scratch1, reinterpret_cast<std::uint64_t>(&info->syscall_scratch));
  patch(stub, start, syscall_stub_patch_top, guest_frame_top(info));
  patch(stub, start, syscall_stub_patch_scratch2, reinterpret_cast<std::uint64_t>(&info->syscall_scratch));

  wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
  // sysret would load CS = 0xe023 + 16, SS = 0xe023 + 8; syscall loads CS 0xe008, SS 0xe010.
  wrmsr(MSR_STAR, (std::uint64_t{HV_SEL_RING3_CS32} << 48) | (std::uint64_t{HV_SEL_CODE64} << 32));
  wrmsr(MSR_LSTAR, reinterpret_cast<std::uint64_t>(stub));
  wrmsr(MSR_CSTAR, reinterpret_cast<std::uint64_t>(stub));  // compat-mode syscall: same path
  wrmsr(MSR_SFMASK, 0x47700);  // clear AC, VM, RF, NT, DF, IF, TF on entry
  wrmsr(MSR_SYSENTER_CS, 0);   // sysenter from a guest faults (#GP) instead of entering
}

}  // namespace hv::x86
