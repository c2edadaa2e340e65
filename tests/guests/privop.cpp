// privop: privileged instructions in guest kernel mode as Xen 4.17 emulates them on #GP(0)
// (pv/emul-priv-op.c): wrmsr/rdmsr of the FS/GS bases checked through %fs:0 / %gs:0, the
// values Xen gives for EFER, PAT, MISC_ENABLE and APIC_BASE, a bogus MSR and hlt refused
// with #GP(0); mov from %cr0/%cr3/%cr4, the virtual TS through fpu_taskswitch and clts;
// port I/O: refused without a virtual IOPL, then (set_iopl 1) a port dom0 holds, the
// emulated RTC index latch, and ports Xen keeps from dom0 (the PIC, the hypervisor's own
// COM1) reading as all ones and ignoring writes; cli and wbinvd are accepted no-ops.
#include <pv/hypercall.hpp>
#include <pv/physdev.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "traps.hpp"

#define DECLARE_INSN(ret, name, ...) \
  extern "C" ret name(__VA_ARGS__);  \
  extern "C" char name##_insn[], name##_resume[]

DECLARE_INSN(std::uint64_t, privop_rdmsr, std::uint32_t msr, std::uint64_t if_refused);
DECLARE_INSN(int, privop_wrmsr, std::uint32_t msr, std::uint64_t value);
DECLARE_INSN(std::uint64_t, privop_read_cr0);
DECLARE_INSN(std::uint64_t, privop_read_cr3);
DECLARE_INSN(std::uint64_t, privop_read_cr4);
DECLARE_INSN(void, privop_clts);
DECLARE_INSN(std::uint32_t, privop_inb, std::uint16_t port);
DECLARE_INSN(std::uint32_t, privop_inw, std::uint16_t port);
DECLARE_INSN(std::uint32_t, privop_in80);
DECLARE_INSN(void, privop_outb, std::uint16_t port, std::uint8_t value);
DECLARE_INSN(void, privop_cli);
DECLARE_INSN(void, privop_wbinvd);
DECLARE_INSN(void, privop_hlt);
extern "C" std::uint64_t privop_read_fs0();
extern "C" std::uint64_t privop_read_gs0();

namespace {
using guest::fail;
using guest::print;

constexpr std::uint64_t kRefused = 0xbad0bad0bad0bad0;
constexpr std::uint32_t MSR_APIC_BASE = 0x1b, MSR_MISC_ENABLE = 0x1a0, MSR_PAT = 0x277,
                        MSR_EFER = 0xc0000080, MSR_FS_BASE = 0xc0000100,
                        MSR_GS_BASE = 0xc0000101, MSR_SHADOW_GS_BASE = 0xc0000102;
constexpr std::uint64_t EFER_SCE = 1, EFER_LME = 1u << 8, EFER_LMA = 1u << 10,
                        EFER_NXE = 1u << 11, EFER_SVME = 1u << 12, EFER_FFXSE = 1u << 14;
constexpr std::uint64_t CR0_PE = 1, CR0_TS = 1u << 3, CR0_PG = 1u << 31;
constexpr std::uint64_t CR4_PAE = 1u << 5, CR4_MCE = 1u << 6, CR4_OSFXSR = 1u << 9,
                        CR4_OSXMMEXCPT = 1u << 10;

std::uint64_t addr(const char* p) { return reinterpret_cast<std::uint64_t>(p); }

// Arms the #GP catch for `resume`, runs `op`, and says whether a #GP(0) was delivered at
// `insn` (anything else delivered there fails the test).
template <typename Op>
bool refused(const char* what, const char* insn, const char* resume, Op op) {
  const unsigned before = guest::trap_count;
  guest::expect_trap(13, addr(resume));
  op();
  if (guest::trap_count == before) return false;
  const guest::TrapRecord& t = guest::last_trap;
  if (t.rip != addr(insn)) fail("%s: #GP at rip %#lx, expected %#lx", what, t.rip, addr(insn));
  if (!t.has_error || t.error != 0) fail("%s: #GP error code %#lx, expected 0", what, t.error);
  return true;
}

std::uint64_t rdmsr(std::uint32_t msr) {
  std::uint64_t v = 0;
  if (refused("rdmsr", privop_rdmsr_insn, privop_rdmsr_resume, [&] { v = privop_rdmsr(msr, kRefused); }))
    fail("rdmsr %#x was refused with #GP", msr);
  return v;
}

void wrmsr(std::uint32_t msr, std::uint64_t value) {
  int rc = 0;
  if (refused("wrmsr", privop_wrmsr_insn, privop_wrmsr_resume, [&] { rc = privop_wrmsr(msr, value); }) ||
      rc != 0)
    fail("wrmsr %#x <- %#lx was refused with #GP", msr, value);
}

void expect_eq(const char* what, std::uint64_t got, std::uint64_t expected) {
  if (got != expected) fail("%s reads %#lx, expected %#lx", what, got, expected);
  print("ok: %s = %#lx\n", what, got);
}

std::uint64_t fs_target = 0x6673'2d74'6172'6765;
std::uint64_t gs_target = 0x6773'2d74'6172'6765;

void segment_base_msrs() {
  const auto fs = reinterpret_cast<std::uint64_t>(&fs_target);
  const auto gs = reinterpret_cast<std::uint64_t>(&gs_target);
  wrmsr(MSR_FS_BASE, fs);
  expect_eq("%fs:0 after wrmsr FS_BASE", privop_read_fs0(), fs_target);
  expect_eq("rdmsr FS_BASE", rdmsr(MSR_FS_BASE), fs);
  wrmsr(MSR_GS_BASE, gs);  // guest kernel mode: the kernel GS base, as startup_xen sets it
  expect_eq("%gs:0 after wrmsr GS_BASE", privop_read_gs0(), gs_target);
  expect_eq("rdmsr GS_BASE", rdmsr(MSR_GS_BASE), gs);
  wrmsr(MSR_SHADOW_GS_BASE, 0x7000'1000);
  expect_eq("rdmsr SHADOW_GS_BASE", rdmsr(MSR_SHADOW_GS_BASE), 0x7000'1000);
  expect_eq("%gs:0 unchanged by SHADOW_GS_BASE", privop_read_gs0(), gs_target);
  int rc = 0;
  if (!refused("wrmsr GS_BASE non-canonical", privop_wrmsr_insn, privop_wrmsr_resume,
               [&] { rc = privop_wrmsr(MSR_GS_BASE, 0x0000'8000'0000'0000); }))
    fail("wrmsr GS_BASE <- non-canonical was accepted");
  print("ok: wrmsr GS_BASE <- non-canonical: #GP(0)\n");
  expect_eq("rdmsr GS_BASE after the refusal", rdmsr(MSR_GS_BASE), gs);
  wrmsr(MSR_FS_BASE, 0);
  wrmsr(MSR_GS_BASE, 0);
  wrmsr(MSR_SHADOW_GS_BASE, 0);
}

void msr_values() {
  const std::uint64_t efer = rdmsr(MSR_EFER);
  const std::uint64_t known = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_FFXSE;
  if ((efer & (EFER_LME | EFER_LMA)) != (EFER_LME | EFER_LMA) || (efer & ~known) || (efer & EFER_SVME))
    fail("rdmsr EFER = %#lx: expected LME|LMA, only known bits, never SVME", efer);
  print("ok: rdmsr EFER = %#lx\n", efer);
  wrmsr(MSR_EFER, efer);  // writing back the current value is allowed (Linux does)
  print("ok: wrmsr EFER <- its own value\n");
  int rc = 0;
  if (!refused("wrmsr EFER", privop_wrmsr_insn, privop_wrmsr_resume,
               [&] { rc = privop_wrmsr(MSR_EFER, efer ^ EFER_SCE); }))
    fail("wrmsr EFER <- %#lx (a change) was accepted", efer ^ EFER_SCE);
  print("ok: wrmsr EFER <- a different value: #GP(0)\n");
  expect_eq("rdmsr PAT", rdmsr(MSR_PAT), 0x050100070406);
  expect_eq("rdmsr APIC_BASE (vCPU 0)", rdmsr(MSR_APIC_BASE), 0xfee00900);
  const std::uint64_t misc = rdmsr(MSR_MISC_ENABLE);
  const std::uint64_t forced_on = (1u << 11) | (1u << 12) | (1u << 23), forced_off = (1u << 7) | (1u << 18);
  if ((misc & forced_on) != forced_on || (misc & forced_off))
    fail("rdmsr MISC_ENABLE = %#lx: expected BTS/PEBS unavailable, xTPR off, no PMU, no MWAIT", misc);
  print("ok: rdmsr MISC_ENABLE = %#lx\n", misc);
  wrmsr(MSR_MISC_ENABLE, 0);  // dropped, not refused
  expect_eq("rdmsr MISC_ENABLE after a write", rdmsr(MSR_MISC_ENABLE), misc);
  std::uint64_t v = 0;
  if (!refused("rdmsr bogus", privop_rdmsr_insn, privop_rdmsr_resume,
               [&] { v = privop_rdmsr(0x4b564d42, kRefused); }))
    fail("rdmsr 0x4b564d42 returned %#lx instead of #GP", v);
  print("ok: rdmsr 0x4b564d42 (no such MSR): #GP(0)\n");
}

void control_registers() {
  const std::uint64_t cr0 = privop_read_cr0();
  if ((cr0 & (CR0_PE | CR0_PG)) != (CR0_PE | CR0_PG)) fail("mov %%cr0 = %#lx: PE and PG expected", cr0);
  print("ok: mov %%cr0 = %#lx\n", cr0);
  // No FPU use between the TS changes and the reads: #NM has no handler here.
  guest::hypercall<pv::hypercall::fpu_taskswitch>(1);
  const std::uint64_t with_ts = privop_read_cr0();
  privop_clts();
  const std::uint64_t after_clts = privop_read_cr0();
  if (!(with_ts & CR0_TS)) fail("mov %%cr0 after fpu_taskswitch(1) = %#lx: TS clear", with_ts);
  if (after_clts & CR0_TS) fail("mov %%cr0 after clts = %#lx: TS still set", after_clts);
  print("ok: virtual TS: %#lx after fpu_taskswitch(1), %#lx after clts\n", with_ts, after_clts);
  const std::uint64_t cr3 = privop_read_cr3();
  expect_eq("mov %cr3 (xen_pfn_to_cr3 of the root mfn)", cr3, guest::mm::root_mfn() << 12);
  // Xen shows PAE, OSFXSR, OSXMMEXCPT (and MCE if it enabled machine checks) of its own
  // CR4 plus the guest's own choices, none made yet.
  const std::uint64_t cr4 = privop_read_cr4();
  const std::uint64_t required = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  if ((cr4 & required) != required || (cr4 & ~(required | CR4_MCE)))
    fail("mov %%cr4 = %#lx: expected PAE|OSFXSR|OSXMMEXCPT (+MCE) only", cr4);
  print("ok: mov %%cr4 = %#lx\n", cr4);
}

long set_iopl(unsigned iopl) {
  pv::physdev_set_iopl op{};
  op.iopl = iopl;
  return guest::hypercall<pv::hypercall::physdev_op>(pv::PHYSDEVOP_set_iopl,
                                                     reinterpret_cast<std::uint64_t>(&op));
}

bool inb_refused(std::uint16_t port, std::uint32_t& v) {
  return refused("inb", privop_inb_insn, privop_inb_resume, [&] { v = privop_inb(port); });
}

std::uint32_t inb(std::uint16_t port) {
  std::uint32_t v = 0;
  if (inb_refused(port, v)) fail("inb %#x refused with #GP under IOPL 1", port);
  return v & 0xff;
}

void ports() {
  std::uint32_t v = 0;
  if (!refused("in $0x80", privop_in80_insn, privop_in80_resume, [&] { v = privop_in80(); }))
    fail("in $0x80 without IOPL returned %#x instead of #GP", v);
  if (!refused("cli", privop_cli_insn, privop_cli_resume, [] { privop_cli(); }))
    fail("cli without IOPL was accepted");
  print("ok: in $0x80 and cli without a virtual IOPL: #GP(0)\n");
  if (long rc = set_iopl(1); rc != 0) fail("physdev_op(set_iopl 1) = %ld", rc);
  if (refused("in $0x80", privop_in80_insn, privop_in80_resume, [&] { v = privop_in80(); }))
    fail("in $0x80 (a port dom0 holds) refused under IOPL 1");
  print("ok: in $0x80 under IOPL 1 = %#x\n", v & 0xff);
  privop_cli();  // accepted and ignored: events are masked through vcpu_info, never by cli
  print("ok: cli under IOPL 1 accepted\n");
  privop_outb(0x70, 0x0b);  // RTC index: latched by the hypervisor, never reaches the RTC
  expect_eq("inb 0x70 (the latched RTC index)", inb(0x70), 0x0b);
  print("ok: inb 0x71 (RTC status B) = %#x\n", inb(0x71));
  expect_eq("inb 0x21 (the PIC, kept from dom0)", inb(0x21), 0xff);
  const std::uint32_t w = privop_inw(0x20);
  expect_eq("inw 0x20 (the PIC; upper half of %eax untouched)", w, 0xbad0000u | 0xffff);
  privop_outb(0x3ff, 0x5a);  // COM1 scratch: the hypervisor's own UART is kept from dom0
  expect_eq("inb 0x3ff after writing 0x5a (the hypervisor's COM1)", inb(0x3ff), 0xff);
  if (long rc = set_iopl(0); rc != 0) fail("physdev_op(set_iopl 0) = %ld", rc);
  if (!inb_refused(0x80, v)) fail("inb 0x80 after set_iopl 0 was accepted");
  print("ok: inb 0x80 after set_iopl 0: #GP(0)\n");
}

void misc() {
  if (refused("wbinvd", privop_wbinvd_insn, privop_wbinvd_resume, [] { privop_wbinvd(); }))
    fail("wbinvd was refused");
  print("ok: wbinvd accepted\n");
  if (!refused("hlt", privop_hlt_insn, privop_hlt_resume, [] { privop_hlt(); }))
    fail("hlt did not raise #GP");
  print("ok: hlt: #GP(0)\n");
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  if (long rc = guest::set_trap_table({{13, 0}}); rc != 0) fail("set_trap_table: %ld", rc);
  segment_base_msrs();
  msr_values();
  control_registers();
  ports();
  misc();
}
