// xen_elfnotes: Xen note parsing with libelf's rules (libelf-dominfo.c), stricter only where
// libelf would read outside a note: a note whose record or value size is malformed is refused.
#include "xen_elfnotes.hpp"

#include <pv/elfnote.hpp>

namespace hv::builder {

namespace {

constexpr std::uint32_t kMaxTotalNotes = 65536;  // libelf's ELF_MAX_TOTAL_NOTE_COUNT

struct FeatureName {
  unsigned bit;
  std::string_view name;
};
// The names libelf knows (elf_xen_feature_names); anything else is "unknown".
constexpr FeatureName kFeatureNames[] = {
    {XENFEAT_writable_page_tables, "writable_page_tables"},
    {XENFEAT_writable_descriptor_tables, "writable_descriptor_tables"},
    {XENFEAT_auto_translated_physmap, "auto_translated_physmap"},
    {XENFEAT_supervisor_mode_kernel, "supervisor_mode_kernel"},
    {XENFEAT_pae_pgdir_above_4gb, "pae_pgdir_above_4gb"},
    {XENFEAT_hvm_callback_vector, "hvm_callback_vector"},
    {XENFEAT_dom0, "dom0"},
};

void copy_string(char (&dst)[16], std::string_view src) {
  std::size_t n = src.size() < sizeof(dst) - 1 ? src.size() : sizeof(dst) - 1;
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  dst[n] = 0;
}

bool starts_with(const char* s, std::string_view prefix) {
  return std::string_view(s).substr(0, prefix.size()) == prefix;
}

// String note value: NUL-terminated inside the descriptor or its padding (libelf's
// elf_strval reads past the descriptor; Linux's FEATURES note has no NUL of its own).
bool note_string(const elf::Note& note, std::string_view& out) {
  const std::span<const std::uint8_t> desc = note.desc;
  for (std::size_t i = 0; i < desc.size() + note.desc_padding.size(); ++i) {
    if ((i < desc.size() ? desc[i] : note.desc_padding[i - desc.size()]) == 0) {
      out = std::string_view(reinterpret_cast<const char*>(desc.data()), i);
      return true;
    }
  }
  return false;
}

bool is_string_note(std::uint32_t type) {
  return type >= pv::XEN_ELFNOTE_XEN_VERSION && type <= pv::XEN_ELFNOTE_BSD_SYMTAB;
}

BuildStatus apply_string_note(KernelParams& p, std::uint32_t type, std::string_view s) {
  switch (type) {
    case pv::XEN_ELFNOTE_XEN_VERSION: copy_string(p.xen_ver, s); break;
    case pv::XEN_ELFNOTE_GUEST_OS: copy_string(p.guest_os, s); break;
    case pv::XEN_ELFNOTE_GUEST_VERSION: copy_string(p.guest_ver, s); break;
    case pv::XEN_ELFNOTE_LOADER: copy_string(p.loader, s); break;
    case pv::XEN_ELFNOTE_PAE_MODE:
      if (s == "yes") p.pae = PaeMode::extended_cr3;
      if (s.find("bimodal") != std::string_view::npos) p.pae = PaeMode::bimodal;
      break;
    case pv::XEN_ELFNOTE_FEATURES:
      return parse_xen_features(s, p.f_supported, &p.f_required);
    case pv::XEN_ELFNOTE_BSD_SYMTAB:
      if (s == "yes") p.bsd_symtab = true;
      break;
    default: break;
  }
  return kBuildOk;
}

void apply_numeric_note(KernelParams& p, std::uint32_t type, std::uint64_t v) {
  switch (type) {
    case pv::XEN_ELFNOTE_ENTRY: p.virt_entry = v; break;
    case pv::XEN_ELFNOTE_HYPERCALL_PAGE: p.virt_hypercall = v; break;
    case pv::XEN_ELFNOTE_VIRT_BASE: p.virt_base = v; break;
    case pv::XEN_ELFNOTE_PADDR_OFFSET: p.elf_paddr_offset = v; break;
    case pv::XEN_ELFNOTE_HV_START_LOW: p.virt_hv_start_low = v; break;
    case pv::XEN_ELFNOTE_SUSPEND_CANCEL: p.suspend_cancel = v != 0; break;
    case pv::XEN_ELFNOTE_INIT_P2M: p.p2m_base = v; break;
    case pv::XEN_ELFNOTE_MOD_START_PFN: p.unmapped_initrd = v != 0; break;
    case pv::XEN_ELFNOTE_PHYS32_ENTRY: p.phys_entry = v; break;
    default: break;
  }
}

bool is_numeric_note(std::uint32_t type) {
  switch (type) {
    case pv::XEN_ELFNOTE_ENTRY: case pv::XEN_ELFNOTE_HYPERCALL_PAGE:
    case pv::XEN_ELFNOTE_VIRT_BASE: case pv::XEN_ELFNOTE_PADDR_OFFSET:
    case pv::XEN_ELFNOTE_HV_START_LOW: case pv::XEN_ELFNOTE_SUSPEND_CANCEL:
    case pv::XEN_ELFNOTE_INIT_P2M: case pv::XEN_ELFNOTE_MOD_START_PFN:
    case pv::XEN_ELFNOTE_PHYS32_ENTRY:
      return true;
    default: return false;
  }
}

// One "Xen" note (elf_xen_parse_note). Types libelf does not know are ignored.
BuildStatus apply_note(KernelParams& p, const elf::Note& note) {
  const std::uint32_t type = note.type;
  const std::size_t size = note.desc.size();
  if (is_string_note(type)) {
    std::string_view s;
    if (!note_string(note, s))
      return build_fail(BuildError::note_malformed, "string note without NUL");
    BUILDER_TRY(apply_string_note(p, type, s));
  } else if (is_numeric_note(type)) {
    if (size != 1 && size != 2 && size != 4 && size != 8)
      return build_fail(BuildError::note_malformed, "numeric note size not 1, 2, 4 or 8");
    apply_numeric_note(p, type, elf::load_le(note.desc));
  } else if (type == pv::XEN_ELFNOTE_SUPPORTED_FEATURES) {
    if (size == 0 || size % 4 != 0)
      return build_fail(BuildError::note_malformed, "SUPPORTED_FEATURES size not a multiple of 4");
    p.f_supported |= static_cast<std::uint32_t>(elf::load_le(note.desc.first(4)));
  } else if (type == pv::XEN_ELFNOTE_L1_MFN_VALID) {
    // Not used by libelf; recorded when it has the usual (mask, value) quad pair.
    if (size == 16) {
      p.has_l1_mfn_valid = true;
      p.l1_mfn_valid_mask = elf::load_le(note.desc.first(8));
      p.l1_mfn_valid_value = elf::load_le(note.desc.subspan(8, 8));
    }
    return kBuildOk;
  } else {
    return kBuildOk;
  }
  if (type < 32) p.notes_present |= 1u << type;
  return kBuildOk;
}

// Parses one note area; counts Xen notes into `xen_notes`.
BuildStatus parse_note_area(KernelParams& p, std::span<const std::uint8_t> area,
                            std::uint32_t& total, std::uint32_t& xen_notes) {
  elf::NoteReader reader(area);
  elf::Note note;
  while (reader.next(note)) {
    if (++total > kMaxTotalNotes) return build_fail(BuildError::note_too_many, "too many ELF notes");
    if (note.name != "Xen") continue;
    BUILDER_TRY(apply_note(p, note));
    ++xen_notes;
  }
  return reader.status();
}

// PT_NOTE segments first; SHT_NOTE sections when they held no Xen note. `scanned` reports
// whether any note area existed (libelf's elf_note_start).
BuildStatus parse_all_notes(const elf::Image& img, KernelParams& p, bool& scanned,
                            std::uint32_t& xen_notes) {
  std::uint32_t total = 0;
  for (std::size_t i = 0; i < img.phnum(); ++i) {
    elf::Elf64_Phdr ph = img.phdr(i);
    if (ph.p_type != elf::PT_NOTE || ph.p_offset == 0) continue;  // binutils quirk, as Xen
    std::span<const std::uint8_t> area;
    if (!img.slice(ph.p_offset, ph.p_filesz, area))
      return build_fail(BuildError::note_malformed, "note segment outside the file");
    scanned = true;
    BUILDER_TRY(parse_note_area(p, area, total, xen_notes));
  }
  if (xen_notes != 0) return kBuildOk;
  for (std::size_t i = 1; i < img.shnum(); ++i) {
    elf::Elf64_Shdr sh = img.shdr(i);
    if (sh.sh_type != elf::SHT_NOTE) continue;
    std::span<const std::uint8_t> area;
    if (!img.slice(sh.sh_offset, sh.sh_size, area))
      return build_fail(BuildError::note_malformed, "note section outside the file");
    scanned = true;
    BUILDER_TRY(parse_note_area(p, area, total, xen_notes));
  }
  return kBuildOk;
}

BuildStatus check_loader(const KernelParams& p) {
  bool generic = starts_with(p.loader, "generic");
  bool linux_os = starts_with(p.guest_os, "linux");
  if (!generic && !linux_os)
    return build_fail(BuildError::bad_loader, "loader is not 'generic' and guest OS not 'linux'");
  if (!starts_with(p.xen_ver, "xen-3.0"))
    return build_fail(BuildError::bad_xen_version, "image not built for xen-3.0");
  return kBuildOk;
}

// elf_xen_addr_calc_check: defaults, then the kernel range checks.
BuildStatus calc_addresses(KernelParams& p, const elf::Image& img, bool notes_scanned) {
  if (p.elf_paddr_offset != UNSET_ADDR && p.virt_base == UNSET_ADDR)
    return build_fail(BuildError::paddr_offset_without_virt_base,
                      "PADDR_OFFSET set without VIRT_BASE");
  if (p.virt_base == UNSET_ADDR) p.virt_base = 0;
  if (p.elf_paddr_offset == UNSET_ADDR) p.elf_paddr_offset = notes_scanned ? 0 : p.virt_base;
  // Modular arithmetic, as libelf: a "negative" offset is legitimate.
  p.virt_offset = p.virt_base - p.elf_paddr_offset;
  p.pstart = img.pstart();
  p.pend = img.pend();
  p.virt_kstart = p.pstart + p.virt_offset;
  p.virt_kend = p.pend + p.virt_offset;
  if (p.virt_entry == UNSET_ADDR) p.virt_entry = img.header().e_entry;
  if (p.virt_kstart > p.virt_kend || p.virt_base > p.virt_kstart)
    return build_fail(BuildError::kernel_range_invalid, "ELF start out of bounds");
  if (p.virt_entry < p.virt_kstart || p.virt_entry > p.virt_kend)
    return build_fail(BuildError::entry_out_of_range, "entry point outside the kernel");
  if (p.p2m_base != UNSET_ADDR && p.p2m_base >= p.virt_kstart && p.p2m_base < p.virt_kend)
    return build_fail(BuildError::p2m_base_invalid, "INIT_P2M inside the kernel");
  return kBuildOk;
}

}  // namespace

BuildStatus parse_xen_features(std::string_view list, std::uint32_t& supported,
                               std::uint32_t* required) {
  while (!list.empty()) {
    std::size_t bar = list.find('|');
    std::string_view token = list.substr(0, bar);
    list = bar == std::string_view::npos ? std::string_view{} : list.substr(bar + 1);
    if (token.size() > 63) token = token.substr(0, 63);  // libelf's 64-byte buffer
    bool req = !token.empty() && token[0] == '!';
    std::string_view name = req ? token.substr(1) : token;
    bool known = false;
    for (const FeatureName& f : kFeatureNames) {
      if (f.name != name) continue;
      supported |= 1u << f.bit;
      if (req && required != nullptr) *required |= 1u << f.bit;
      known = true;
      break;
    }
    if (!known && req && required != nullptr)
      return build_fail(BuildError::unknown_required_feature, "unknown required feature");
  }
  return kBuildOk;
}

BuildResult<KernelParams> parse_kernel_params(const elf::Image& img) {
  KernelParams p;
  bool scanned = false;
  std::uint32_t xen_notes = 0;
  BUILDER_TRY(parse_all_notes(img, p, scanned, xen_notes));
  bool guest_info = false;
  if (xen_notes == 0) {
    for (std::size_t i = 1; i < img.shnum() && !guest_info; ++i) {
      elf::Elf64_Shdr sh = img.shdr(i);
      if (img.section_name(sh) != "__xen_guest") continue;
      std::span<const std::uint8_t> bytes;
      if (!img.slice(sh.sh_offset, sh.sh_size, bytes))
        return build_fail(BuildError::note_malformed, "__xen_guest outside the file");
      std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      text = text.substr(0, text.find('\0'));
      BUILDER_TRY(parse_guest_info(p, text));
      guest_info = true;
      scanned = false;  // libelf invalidates elf_note_start for __xen_guest images
    }
  }
  if (!scanned && !guest_info)
    return build_fail(BuildError::not_xen_image, "no Xen notes or __xen_guest section");
  p.from_guest_info = guest_info;
  BUILDER_TRY(check_loader(p));
  BUILDER_TRY(calc_addresses(p, img, scanned));
  return p;
}

// ---- legacy "__xen_guest" section: "NAME=value,NAME=value,..." -------------------------

namespace {

// strtoull(s, nullptr, 0): optional 0x (hex) or leading 0 (octal); saturates on overflow.
std::uint64_t parse_number(std::string_view s) {
  unsigned base = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (!s.empty() && s[0] == '0') {
    base = 8;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else break;
    if (d >= base) break;
    if (v > (~std::uint64_t{0} - d) / base) return ~std::uint64_t{0};
    v = v * base + d;
  }
  return v;
}

BuildStatus apply_guest_info(KernelParams& p, std::string_view name, std::string_view value) {
  if (name == "LOADER") copy_string(p.loader, value);
  if (name == "GUEST_OS") copy_string(p.guest_os, value);
  if (name == "GUEST_VER") copy_string(p.guest_ver, value);
  if (name == "XEN_VER") copy_string(p.xen_ver, value);
  if (name == "PAE") {
    if (value == "yes[extended-cr3]") p.pae = PaeMode::extended_cr3;
    else if (value.substr(0, 3) == "yes") p.pae = PaeMode::yes;
  }
  if (name == "BSD_SYMTAB") p.bsd_symtab = true;
  if (name == "VIRT_BASE") p.virt_base = parse_number(value);
  if (name == "VIRT_ENTRY") p.virt_entry = parse_number(value);
  if (name == "ELF_PADDR_OFFSET") p.elf_paddr_offset = parse_number(value);
  if (name == "HYPERCALL_PAGE") p.virt_hypercall = parse_number(value) << 12;
  if (name == "FEATURES") return parse_xen_features(value, p.f_supported, &p.f_required);
  return kBuildOk;
}

}  // namespace

BuildStatus parse_guest_info(KernelParams& p, std::string_view text) {
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    std::size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq).substr(0, 31);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1).substr(0, 127);
    BUILDER_TRY(apply_guest_info(p, name, value));
  }
  if (p.virt_base != UNSET_ADDR && p.virt_hypercall != UNSET_ADDR) p.virt_hypercall += p.virt_base;
  return kBuildOk;
}

}  // namespace hv::builder
