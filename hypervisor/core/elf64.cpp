// elf64: bounded ELF64 parsing. All reads go through slice(); struct copies use memcpy so
// an image at any alignment is fine.
#include "elf64.hpp"

namespace hv::elf {

using builder::BuildError;
using builder::BuildResult;
using builder::BuildStatus;
using builder::build_fail;

namespace {

// True when [offset, offset + size) lies inside a file of `file_size` bytes.
bool in_file(std::uint64_t offset, std::uint64_t size, std::uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

// Header table [off, off + count * entsize) inside the file, without overflow.
bool table_in_file(std::uint64_t off, std::uint64_t count, std::uint64_t entsize,
                   std::uint64_t file_size) {
  if (count == 0) return true;
  if (entsize != 0 && count > file_size / entsize) return false;
  return in_file(off, count * entsize, file_size);
}

BuildStatus check_header(const Elf64_Ehdr& eh, std::uint64_t size) {
  if (eh.e_ident[0] != 0x7f || eh.e_ident[1] != 'E' || eh.e_ident[2] != 'L' ||
      eh.e_ident[3] != 'F')
    return build_fail(BuildError::elf_bad_magic, "not an ELF file");
  if (eh.e_ident[4] != ELFCLASS64 || eh.e_ident[5] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
    return build_fail(BuildError::elf_not_x86_64, "not a 64-bit little-endian x86-64 ELF");
  if (eh.e_phnum == PN_XNUM || (eh.e_phnum != 0 && eh.e_phentsize != sizeof(Elf64_Phdr)) ||
      !table_in_file(eh.e_phoff, eh.e_phnum, sizeof(Elf64_Phdr), size))
    return build_fail(BuildError::elf_bad_phdr_table, "program header table outside the file");
  if ((eh.e_shnum != 0 && eh.e_shentsize != sizeof(Elf64_Shdr)) ||
      !table_in_file(eh.e_shoff, eh.e_shnum, sizeof(Elf64_Shdr), size))
    return build_fail(BuildError::elf_bad_shdr_table, "section header table outside the file");
  return builder::kBuildOk;
}

BuildStatus check_segment(const Elf64_Phdr& ph, std::uint64_t size) {
  if (!in_file(ph.p_offset, ph.p_filesz, size))
    return build_fail(BuildError::elf_segment_bounds, "segment data outside the file");
  if (ph.p_memsz < ph.p_filesz)
    return build_fail(BuildError::elf_segment_memsz, "segment memsz smaller than filesz");
  if (ph.p_paddr + ph.p_memsz < ph.p_paddr)
    return build_fail(BuildError::elf_segment_wraps, "segment paddr + memsz wraps");
  return builder::kBuildOk;
}

}  // namespace

BuildResult<Image> Image::parse(std::span<const std::uint8_t> file) {
  Image img;
  if (file.size() < sizeof(Elf64_Ehdr))
    return build_fail(BuildError::elf_truncated, "file shorter than an ELF header");
  __builtin_memcpy(&img.ehdr_, file.data(), sizeof(Elf64_Ehdr));
  img.file_ = file;
  BUILDER_TRY(check_header(img.ehdr_, file.size()));

  // Loadable segments: bounds, then pairwise overlap (ranges in paddr space).
  std::uint64_t starts[kMaxLoadableSegments];
  std::uint64_t ends[kMaxLoadableSegments];
  std::size_t count = 0;
  std::uint64_t low = ~std::uint64_t{0}, high = 0;
  for (std::size_t i = 0; i < img.phnum(); ++i) {
    Elf64_Phdr ph = img.phdr(i);
    if (!is_loadable(ph)) continue;
    BUILDER_TRY(check_segment(ph, file.size()));
    if (count == kMaxLoadableSegments)
      return build_fail(BuildError::elf_too_many_segments, "too many loadable segments");
    std::uint64_t s = ph.p_paddr, e = ph.p_paddr + ph.p_memsz;
    for (std::size_t j = 0; j < count; ++j) {
      if (s < ends[j] && starts[j] < e)
        return build_fail(BuildError::elf_segments_overlap, "loadable segments overlap");
    }
    starts[count] = s;
    ends[count] = e;
    ++count;
    if (s < low) low = s;
    if (e > high) high = e;
  }
  if (count == 0) return build_fail(BuildError::elf_no_loadable, "no loadable segment");
  img.pstart_ = low;
  img.pend_ = high;
  return img;
}

Elf64_Phdr Image::phdr(std::size_t index) const {
  Elf64_Phdr ph{};
  __builtin_memcpy(&ph, file_.data() + ehdr_.e_phoff + index * sizeof(Elf64_Phdr), sizeof(ph));
  return ph;
}

Elf64_Shdr Image::shdr(std::size_t index) const {
  Elf64_Shdr sh{};
  __builtin_memcpy(&sh, file_.data() + ehdr_.e_shoff + index * sizeof(Elf64_Shdr), sizeof(sh));
  return sh;
}

bool Image::slice(std::uint64_t offset, std::uint64_t size,
                  std::span<const std::uint8_t>& out) const {
  if (!in_file(offset, size, file_.size())) return false;
  out = file_.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(size));
  return true;
}

std::string_view Image::section_name(const Elf64_Shdr& sh) const {
  if (ehdr_.e_shstrndx == 0 || ehdr_.e_shstrndx >= shnum()) return {};
  Elf64_Shdr strtab = shdr(ehdr_.e_shstrndx);
  std::span<const std::uint8_t> bytes;
  if (sh.sh_name >= strtab.sh_size || !slice(strtab.sh_offset, strtab.sh_size, bytes)) return {};
  auto tail = bytes.subspan(sh.sh_name);
  for (std::size_t n = 0; n < tail.size(); ++n) {
    if (tail[n] == 0) return {reinterpret_cast<const char*>(tail.data()), n};
  }
  return {};  // unterminated: treat as unnamed
}

bool NoteReader::next(Note& out) {
  if (!status_.ok() || pos_ == area_.size()) return false;
  std::size_t left = area_.size() - pos_;
  if (left < sizeof(Elf64_Nhdr)) {
    status_ = build_fail(BuildError::note_malformed, "truncated note header");
    return false;
  }
  Elf64_Nhdr nh{};
  __builtin_memcpy(&nh, area_.data() + pos_, sizeof(nh));
  left -= sizeof(nh);
  std::uint64_t name_padded = (std::uint64_t{nh.n_namesz} + 3) & ~std::uint64_t{3};
  std::uint64_t desc_padded = (std::uint64_t{nh.n_descsz} + 3) & ~std::uint64_t{3};
  // The last descriptor may omit its padding; anything else must fit.
  if (name_padded > left || nh.n_descsz > left - name_padded) {
    status_ = build_fail(BuildError::note_malformed, "note name/desc past the note area");
    return false;
  }
  const std::uint8_t* name = area_.data() + pos_ + sizeof(nh);
  std::size_t name_len = 0;  // up to the first NUL, as libelf's strcmp sees it
  while (name_len < nh.n_namesz && name[name_len] != 0) ++name_len;
  out.type = nh.n_type;
  out.name = std::string_view(reinterpret_cast<const char*>(name), name_len);
  out.desc = area_.subspan(pos_ + sizeof(nh) + name_padded, nh.n_descsz);
  std::uint64_t padding_at = pos_ + sizeof(nh) + name_padded + nh.n_descsz;
  out.desc_padding = area_.subspan(padding_at, std::min<std::uint64_t>(desc_padded - nh.n_descsz,
                                                                       area_.size() - padding_at));
  std::uint64_t advance = sizeof(nh) + name_padded + desc_padded;
  pos_ = advance >= area_.size() - pos_ ? area_.size() : pos_ + advance;
  return true;
}

std::uint64_t load_le(std::span<const std::uint8_t> bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) v = (v << 8) | bytes[i];
  return v;
}

}  // namespace hv::elf
