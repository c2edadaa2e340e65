// xen_elfnotes: the Xen ELF notes (or legacy "__xen_guest" string) of a PV kernel turned
// into the kernel parameters the domain builder lays out from, with Xen libelf's defaulting
// and acceptance rules (elf_xen_parse). The image is untrusted: every value is checked here
// or in the builder before it is used as an address.
#pragma once
#include <cstdint>
#include <string_view>

#include "builder_error.hpp"
#include "elf64.hpp"

namespace hv::builder {

inline constexpr std::uint64_t UNSET_ADDR = ~std::uint64_t{0};

// XENFEAT_* bit numbers (features.h) that the FEATURES string can name.
inline constexpr unsigned XENFEAT_writable_page_tables = 0;
inline constexpr unsigned XENFEAT_writable_descriptor_tables = 1;
inline constexpr unsigned XENFEAT_auto_translated_physmap = 2;
inline constexpr unsigned XENFEAT_supervisor_mode_kernel = 3;
inline constexpr unsigned XENFEAT_pae_pgdir_above_4gb = 4;
inline constexpr unsigned XENFEAT_hvm_callback_vector = 8;
inline constexpr unsigned XENFEAT_dom0 = 11;

enum class PaeMode : std::uint8_t { none, yes, extended_cr3, bimodal };

struct KernelParams {
  // Which note types (< 32) were present; bit n = note type n.
  std::uint32_t notes_present = 0;
  bool from_guest_info = false;  // parameters came from the legacy __xen_guest section
  // Strings, truncated to 15 characters like libelf's fixed buffers.
  char guest_os[16] = {};
  char guest_ver[16] = {};
  char xen_ver[16] = {};
  char loader[16] = {};
  PaeMode pae = PaeMode::none;
  bool bsd_symtab = false;
  bool unmapped_initrd = false;   // MOD_START_PFN != 0: initrd may be passed as a PFN
  bool suspend_cancel = false;
  // Addresses; UNSET_ADDR when the note is absent (virt_base, elf_paddr_offset and
  // virt_entry are always set after defaulting).
  std::uint64_t virt_base = UNSET_ADDR;
  std::uint64_t elf_paddr_offset = UNSET_ADDR;
  std::uint64_t virt_entry = UNSET_ADDR;
  std::uint64_t virt_hypercall = UNSET_ADDR;
  std::uint64_t virt_hv_start_low = UNSET_ADDR;
  std::uint64_t p2m_base = UNSET_ADDR;      // INIT_P2M
  std::uint64_t phys_entry = UNSET_ADDR;    // PVH entry; ignored for PV
  bool has_l1_mfn_valid = false;            // informational (save/restore)
  std::uint64_t l1_mfn_valid_mask = 0;
  std::uint64_t l1_mfn_valid_value = 0;
  // XENFEAT_* bitmaps: FEATURES string names and SUPPORTED_FEATURES note ('!' = required).
  std::uint32_t f_supported = 0;
  std::uint32_t f_required = 0;
  // Computed: ELF physical span, and its virtual placement.
  std::uint64_t pstart = 0, pend = 0;
  std::uint64_t virt_offset = 0;   // virt_base - elf_paddr_offset
  std::uint64_t virt_kstart = 0;   // pstart + virt_offset
  std::uint64_t virt_kend = 0;     // pend + virt_offset

  constexpr bool has_note(std::uint32_t type) const {
    return type < 32 && (notes_present & (1u << type)) != 0;
  }
  constexpr bool supports(unsigned feat) const { return (f_supported >> feat) & 1u; }
  constexpr bool requires_feature(unsigned feat) const { return (f_required >> feat) & 1u; }
};

// Parses a '|'-separated feature list. Known names set `supported` (and `required` for a
// '!' prefix); an unknown '!name' fails when `required` is given, as in libelf.
BuildStatus parse_xen_features(std::string_view list, std::uint32_t& supported,
                               std::uint32_t* required);

// Applies a legacy "__xen_guest" string ("LOADER=generic,XEN_VER=xen-3.0,VIRT_BASE=...").
BuildStatus parse_guest_info(KernelParams& p, std::string_view text);

// elf_xen_parse for a PV kernel: notes from PT_NOTE segments (p_offset != 0), else SHT_NOTE
// sections, else the "__xen_guest" string; then the loader/version checks, the defaults
// (VIRT_BASE 0, PADDR_OFFSET 0 with notes / virt_base with __xen_guest, ENTRY e_entry) and
// the address checks (entry inside the kernel, virt_base <= kstart, INIT_P2M outside it).
BuildResult<KernelParams> parse_kernel_params(const elf::Image& image);

}  // namespace hv::builder
