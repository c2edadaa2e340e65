// hc_descriptors: set_gdt, update_descriptor, set_debugreg and get_debugreg for 64-bit PV
// guests, as Xen 4.17 does them (pv/descriptor-tables.c, pv/misc-hypercalls.c,
// x86_emulate.c x86emul_read_dr). GDT frames hold seg_desc type references, so no writable
// mapping of them can exist; the only writes are update_descriptor's, checked first.
#include <pv/errno.hpp>

#include "descriptors.hpp"
#include "hypercall.hpp"
#include "mm_ops.hpp"

namespace hv {

// Xen's pv_set_gdt: every new frame gets its seg_desc reference before the old GDT goes.
long install_gdt(Vcpu& vcpu, FrameTable& frames, const std::uint64_t* list, unsigned entries) {
  const unsigned nr_frames = (entries + 511) / 512;
  for (unsigned i = 0; i < nr_frames; ++i) {
    if (!frames.valid(list[i]) ||
        !frames.get_page_and_type(list[i], vcpu.domain().id(), PageType::seg_desc).ok()) {
      while (i-- > 0) frames.put_page_and_type(list[i]);
      return -pv::XEN_EINVAL;
    }
  }
  destroy_gdt(vcpu.pv, frames);
  for (unsigned i = 0; i < nr_frames; ++i) vcpu.pv.gdt_frames[i] = list[i];
  vcpu.pv.gdt_ents = entries;
  return 0;
}

namespace {

bool in_gdt(const PvCpuState& pv, Mfn mfn) {
  for (unsigned i = 0; i < (pv.gdt_ents + 511) / 512; ++i)
    if (pv.gdt_frames[i] == mfn) return true;
  return false;
}

// DR7: Xen's reserved-bit fixups, then GD and I/O breakpoints (which need CR4.DE, never set
// for our guests) are refused.
long set_dr7(PvCpuState& pv, std::uint64_t value) {
  constexpr std::uint64_t kKeep = 0xffff27ff, kSetOne = 0x400, kGeneralDetect = 0x2000;
  constexpr std::uint64_t kActive = 0xff;
  if (value != static_cast<std::uint32_t>(value)) return -pv::XEN_EINVAL;
  value = (value & kKeep) | kSetOne;
  if ((value & kGeneralDetect) != 0) return -pv::XEN_EPERM;
  if ((value & kActive) != 0)
    for (unsigned shift = 16; shift < 32; shift += 4)
      if (((value >> shift) & 3) == 2) return -pv::XEN_EPERM;  // DR_IO without CR4.DE
  pv.dr7 = value;
  pv.dr_dirty = true;  // (Xen loads DR0-3 and DR7 here for the current vCPU)
  return 0;
}

}  // namespace

long do_set_gdt(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  const auto entries = static_cast<unsigned>(args.a2);
  if (entries > kGuestGdtEntries) return -pv::XEN_EINVAL;
  std::uint64_t list[kGuestGdtFrames] = {};
  const unsigned nr_frames = (entries + 511) / 512;
  if (nr_frames != 0 && !ctx.memory.copy_from_guest(list, args.a1, nr_frames * sizeof list[0]).ok())
    return -pv::XEN_EFAULT;
  if (long rc = install_gdt(ctx.vcpu, ctx.mm->context().frames, list, entries); rc != 0) return rc;
  ctx.cpu.load_gdt_copy(ctx.vcpu);
  return 0;
}

long do_update_descriptor(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  const std::uint64_t maddr = args.a1;
  std::uint64_t desc = args.a2;
  // Aligned, or it would corrupt two neighbouring descriptors.
  if ((maddr & 7) != 0 || !check_descriptor(desc)) return -pv::XEN_EINVAL;
  FrameTable& frames = ctx.mm->context().frames;
  const Mfn mfn = maddr >> 12;
  if (!frames.valid(mfn) || !frames.get_page(mfn, ctx.vcpu.domain().id())) return -pv::XEN_EINVAL;
  // A descriptor page stays one; anything else must be a plain writable page (not a table).
  const PageType type = frames.page(mfn).type() == PageType::seg_desc ? PageType::seg_desc : PageType::writable;
  if (!frames.get_page_type(mfn, type).ok()) {
    frames.put_page(mfn);
    return -pv::XEN_EINVAL;
  }
  __atomic_store_n(&ctx.mm->context().memory.frame(mfn)[(maddr & 0xfff) / 8], desc, __ATOMIC_RELAXED);
  frames.put_page_type(mfn);
  frames.put_page(mfn);
  if (in_gdt(ctx.vcpu.pv, mfn)) ctx.cpu.load_gdt_copy(ctx.vcpu);
  for (Mfn f : ctx.vcpu.mm.ldt_frames)
    if (f == mfn) ctx.vcpu.mm.ldt_dirty = true;  // the LDT copy is refreshed on the way out
  return 0;
}

// DR4/DR5 alias DR6/DR7 because a PV guest's CR4.DE is clear.
long set_debugreg(PvCpuState& pv, std::uint32_t reg, std::uint64_t value) {
  switch (reg) {
    case 0: case 1: case 2: case 3:
      if (!guest_addr_ok(value)) return -pv::XEN_EPERM;  // no breakpoints on the hypervisor
      pv.dr[reg] = value;
      pv.dr_dirty = true;
      return 0;
    case 4: case 6:
      if (value != static_cast<std::uint32_t>(value)) return -pv::XEN_EINVAL;
      pv.dr6 = (value & 0xffffefff) | 0xffff0ff0;  // bit 12 reads 0; 4-11 and 16-31 read 1
      pv.dr_dirty = true;
      return 0;
    case 5: case 7:
      return set_dr7(pv, value);
    default:
      return -pv::XEN_ENODEV;
  }
}

// Register numbers are C ints in Xen's prototypes: only the low 32 bits count.
long do_set_debugreg(HypercallContext& ctx, const HypercallArgs& args) {
  return set_debugreg(ctx.vcpu.pv, static_cast<std::uint32_t>(args.a1), args.a2);
}

long do_get_debugreg(HypercallContext& ctx, const HypercallArgs& args) {
  const PvCpuState& pv = ctx.vcpu.pv;
  switch (static_cast<std::uint32_t>(args.a1)) {
    case 0: case 1: case 2: case 3: return static_cast<long>(pv.dr[args.a1 & 3]);
    case 4: case 6: return static_cast<long>(pv.dr6);
    case 5: case 7: return static_cast<long>(pv.dr7);
    default: return -pv::XEN_ENODEV;
  }
}

}  // namespace hv
