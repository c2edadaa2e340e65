// selftest: ud/pf/gp provoke hypervisor faults (the panic path); ring3 runs a tiny program in
// ring 3 on hand-built page tables as a privileged domain, proving the GDT/TSS, the syscall
// stub, hypercall dispatch, guest-memory fault recovery and domain shutdown end to end.
// The multi-CPU self-tests (ipi, flush) are in selftest_smp.cpp.
#include "selftest.hpp"

#include <cstdint>

#include "context.hpp"
#include "core/domain.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "pv_cpu_platform.hpp"
#include "state.hpp"

extern "C" const unsigned char selftest_ring3_code[], selftest_ring3_code_end[];

namespace hv::x86 {
namespace {

constexpr std::uint64_t kPresent = 1, kWritable = 2, kUser = 4;
constexpr std::uint64_t kCodeVa = 0x400000, kStackTop = 0x402000;

struct alignas(4096) Ring3Space {
  std::uint64_t l4[512], l3[512], l2[512], l1[512];
  unsigned char code[4096], stack[4096];
};
constinit Ring3Space space;
constinit Domain selftest_domain{0, true};
constinit Vcpu selftest_vcpu{selftest_domain, 0};

std::uint64_t phys(const void* p) { return reinterpret_cast<std::uint64_t>(p) - HV_KERNEL_VIRT_BASE; }

[[noreturn]] void run_ring3() {
  // The hypervisor's upper-half slots come from the live L4; the low half is the "guest's".
  const auto* live = reinterpret_cast<const std::uint64_t*>(HV_DIRECTMAP_BASE + (read_cr3() & ~0xFFFull));
  for (int i = 256; i < 512; ++i) space.l4[i] = live[i];
  space.l4[0] = phys(space.l3) | kPresent | kWritable | kUser;
  space.l3[0] = phys(space.l2) | kPresent | kWritable | kUser;
  space.l2[kCodeVa >> 21] = phys(space.l1) | kPresent | kWritable | kUser;
  space.l1[0] = phys(space.code) | kPresent | kUser;  // code: read-only
  space.l1[1] = phys(space.stack) | kPresent | kWritable | kUser;
  __builtin_memcpy(space.code, selftest_ring3_code,
                   static_cast<std::size_t>(selftest_ring3_code_end - selftest_ring3_code));

  selftest_domain.console_io_allowed = true;
  HV_ASSERT(selftest_domain.add_vcpu(selftest_vcpu));
  HV_ASSERT(arch_vcpu_init(selftest_vcpu));
  HV_ASSERT(state().domains.add(selftest_domain));
  selftest_vcpu.regs.rip = kCodeVa;
  selftest_vcpu.regs.rsp = kStackTop;
  selftest_vcpu.regs.cs = HV_SEL_RING3_CS64;
  selftest_vcpu.regs.ss = HV_SEL_RING3_DS32;
  selftest_vcpu.regs.rflags = 0x202;
  selftest_vcpu.mm.guest_table = phys(space.l4) >> 12;
  selftest_vcpu.state = VcpuState::runnable;
  run_vcpu(selftest_vcpu);
}

}  // namespace

void run_selftest(std::string_view which) {
  HV_INFO(boot, "self-test: provoking %.*s", static_cast<int>(which.size()), which.data());
  if (which == "ud") asm volatile("ud2");
  if (which == "pf") (void)*reinterpret_cast<volatile std::uint64_t*>(0xFFFF800000000000);
  if (which == "gp") (void)*reinterpret_cast<volatile std::uint64_t*>(0x8000000000000000);
  if (which == "ring3") run_ring3();
  (void)run_smp_selftest(which);
}

}  // namespace hv::x86
