// priv_op: emulation of the privileged instructions a PV guest kernel (ring 3) executes and
// that fault with #GP(0) (Xen 4.17 pv/emul-priv-op.c, msr.c guest_rdmsr/guest_wrmsr):
// rdmsr/wrmsr, mov to/from %cr0/%cr2/%cr3/%cr4, clts, wbinvd, rdtsc(p), xsetbv, cli/sti and
// port I/O. The instruction bytes come from guest memory and are hostile: every field is
// decoded and checked here; nothing is trusted from the error code. What Xen does not
// emulate is reported back so the caller delivers the #GP to the guest unchanged.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "cpuid_policy.hpp"
#include "hypercall.hpp"

namespace hv {

enum class PrivOpKind : std::uint8_t {
  rdmsr, wrmsr, mov_from_cr, mov_to_cr, clts, wbinvd, rdtsc, rdtscp, xsetbv, cli, sti,
  in, out, ins, outs,
};

struct PrivOpInsn {
  PrivOpKind kind{};
  std::uint8_t length = 0;      // bytes including prefixes (rip advances by this)
  std::uint8_t cr = 0;          // mov cr: control register number (REX.R included)
  std::uint8_t gpr = 0;         // mov cr: general register (REX.B included)
  std::uint8_t io_bytes = 0;    // port I/O: 1, 2 or 4
  bool port_in_dx = false;      // port I/O: port from %dx (else `port` is the imm8)
  std::uint8_t port = 0;
  bool rep = false;             // ins/outs with an f2/f3 prefix
  bool addr32 = false;          // ins/outs with the 0x67 prefix: %esi/%edi/%ecx
  bool lock = false;
};

// Decodes the instruction at the start of `bytes` (64-bit code segment). nullopt: not one
// of ours (or truncated). `needed` (optional) receives how many bytes decoding wanted when
// `bytes` ran out, so the caller can tell a fetch fault from a foreign instruction.
std::optional<PrivOpInsn> decode_priv_op(std::span<const std::uint8_t> bytes,
                                         std::size_t* needed = nullptr);

// What privileged-operation emulation needs from the machine (the arch implements it; unit
// tests fake it). "Safe" accesses report a hardware fault instead of taking it.
class PrivOpPlatform {
 public:
  virtual bool read_msr_safe(std::uint32_t msr, std::uint64_t& value) = 0;
  virtual bool write_msr_safe(std::uint32_t msr, std::uint64_t value) = 0;
  virtual std::uint64_t read_tsc() = 0;
  virtual std::uint64_t read_cr0() = 0;
  virtual std::uint64_t read_cr4() = 0;  // the hypervisor's CR4 (Xen's mmu_cr4_features)
  virtual std::uint64_t read_efer() = 0;
  virtual std::uint64_t read_fs_base() = 0;
  virtual std::uint64_t read_gs_base() = 0;  // the active GS base (the current mode's)
  virtual std::uint64_t read_xcr0() = 0;
  // Loads XCR0; false when the hardware refuses.
  virtual bool write_xcr0(std::uint64_t value) = 0;
  virtual CpuidRegs guest_cpuid(std::uint32_t leaf, std::uint32_t subleaf) = 0;
  virtual void wbinvd() = 0;
  virtual std::uint32_t port_in(std::uint16_t port, unsigned bytes) = 0;
  virtual void port_out(std::uint16_t port, unsigned bytes, std::uint32_t value) = 0;

 protected:
  ~PrivOpPlatform() = default;
};

enum class PrivOpResult : std::uint8_t {
  emulated,        // done; rip advanced (or an exception the emulation raised was delivered)
  not_emulated,    // Xen would not emulate it: deliver the original #GP
};

// Emulates the instruction at ctx.regs.rip that raised #GP(0) in the guest.
PrivOpResult emulate_privileged_op(HypercallContext& ctx, PrivOpPlatform& hw);

// Pieces, exposed for unit tests. Each returns false where Xen would raise #GP(0).
namespace priv_op {
inline constexpr std::uint32_t MSR_IA32_TSC = 0x10, MSR_APIC_BASE = 0x1b,
                               MSR_IA32_MISC_ENABLE = 0x1a0, MSR_IA32_CR_PAT = 0x277,
                               MSR_EFER = 0xc0000080, MSR_FS_BASE = 0xc0000100,
                               MSR_GS_BASE = 0xc0000101, MSR_SHADOW_GS_BASE = 0xc0000102,
                               MSR_TSC_AUX = 0xc0000103;
inline constexpr std::uint64_t XEN_MSR_PAT = 0x050100070406ull;
inline constexpr std::uint64_t X86_CR0_TS = 1u << 3;
inline constexpr std::uint64_t X86_CR4_TSD = 1u << 2, X86_CR4_DE = 1u << 3,
                               X86_CR4_PAE = 1u << 5, X86_CR4_MCE = 1u << 6,
                               X86_CR4_OSFXSR = 1u << 9, X86_CR4_OSXMMEXCPT = 1u << 10,
                               X86_CR4_FSGSBASE = 1u << 16, X86_CR4_OSXSAVE = 1u << 18;
// Xen's PV_CR4_GUEST_MASK (bits the guest chooses) and PV_CR4_GUEST_VISIBLE_MASK (bits it
// sees from the hypervisor's own setting).
inline constexpr std::uint64_t kCr4GuestMask =
    X86_CR4_TSD | X86_CR4_DE | X86_CR4_FSGSBASE | X86_CR4_OSXSAVE;
inline constexpr std::uint64_t kCr4GuestVisibleMask =
    X86_CR4_PAE | X86_CR4_MCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

bool read_msr(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t& value);
bool write_msr(HypercallContext& ctx, PrivOpPlatform& hw, std::uint32_t msr, std::uint64_t value);
std::uint64_t guest_cr4(const Vcpu& vcpu, PrivOpPlatform& hw);
enum class IoStep : std::uint8_t {
  completed,            // advance rip
  repeat,               // a rep string op did part of its work: resume at the same rip
  raise_gp,             // Xen delivers #GP (the guest may not touch the port at all)
  exception_delivered,  // a guest-memory fault of ins/outs was delivered as #PF
};
// Port I/O after the decode: in/out move %al/%ax/%eax, ins/outs go through guest memory.
IoStep emulate_port_io(HypercallContext& ctx, PrivOpPlatform& hw, const PrivOpInsn& insn);
// Whether the guest's virtual IOPL lets it use port I/O in its current mode (Xen iopl_ok).
bool iopl_ok(const Vcpu& vcpu);
}  // namespace priv_op

}  // namespace hv
