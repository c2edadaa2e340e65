// pv_cpu_platform: MSRs, CR0/CR3/CR4 and XSAVE for PV guests. While a guest runs, GS_BASE
// holds the base of its current mode and the shadow (KERNEL_GS_BASE) the other one; a mode
// toggle is a `swapgs`, as in Xen. The hypervisor itself never uses FS, GS or the FPU.
#include "pv_cpu_platform.hpp"

#include <pv/arch_x86_64.hpp>

#include "core/debugreg.hpp"
#include "core/priv_op.hpp"
#include "core/failsafe_callback.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "cpu.hpp"
#include "gdt.hpp"
#include "guest_memory.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "msr.hpp"
#include "percpu.hpp"
#include "state.hpp"
#include "time.hpp"

extern "C" void hv_load_gs_selector(std::uint16_t selector);

namespace hv::x86 {
namespace {

constexpr std::size_t kFpuAreaSize = 4096;
// Every vCPU of the 8 boot domains (8 each) plus the boot self-test's.
constexpr unsigned kMaxVcpus = 8 * Domain::kMaxVcpus + 1;

struct alignas(64) ArchVcpu {
  std::uint8_t fpu[kFpuAreaSize];
};
constinit ArchVcpu arch_vcpus[kMaxVcpus];
constinit unsigned arch_vcpus_used = 0;

struct FpuConfig {
  bool xsave = false;
  std::uint64_t xcr0 = 0;
};
constinit FpuConfig fpu_config;

constexpr std::uint64_t CR0_TS = 1u << 3, CR0_MP = 1u << 1, CR0_EM = 1u << 2;
constexpr std::uint64_t CR4_OSFXSR = 1u << 9, CR4_OSXMMEXCPT = 1u << 10, CR4_OSXSAVE = 1u << 18;

std::uint64_t read_cr0() { std::uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
void write_cr0(std::uint64_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
void clts() { asm volatile("clts" ::: "memory"); }
void xsetbv(std::uint32_t index, std::uint64_t value) {
  asm volatile("xsetbv" ::"c"(index), "a"(static_cast<std::uint32_t>(value)), "d"(static_cast<std::uint32_t>(value >> 32)));
}

void swapgs() { asm volatile("swapgs" ::: "memory"); }

// The GDT copy (set_gdt's frames are typed seg_desc, so their contents are validated).
void load_guest_gdt(const Vcpu& vcpu) {
  const std::uint64_t* frames[14];
  const unsigned nr_frames = (vcpu.pv.gdt_ents + 511) / 512;
  for (unsigned i = 0; i < nr_frames; ++i)
    frames[i] = static_cast<const std::uint64_t*>(phys_to_virt(vcpu.pv.gdt_frames[i] << 12));
  gdt_load_guest(get_cpu_info()->cpu_id, frames, nr_frames);
}

// Data segment selectors belong to the vCPU: the next one (another domain's, maybe) must
// neither see nor keep using them. A saved selector the vCPU's own GDT no longer accepts
// (#GP/#NP at the load, fixed up through .ex_table) loads as null, as in Xen's
// load_segments. Loading %fs/%gs also loads a base: the caller writes the bases afterwards.
#define MX_LOAD_SELECTOR(seg, value)                                        \
  asm volatile("1: mov %k0, %%" seg "\n"                                   \
               "2:\n"                                                      \
               ".pushsection .text.fixup, \"ax\"\n"                        \
               "3: xor %k0, %k0\n"                                          \
               "   mov %k0, %%" seg "\n"                                   \
               "   jmp 2b\n"                                                \
               ".popsection\n"                                              \
               ".pushsection .ex_table, \"a\"\n"                           \
               ".balign 8\n"                                                \
               ".quad 1b, 3b\n"                                             \
               ".popsection"                                               \
               : "+r"(value)::"memory")

void save_selectors(PvCpuState& pv) {
  asm volatile("mov %%ds, %0" : "=r"(pv.ds));
  asm volatile("mov %%es, %0" : "=r"(pv.es));
  asm volatile("mov %%fs, %0" : "=r"(pv.fs));
  asm volatile("mov %%gs, %0" : "=r"(pv.gs));
}

// False when a selector did not load (the fixup zeroed it): the failsafe callback is due.
bool load_selectors(const PvCpuState& pv) {
  std::uint32_t ds = pv.ds, es = pv.es, fs = pv.fs, gs = pv.gs;
  MX_LOAD_SELECTOR("ds", ds);
  MX_LOAD_SELECTOR("es", es);
  MX_LOAD_SELECTOR("fs", fs);
  MX_LOAD_SELECTOR("gs", gs);
  return ds == pv.ds && es == pv.es && fs == pv.fs && gs == pv.gs;
}

// Xen's load_segments failure path: the guest kernel's failsafe callback gets the selectors
// that did not load, on the frame the vCPU is about to resume from (get_cpu_info()).
void deliver_failsafe(Vcpu& vcpu, const DataSelectors& saved) {
  CurrentGuestMemory memory;
  PvCpuPlatform cpu;
  HypercallContext ctx{vcpu, memory, state().info, get_cpu_info()->guest_frame, cpu};
  deliver_failsafe_callback(ctx, saved);
}

}  // namespace

void fpu_init() {
  write_cr0((read_cr0() | CR0_MP) & ~(CR0_EM | CR0_TS));
  std::uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
  CpuidSnapshot cpu = read_cpuid();
  if (has_feature(cpu, cpu::xsave)) {
    write_cr4(cr4 | CR4_OSXSAVE);
    CpuidResult d = x86::cpuid(0xD, 0);
    std::uint64_t supported = (std::uint64_t{d.edx} << 32) | d.eax;
    fpu_config.xcr0 = supported & 0x7;  // x87, SSE, AVX: what guests get for now
    xsetbv(0, fpu_config.xcr0);
    CpuidResult sized = x86::cpuid(0xD, 0);  // ebx: area size for the enabled features
    if (sized.ebx > kFpuAreaSize) HV_PANIC("XSAVE area of %u bytes does not fit", sized.ebx);
    fpu_config.xsave = true;
    HV_INFO(cpu, "FPU: XSAVE, XCR0 %#lx, %u-byte areas", fpu_config.xcr0, sized.ebx);
  } else {
    write_cr4(cr4);
    HV_INFO(cpu, "FPU: FXSAVE (no XSAVE)");
  }
}

bool arch_vcpu_init(Vcpu& vcpu) {
  if (arch_vcpus_used == kMaxVcpus) return false;
  ArchVcpu& a = arch_vcpus[arch_vcpus_used++];
  __builtin_memset(a.fpu, 0, sizeof a.fpu);
  // The architectural initial state: FCW 0x37F, MXCSR 0x1F80 (all SIMD exceptions masked);
  // with XSAVE, XSTATE_BV = 0 makes XRSTOR load the init state for every component.
  std::uint16_t fcw = 0x37F;
  std::uint32_t mxcsr = 0x1F80;
  __builtin_memcpy(a.fpu + 0, &fcw, sizeof fcw);
  __builtin_memcpy(a.fpu + 24, &mxcsr, sizeof mxcsr);
  vcpu.arch = &a;
  return true;
}

void save_vcpu_state(Vcpu& vcpu) {
  PvCpuState& pv = vcpu.pv;
  save_selectors(pv);
  pv.fs_base = rdmsr(MSR_FS_BASE);
  std::uint64_t active = rdmsr(MSR_GS_BASE), shadow = rdmsr(MSR_KERNEL_GS_BASE);
  pv.gs_base_kernel = vcpu.mm.kernel_mode ? active : shadow;
  pv.gs_base_user = vcpu.mm.kernel_mode ? shadow : active;
  if (dr7_active(pv.dr7)) write_dr7(0);  // the next vCPU must not hit this one's breakpoints
  auto* a = static_cast<ArchVcpu*>(vcpu.arch);
  clts();  // saving must not trap on the guest's own TS
  if (fpu_config.xsave)
    asm volatile("xsave64 %0" : "+m"(a->fpu) : "a"(static_cast<std::uint32_t>(fpu_config.xcr0)), "d"(0u) : "memory");
  else
    asm volatile("fxsave64 %0" : "=m"(a->fpu) :: "memory");
}

void load_vcpu_state(Vcpu& vcpu) {
  const PvCpuState& pv = vcpu.pv;
  load_guest_gdt(vcpu);  // first: the selectors below are checked against it
  const bool selectors_loaded = load_selectors(pv);
  wrmsr(MSR_FS_BASE, pv.fs_base);
  wrmsr(MSR_GS_BASE, vcpu.mm.kernel_mode ? pv.gs_base_kernel : pv.gs_base_user);
  wrmsr(MSR_KERNEL_GS_BASE, vcpu.mm.kernel_mode ? pv.gs_base_user : pv.gs_base_kernel);
  auto* a = static_cast<ArchVcpu*>(vcpu.arch);
  clts();
  if (fpu_config.xsave)
    asm volatile("xrstor64 %0" ::"m"(a->fpu), "a"(static_cast<std::uint32_t>(fpu_config.xcr0)), "d"(0u) : "memory");
  else
    asm volatile("fxrstor64 %0" ::"m"(a->fpu) : "memory");
  if (pv.virtual_ts) write_cr0(read_cr0() | CR0_TS);
  // Breakpoints live only while their vCPU runs (Xen's paravirt_ctxt_switch_to/_from).
  if (dr7_active(pv.dr7)) load_debug_registers(pv);
  vcpu.pv.dr_dirty = false;
  if (!selectors_loaded) deliver_failsafe(vcpu, DataSelectors{pv.ds, pv.es, pv.fs, pv.gs});
}

// Xen's activate_debugregs: DR7 last, so no breakpoint is live with a stale address.
void load_debug_registers(const PvCpuState& pv) {
  asm volatile("mov %0, %%dr0" ::"r"(pv.dr[0]));
  asm volatile("mov %0, %%dr1" ::"r"(pv.dr[1]));
  asm volatile("mov %0, %%dr2" ::"r"(pv.dr[2]));
  asm volatile("mov %0, %%dr3" ::"r"(pv.dr[3]));
  asm volatile("mov %0, %%dr6" ::"r"(pv.dr6));
  write_dr7(pv.dr7);
}

std::uint64_t take_hardware_dr6() {
  std::uint64_t dr6;
  asm volatile("mov %%dr6, %0" : "=r"(dr6));
  // The CPU never clears DR6's condition bits itself (Intel SDM 17.2.3).
  asm volatile("mov %0, %%dr6" ::"r"(kDr6Default));
  return dr6;
}

std::uint64_t read_dr7() {
  std::uint64_t dr7;
  asm volatile("mov %%dr7, %0" : "=r"(dr7));
  return dr7;
}

void write_dr7(std::uint64_t value) { asm volatile("mov %0, %%dr7" ::"r"(value) : "memory"); }

void load_guest_cr4(const Vcpu& vcpu) {
  constexpr std::uint64_t kGuestControlled = priv_op::X86_CR4_FSGSBASE | priv_op::X86_CR4_TSD;
  const std::uint64_t cr4 = read_cr4();
  const std::uint64_t want = (cr4 & ~kGuestControlled) | (vcpu.pv.guest_cr4 & kGuestControlled);
  if (want != cr4) write_cr4(want);
}

void load_guest_ldt(const Vcpu& vcpu) {
  const std::uint64_t* pages[16];
  const unsigned nr_pages = (vcpu.mm.ldt_ents + 511) / 512;
  for (unsigned i = 0; i < nr_pages; ++i) {
    const Mfn f = vcpu.mm.ldt_frames[i];
    pages[i] = f != 0 ? static_cast<const std::uint64_t*>(phys_to_virt(f << 12)) : nullptr;
  }
  gdt_load_ldt(get_cpu_info()->cpu_id, pages, vcpu.mm.ldt_ents);
}

void load_guest_root(const Vcpu& vcpu) {
  std::uint64_t mfn = vcpu.mm.kernel_mode || vcpu.mm.guest_table_user == 0 ? vcpu.mm.guest_table : vcpu.mm.guest_table_user;
  asm volatile("mov %0, %%cr3" ::"r"(mfn << 12) : "memory");
}

void PvCpuPlatform::toggle_guest_mode(Vcpu& vcpu) {
  vcpu.mm.kernel_mode = !vcpu.mm.kernel_mode;
  load_guest_root(vcpu);
  swapgs();  // the other mode's GS base becomes the active one
}

void PvCpuPlatform::set_segment_base(Vcpu& vcpu, unsigned which, std::uint64_t value) {
  switch (which) {
    case pv::SEGBASE_FS:
      wrmsr(MSR_FS_BASE, value);
      break;
    case pv::SEGBASE_GS_USER:
      wrmsr(vcpu.mm.kernel_mode ? MSR_KERNEL_GS_BASE : MSR_GS_BASE, value);
      break;
    case pv::SEGBASE_GS_KERNEL:
      wrmsr(vcpu.mm.kernel_mode ? MSR_GS_BASE : MSR_KERNEL_GS_BASE, value);
      break;
    case pv::SEGBASE_GS_USER_SEL: {
      // Load the user %gs selector with the user base in place: swapgs around the load. A
      // selector that faults loads the null selector instead (usercopy.S's fixup).
      std::uint16_t sel = static_cast<std::uint16_t>(value);
      if (sel > 3) sel |= 3;
      if (vcpu.mm.kernel_mode) swapgs();
      hv_load_gs_selector(sel);
      if (vcpu.mm.kernel_mode) swapgs();
      break;
    }
    default:
      break;
  }
}

void PvCpuPlatform::load_gdt_copy(const Vcpu& vcpu) { load_guest_gdt(vcpu); }

std::uint64_t PvCpuPlatform::system_time_ns() { return x86::system_time_ns(); }

void PvCpuPlatform::set_fpu_trap(bool ts) {
  std::uint64_t cr0 = read_cr0();
  write_cr0(ts ? cr0 | CR0_TS : cr0 & ~CR0_TS);
}

}  // namespace hv::x86
