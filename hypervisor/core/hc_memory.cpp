// hc_memory: memory_op (hypercall 12), the sub-ops that describe memory: maximum_ram_page,
// current/maximum_reservation, machphys_mapping, machphys_mfn_list, memory_map and
// machine_memory_map (Xen 4.17 common/memory.c, arch/x86/mm.c, arch/x86/x86_64/mm.c).
// Reservation changes (balloon: increase/decrease_reservation, populate_physmap) are
// memory_reservation in reservation.cpp.
#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>
#include <pv/memory.hpp>

#include "hypercall.hpp"
#include "mm_ops.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kM2PExtentFrames = 512;  // machphys_mfn_list reports 2 MiB extents

long reservation(HypercallContext& ctx, std::uint64_t arg, bool maximum) {
  pv::domid_t domid = 0;
  if (!ctx.memory.read(arg, domid).ok()) return -pv::XEN_EFAULT;
  const Domain& d = ctx.vcpu.domain();
  if (domid != pv::DOMID_SELF && domid != d.id()) return -pv::XEN_ESRCH;  // others: via domctl
  return static_cast<long>(maximum ? d.memory.max_pages : d.memory.tot_pages);
}

long machphys_mfn_list(HypercallContext& ctx, std::uint64_t arg) {
  pv::xen_machphys_mfn_list list{};
  if (!ctx.memory.read(arg, list).ok()) return -pv::XEN_EFAULT;
  const std::uint64_t extents = (ctx.info.m2p_frames + kM2PExtentFrames - 1) / kM2PExtentFrames;
  std::uint32_t i = 0;
  for (; i != list.max_extents && i < extents; ++i) {
    const std::uint64_t mfn = ctx.info.m2p_first_mfn + i * kM2PExtentFrames;
    if (!ctx.memory.write(list.extent_start.p + i * sizeof(std::uint64_t), mfn).ok()) return -pv::XEN_EFAULT;
  }
  list.nr_extents = i;
  return ctx.memory.write(arg, list).ok() ? 0 : -pv::XEN_EFAULT;
}

long machine_memory_map(HypercallContext& ctx, std::uint64_t arg) {
  if (!ctx.vcpu.domain().privileged()) return -pv::XEN_EPERM;
  pv::xen_memory_map map{};
  if (!ctx.memory.read(arg, map).ok()) return -pv::XEN_EFAULT;
  if (ctx.info.machine_map == nullptr) return -pv::XEN_ENOSYS;
  std::uint32_t n = 0;
  for (const MemoryRange& r : ctx.info.machine_map->ranges()) {
    if (n == map.nr_entries) break;
    pv::e820entry e{r.base, r.size, static_cast<std::uint32_t>(r.type)};
    if (!ctx.memory.write(map.buffer.p + n * sizeof e, e).ok()) return -pv::XEN_EFAULT;
    ++n;
  }
  map.nr_entries = n;
  return ctx.memory.write(arg, map).ok() ? 0 : -pv::XEN_EFAULT;
}

}  // namespace

long do_memory_op(HypercallContext& ctx, const HypercallArgs& args) {
  const std::uint64_t arg = args.a2;
  const unsigned op = static_cast<unsigned>(args.a1 & 0x3F);  // MEMOP_CMD_MASK
  const std::uint64_t start_extent = args.a1 >> 6;            // MEMOP_EXTENT_SHIFT
  switch (op) {
    case pv::XENMEM_increase_reservation:
    case pv::XENMEM_decrease_reservation:
    case pv::XENMEM_populate_physmap:
      if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
      return memory_reservation(*ctx.mm, ctx.memory, ctx.vcpu.domain().memory, op, start_extent,
                                arg, ctx.info.max_page);
    case pv::XENMEM_maximum_ram_page:
      if (start_extent != 0) return -pv::XEN_EINVAL;
      return static_cast<long>(ctx.info.max_page);
    case pv::XENMEM_current_reservation:
    case pv::XENMEM_maximum_reservation:
      if (start_extent != 0) return -pv::XEN_EINVAL;  // common/memory.c: no continuations
      return reservation(ctx, arg, op == pv::XENMEM_maximum_reservation);
    case pv::XENMEM_machphys_mapping: {
      pv::xen_machphys_mapping m{pv::MACH2PHYS_VIRT_START, pv::MACH2PHYS_VIRT_END, pv::MACH2PHYS_NR_ENTRIES - 1};
      if (ctx.vcpu.domain().privileged() && ctx.info.max_page != 0) m.max_mfn = ctx.info.max_page - 1;
      return ctx.memory.write(arg, m).ok() ? 0 : -pv::XEN_EFAULT;
    }
    case pv::XENMEM_machphys_mfn_list:
      return machphys_mfn_list(ctx, arg);
    case pv::XENMEM_memory_map:
      return -pv::XEN_ENOSYS;  // no pseudo-physical map set: the guest uses start_info.nr_pages
    case pv::XENMEM_machine_memory_map:
      return machine_memory_map(ctx, arg);
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
