// builder_error: names and errno mapping of the domain builder's refusals.
#include "builder_error.hpp"

#include <pv/errno.hpp>

namespace hv::builder {

const char* build_error_name(BuildError error) {
  switch (error) {
    case BuildError::ok: return "ok";
    case BuildError::elf_truncated: return "elf_truncated";
    case BuildError::elf_bad_magic: return "elf_bad_magic";
    case BuildError::elf_not_x86_64: return "elf_not_x86_64";
    case BuildError::elf_bad_phdr_table: return "elf_bad_phdr_table";
    case BuildError::elf_bad_shdr_table: return "elf_bad_shdr_table";
    case BuildError::elf_segment_bounds: return "elf_segment_bounds";
    case BuildError::elf_segment_memsz: return "elf_segment_memsz";
    case BuildError::elf_segment_wraps: return "elf_segment_wraps";
    case BuildError::elf_segments_overlap: return "elf_segments_overlap";
    case BuildError::elf_too_many_segments: return "elf_too_many_segments";
    case BuildError::elf_no_loadable: return "elf_no_loadable";
    case BuildError::note_malformed: return "note_malformed";
    case BuildError::note_too_many: return "note_too_many";
    case BuildError::not_xen_image: return "not_xen_image";
    case BuildError::bad_loader: return "bad_loader";
    case BuildError::bad_xen_version: return "bad_xen_version";
    case BuildError::unknown_required_feature: return "unknown_required_feature";
    case BuildError::unsupported_required_feature: return "unsupported_required_feature";
    case BuildError::no_dom0_support: return "no_dom0_support";
    case BuildError::paddr_offset_without_virt_base: return "paddr_offset_without_virt_base";
    case BuildError::kernel_range_invalid: return "kernel_range_invalid";
    case BuildError::entry_out_of_range: return "entry_out_of_range";
    case BuildError::p2m_base_invalid: return "p2m_base_invalid";
    case BuildError::address_overflow: return "address_overflow";
    case BuildError::address_noncanonical: return "address_noncanonical";
    case BuildError::hypervisor_overlap: return "hypervisor_overlap";
    case BuildError::misaligned: return "misaligned";
    case BuildError::invalid_argument: return "invalid_argument";
    case BuildError::out_of_memory: return "out_of_memory";
    case BuildError::hypercall_page_invalid: return "hypercall_page_invalid";
    case BuildError::target_failure: return "target_failure";
  }
  return "unknown";
}

int build_error_errno(BuildError error) {
  switch (error) {
    case BuildError::ok: return 0;
    case BuildError::out_of_memory: return -pv::XEN_ENOMEM;
    case BuildError::unsupported_required_feature: return -pv::XEN_EOPNOTSUPP;
    case BuildError::target_failure: return -pv::XEN_EFAULT;
    case BuildError::hypervisor_overlap:
    case BuildError::address_overflow: return -pv::XEN_ERANGE;
    default: return -pv::XEN_EINVAL;
  }
}

}  // namespace hv::builder
