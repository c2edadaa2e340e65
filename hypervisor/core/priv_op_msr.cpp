// priv_op_msr: rdmsr/wrmsr from a PV guest kernel, as Xen 4.17 answers them (msr.c
// guest_rdmsr/guest_wrmsr, then pv/emul-priv-op.c read_msr/write_msr). A false return is
// #GP(0) for the guest. MSRs Xen implements through subsystems we do not have (vMCE, vPMU
// with a PMU mode on, viridian, cpufreq-controller dom0) are answered as Xen answers them
// with those subsystems in their default state.
#include <pv/arch_x86_64.hpp>

#include "priv_op.hpp"

namespace hv::priv_op {
namespace {

enum Vendor : unsigned { kIntel = 1, kAmd = 2, kCentaur = 4, kShanghai = 8, kHygon = 16 };

unsigned vendor(PrivOpPlatform& hw) {
  switch (hw.guest_cpuid(0, 0).ebx) {
    case 0x756e6547: return kIntel;     // "Genu"ineIntel
    case 0x68747541: return kAmd;       // "Auth"enticAMD
    case 0x746e6543: return kCentaur;   // "Cent"aurHauls
    case 0x68532020: return kShanghai;  // "  Sh"anghai
    case 0x6f677948: return kHygon;     // "Hygo"nGenuine
    default: return 0;
  }
}

bool long_mode(PrivOpPlatform& hw) { return hw.guest_cpuid(0x80000001, 0).edx & (1u << 29); }
bool canonical(std::uint64_t v) { return v < 0x0000800000000000ull || v >= 0xffff800000000000ull; }

constexpr std::uint64_t EFER_SCE = 1, EFER_LME = 1u << 8, EFER_LMA = 1u << 10,
                        EFER_NXE = 1u << 11, EFER_SVME = 1u << 12, EFER_FFXSE = 1u << 14;
constexpr std::uint64_t kEferKnown = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | EFER_FFXSE;

std::uint64_t guest_efer(PrivOpPlatform& hw) { return hw.read_efer() & kEferKnown & ~EFER_SVME; }

// Performance monitoring off, debug store and PEBS unavailable, xTPR messages disabled,
// MONITOR/MWAIT hidden.
std::uint64_t guest_misc_enable(std::uint64_t v) {
  v &= ~((1ull << 7) | (1ull << 18));
  return v | (1ull << 11) | (1ull << 12) | (1ull << 23);
}

bool in(std::uint32_t msr, std::uint32_t lo, std::uint32_t hi) { return msr >= lo && msr <= hi; }

// The AMD P-state/FID-VID MSRs Xen answers with 0 (reads) and drops (writes) unless the
// domain is the cpufreq controller.
bool amd_pstate_msr(std::uint32_t m) {
  return m == 0xc0010041 || m == 0xc0010042 || in(m, 0xc0010061, 0xc001006b);
}

// Performance counters: with vPMU off (Xen's default) reads give 0 and writes are dropped.
bool pmu_msr(std::uint32_t m, unsigned v) {
  if (v & kIntel)
    return in(m, 0xc1, 0xc8) || in(m, 0x186, 0x189) || in(m, 0x309, 0x30b) || in(m, 0x38d, 0x390);
  if (v & (kAmd | kHygon)) return in(m, 0xc0010200, 0xc001020b) || in(m, 0xc0010000, 0xc0010007);
  return false;
}

bool has_rdtscp_or_rdpid(PrivOpPlatform& hw) {
  return (hw.guest_cpuid(0x80000001, 0).edx & (1u << 27)) || (hw.guest_cpuid(7, 0).ecx & (1u << 22));
}
bool has_spec_ctrl(PrivOpPlatform& hw) {
  return (hw.guest_cpuid(7, 0).edx & (1u << 26)) || (hw.guest_cpuid(0x80000008, 0).ebx & (1u << 14));
}

// Xen's vMCE (cpu/mcheck/vmce.c): two guest banks; MCG_CAP is MCG_SER_P|MCG_TES_P|MCG_CMCI_P
// plus the bank count on Intel, only the count on AMD; no MCG_CTL_P and no LMCE. Every MSR of
// the machine-check ranges that is not one of those reads 0 and ignores writes.
constexpr unsigned kGuestMcBanks = 2;
constexpr std::uint64_t kMcgSerP = 1ull << 24, kMcgTesP = 1ull << 11, kMcgCmciP = 1ull << 10;

bool machine_check_msr(std::uint32_t msr) {
  return msr <= 1 /* P5_MC_ADDR/TYPE */ || in(msr, 0x179, 0x17b) || in(msr, 0x280, 0x29f) ||
         in(msr, 0x400, 0x47f) || msr == 0x4d0;
}

std::uint64_t guest_mcg_cap(unsigned vendor) {
  return vendor & (kIntel | kCentaur | kShanghai) ? kMcgSerP | kMcgTesP | kMcgCmciP | kGuestMcBanks
                                                  : kGuestMcBanks;
}

// 1 handled (value set), 0 #GP.
int vmce_read(const PvCpuState& pv, unsigned vendor, std::uint32_t msr, std::uint64_t& value) {
  value = 0;
  if (msr == 0x17a) value = pv.mcg_status;
  else if (msr == 0x179) value = guest_mcg_cap(vendor);
  else if (msr == 0x4d0) return 0;  // MCG_EXT_CTL needs LMCE
  else if (in(msr, 0x400, 0x400 + 4 * kGuestMcBanks - 1)) {
    const unsigned bank = (msr - 0x400) / 4;
    switch (msr & 3) {
      case 0: value = ~std::uint64_t{0}; break;  // MCi_CTL: all ones
      case 1: value = pv.mc_status[bank]; break;
      case 2: value = pv.mc_addr[bank]; break;
      case 3: value = pv.mc_misc[bank]; break;
    }
  } else if ((vendor & kIntel) && in(msr, 0x280, 0x280 + kGuestMcBanks - 1)) {
    value = pv.mc_ctl2[msr - 0x280];
  }
  return 1;
}

int vmce_write(PvCpuState& pv, unsigned vendor, std::uint32_t msr, std::uint64_t value) {
  if (msr == 0x17a) pv.mcg_status = value;
  else if (msr == 0x4d0) return 0;
  else if (in(msr, 0x400, 0x400 + 4 * kGuestMcBanks - 1)) {
    const unsigned bank = (msr - 0x400) / 4;
    std::uint64_t* slot = (msr & 3) == 1 ? &pv.mc_status[bank] : (msr & 3) == 2 ? &pv.mc_addr[bank]
                          : (msr & 3) == 3 ? &pv.mc_misc[bank] : nullptr;
    if (slot != nullptr) {  // only 0 may be written (a guest clearing a logged error)
      if (value != 0) return 0;
      *slot = 0;
    }
  } else if ((vendor & kIntel) && in(msr, 0x280, 0x280 + kGuestMcBanks - 1)) {
    pv.mc_ctl2[msr - 0x280] = value;
  }
  return 1;  // MCG_CTL, MCG_CAP, MCi_CTL and the rest: writes ignored
}

// guest_rdmsr: 1 handled (value set), 0 #GP, -1 not handled here.
int msr_infrastructure_read(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr,
                            std::uint64_t& value) {
  const unsigned v = vendor(hw);
  const PvCpuState& pv = ctx.vcpu.pv;
  if (machine_check_msr(msr)) return vmce_read(pv, v, msr, value);
  switch (msr) {
    case 0x3a:  // IA32_FEATURE_CONTROL: locked, nothing enabled (PV has no VMX)
      if (!(v & (kIntel | kCentaur | kShanghai))) return 0;
      value = 1;
      return 1;
    case 0x17:  // IA32_PLATFORM_ID
      return (v & kIntel) && hw.read_msr_safe(msr, value) ? 1 : 0;
    case 0x8b:  // microcode revision
      return (v & (kIntel | kAmd)) && hw.read_msr_safe(msr, value) ? 1 : 0;
    case 0x48:  // SPEC_CTRL
      if (!has_spec_ctrl(hw)) return 0;
      value = pv.msr_spec_ctrl;
      return 1;
    case 0xce:  // PLATFORM_INFO: no CPUID faulting offered
      value = 0;
      return 1;
    case 0x140:  // MISC_FEATURES_ENABLES
      value = pv.msr_misc_features_enables;
      return 1;
    case 0x198: case 0x199:  // PERF_STATUS / PERF_CTL: read as zero
      if (!(v & (kIntel | kCentaur))) return 0;
      value = 0;
      return 1;
    case 0x19c:  // THERM_STATUS
      if (v != kIntel) return 0;
      value = 0;
      return 1;
    case MSR_TSC_AUX:
      if (!has_rdtscp_or_rdpid(hw)) return 0;
      value = pv.msr_tsc_aux;
      return 1;
    case 0xc0010015:  // K8 HWCR
      if (!(v & (kAmd | kHygon))) return 0;
      value = 0;
      return 1;
    case 0xc0011029:  // DE_CFG: LFENCE is dispatch-serialising
      if (!(v & (kAmd | kHygon))) return 0;
      value = 2;
      return 1;
    default:
      // Write-only, not offered to PV guests, x2APIC, Xen's own range (its hypercall-page
      // MSR is write-only): all #GP.
      if (msr == 0x79 || msr == 0x49 || msr == 0x10b || in(msr, 0x800, 0x8ff) ||
          in(msr, 0x40000000, 0x400002ff) || msr == 0x10a || msr == 0xd90 || msr == 0xda0)
        return 0;
      return -1;
  }
}

bool emul_read(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t& value) {
  const unsigned v = vendor(hw);
  switch (msr) {
    case MSR_APIC_BASE:  // enabled, default base, BSP flag on vCPU 0 (Linux reads it)
      value = 0xfee00000ull | (1u << 11) | (ctx.vcpu.id() == 0 ? 1u << 8 : 0);
      return true;
    case MSR_FS_BASE:
      if (!long_mode(hw)) return false;
      value = hw.read_fs_base();
      return true;
    case MSR_GS_BASE:
      if (!long_mode(hw)) return false;
      value = hw.read_gs_base();
      return true;
    case MSR_SHADOW_GS_BASE:  // only readable in kernel mode, where the shadow is the user base
      if (!long_mode(hw)) return false;
      value = ctx.vcpu.pv.gs_base_user;
      return true;
    case MSR_IA32_TSC:
      value = hw.read_tsc();
      return true;
    case MSR_EFER:
      value = guest_efer(hw);
      return true;
    case MSR_IA32_CR_PAT:
      value = XEN_MSR_PAT;
      return true;
    case MSR_IA32_MISC_ENABLE:
      if (!hw.read_msr_safe(msr, value)) return false;
      value = guest_misc_enable(value);
      return true;
    case 0x345:  // PERF_CAPABILITIES: none
      value = 0;
      return true;
    case 0xc001001f:  // AMD64_NB_CFG (and FAM10H_MMIO_CONF_BASE): zero for unpinned vCPUs
    case 0xc0010058:
      value = 0;
      return true;
    default:
      if ((v & kAmd) && amd_pstate_msr(msr)) {
        value = 0;
        return true;
      }
      if (pmu_msr(msr, v)) {
        value = 0;
        return true;
      }
      return false;
  }
}

int msr_infrastructure_write(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr,
                             std::uint64_t value) {
  const unsigned v = vendor(hw);
  PvCpuState& pv = ctx.vcpu.pv;
  if (machine_check_msr(msr)) return vmce_write(pv, v, msr, value);
  switch (msr) {
    case 0x8b:  // Intel documents "write 0 before reading the revision"
      return v == kIntel && value == 0 ? 1 : 0;
    case 0x48: {
      const CpuidRegs l7 = hw.guest_cpuid(7, 0), e8 = hw.guest_cpuid(0x80000008, 0);
      const bool ssbd = (l7.edx & (1u << 31)) || (e8.ebx & (1u << 24));
      const bool psfd = (hw.guest_cpuid(7, 2).edx & 1u) || (e8.ebx & (1u << 28));
      const std::uint64_t valid = 1 | 2 | (ssbd ? 4 : 0) | (psfd ? 0x80 : 0);
      if (!has_spec_ctrl(hw) || (value & ~valid)) return 0;
      pv.msr_spec_ctrl = value;
      return 1;
    }
    case 0x49:  // PRED_CMD: IBPB only
      if (!has_spec_ctrl(hw) && !(hw.guest_cpuid(0x80000008, 0).ebx & (1u << 12))) return 0;
      if (value & ~std::uint64_t{1}) return 0;
      return hw.write_msr_safe(msr, value) ? 1 : 0;
    case 0x10b:  // FLUSH_CMD: L1D flush only
      if (!(hw.guest_cpuid(7, 0).edx & (1u << 28)) || (value & ~std::uint64_t{1})) return 0;
      return hw.write_msr_safe(msr, value) ? 1 : 0;
    case 0x140:  // MISC_FEATURES_ENABLES: no CPUID faulting, so every bit is reserved
      if (value != 0) return 0;
      pv.msr_misc_features_enables = 0;
      return 1;
    case 0x199:  // PERF_CTL: writes dropped
      return v & (kIntel | kCentaur) ? 1 : 0;
    case MSR_TSC_AUX:
      if (!has_rdtscp_or_rdpid(hw) || value != static_cast<std::uint32_t>(value)) return 0;
      pv.msr_tsc_aux = value;
      return 1;
    case 0xc0011029:  // DE_CFG: writes dropped
      return v & (kAmd | kHygon) ? 1 : 0;
    default:
      if (msr == 0x17 || msr == 0x35 || msr == 0xce || msr == 0x10a || msr == 0x79 ||
          msr == 0xc0010020 || in(msr, 0x800, 0x8ff) || in(msr, 0x40000000, 0x400002ff) ||
          msr == 0xd90 || msr == 0xda0)
        return 0;
      return -1;
  }
}

bool emul_write(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t value) {
  const unsigned v = vendor(hw);
  Vcpu& vcpu = ctx.vcpu;
  switch (msr) {
    case MSR_FS_BASE: case MSR_GS_BASE: case MSR_SHADOW_GS_BASE:
      if (!long_mode(hw) || !canonical(value)) return false;
      // Guest kernel mode (wrmsr is ring-0 only): the active GS is the kernel one, the
      // shadow the user one, exactly what set_segment_base names.
      ctx.cpu.set_segment_base(vcpu, msr == MSR_FS_BASE   ? pv::SEGBASE_FS
                                     : msr == MSR_GS_BASE ? pv::SEGBASE_GS_KERNEL
                                                          : pv::SEGBASE_GS_USER,
                               value);
      if (msr == MSR_SHADOW_GS_BASE) vcpu.pv.gs_base_user = value;
      return true;
    case MSR_EFER:  // only the current value may be written back (Linux does)
      return value == guest_efer(hw);
    case MSR_IA32_MISC_ENABLE: {  // any value is dropped, if the MSR exists
      std::uint64_t current = 0;
      return hw.read_msr_safe(msr, current);
    }
    case 0xc001001f: case 0xc0010058:
      return true;
    case 0xe7: case 0xe8:  // MPERF / APERF
      return (v & (kIntel | kAmd | kHygon)) != 0;
    case 0x19a: case 0x1b0:  // THERM_CONTROL / ENERGY_PERF_BIAS
      return v == kIntel;
    default:
      if ((v & (kAmd | kHygon)) && (amd_pstate_msr(msr) || msr == 0xc0010015)) return true;
      return pmu_msr(msr, v);
  }
}

}  // namespace

bool read_msr(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t& value) {
  const int handled = msr_infrastructure_read(ctx, hw, msr, value);
  if (handled == 1 || (handled == -1 && emul_read(ctx, hw, msr, value))) return true;
  // Xen's "faking RDMSR": before the guest has a #GP handler, an MSR the hardware has reads
  // as 0 instead of killing the guest (never for the hypervisor range 0x4000xxxx).
  std::uint64_t ignored = 0;
  if (ctx.vcpu.pv.traps[13].address == 0 && (msr >> 16) != 0x4000 &&
      hw.read_msr_safe(msr, ignored)) {
    value = 0;
    return true;
  }
  return false;
}

bool write_msr(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t value) {
  const int handled = msr_infrastructure_write(ctx, hw, msr, value);
  if (handled != -1) return handled == 1;
  return emul_write(ctx, hw, msr, value);
}

}  // namespace hv::priv_op
