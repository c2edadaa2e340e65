// hc_version: xen_version (hypercall 17). We report Xen 4.17, the ABI we implement, and
// deny the privileged sub-ops (commandline, build_id) to unprivileged domains as Xen's
// default policy does ("<denied>" / -EPERM).
#include <pv/arch_x86_64.hpp>
#include <pv/errno.hpp>
#include <pv/version.hpp>

#include "hypercall.hpp"

namespace hv {
namespace {

constexpr long kMajor = 4, kMinor = 17;
constexpr char kDenied[] = "<denied>";

template <std::size_t N>
void copy_string(char (&dst)[N], const char* src) {
  std::size_t i = 0;
  for (; i + 1 < N && src[i] != 0; ++i) dst[i] = src[i];
  for (; i < N; ++i) dst[i] = 0;
}

template <std::size_t N>
long put_string(HypercallContext& ctx, std::uint64_t arg, const char* text) {
  char buf[N];
  copy_string(buf, text);
  return ctx.memory.copy_to_guest(arg, buf, N).ok() ? 0 : -pv::XEN_EFAULT;
}

long get_features(HypercallContext& ctx, std::uint64_t arg) {
  pv::xen_feature_info fi{};
  if (!ctx.memory.read(arg, fi).ok()) return -pv::XEN_EFAULT;
  if (fi.submap_idx != 0) return -pv::XEN_EINVAL;
  // 64-bit PV, not translated, pae_extended_cr3 always on for 64-bit guests.
  fi.submap = (1u << pv::XENFEAT_memory_op_vnode_supported) | (1u << pv::XENFEAT_pae_pgdir_above_4gb) |
              (1u << pv::XENFEAT_mmu_pt_update_preserve_ad) | (1u << pv::XENFEAT_highmem_assist) |
              (1u << pv::XENFEAT_gnttab_map_avail_bits) | (1u << pv::XENFEAT_direct_mapped);
  if (ctx.vcpu.domain().privileged()) fi.submap |= 1u << pv::XENFEAT_dom0;
  return ctx.memory.write(arg, fi).ok() ? 0 : -pv::XEN_EFAULT;
}

}  // namespace

long do_xen_version(HypercallContext& ctx, const HypercallArgs& args) {
  const bool privileged = ctx.vcpu.domain().privileged();
  const std::uint64_t arg = args.a2;
  switch (args.a1) {
    case pv::XENVER_version:
      return (kMajor << 16) | kMinor;
    case pv::XENVER_extraversion:
      return put_string<pv::XEN_EXTRAVERSION_LEN>(ctx, arg, ".0-microxen");
    case pv::XENVER_compile_info: {
      pv::xen_compile_info info{};
      copy_string(info.compiler, "g++ " __VERSION__);
      copy_string(info.compile_by, "microxen");
      copy_string(info.compile_domain, "microxen");
      copy_string(info.compile_date, __DATE__ " " __TIME__);
      return ctx.memory.write(arg, info).ok() ? 0 : -pv::XEN_EFAULT;
    }
    case pv::XENVER_capabilities:
      return put_string<pv::XEN_CAPABILITIES_INFO_LEN>(ctx, arg, "xen-3.0-x86_64 ");
    case pv::XENVER_changeset:
      return put_string<pv::XEN_CHANGESET_INFO_LEN>(ctx, arg, "microxen");
    case pv::XENVER_platform_parameters: {
      pv::xen_platform_parameters params{pv::HYPERVISOR_VIRT_START};
      return ctx.memory.write(arg, params).ok() ? 0 : -pv::XEN_EFAULT;
    }
    case pv::XENVER_get_features:
      return get_features(ctx, arg);
    case pv::XENVER_pagesize:
      return arg != 0 ? -pv::XEN_EINVAL : 4096;
    case pv::XENVER_guest_handle: {
      std::uint8_t handle[16] = {};  // domain handles (UUIDs) are set by the toolstack later
      return ctx.memory.copy_to_guest(arg, handle, sizeof handle).ok() ? 0 : -pv::XEN_EFAULT;
    }
    case pv::XENVER_commandline:
      if (!privileged) return ctx.memory.copy_to_guest(arg, kDenied, sizeof kDenied).ok() ? 0 : -pv::XEN_EFAULT;
      return put_string<sizeof(pv::xen_commandline_t)>(ctx, arg, ctx.info.cmdline);
    case pv::XENVER_build_id:
      return privileged ? -pv::XEN_ENODATA : -pv::XEN_EPERM;  // we embed no build id
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
