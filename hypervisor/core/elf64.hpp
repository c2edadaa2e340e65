// elf64: bounded parsing of an untrusted ELF64 x86-64 kernel image for the PV domain
// builder. Every header, table, segment and note is bounds-checked against the file before
// it is read; nothing here ever forms a pointer outside the caller's bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "builder_error.hpp"

namespace hv::elf {

inline constexpr std::uint16_t EM_X86_64 = 62;
inline constexpr std::uint8_t ELFCLASS64 = 2;
inline constexpr std::uint8_t ELFDATA2LSB = 1;
inline constexpr std::uint32_t PT_LOAD = 1;
inline constexpr std::uint32_t PT_NOTE = 4;
inline constexpr std::uint32_t PF_X = 1, PF_W = 2, PF_R = 4;
inline constexpr std::uint32_t SHT_NOTE = 7;
inline constexpr std::uint16_t PN_XNUM = 0xffff;  // "real count elsewhere": not supported

struct Elf64_Ehdr {
  std::uint8_t e_ident[16];
  std::uint16_t e_type, e_machine;
  std::uint32_t e_version;
  std::uint64_t e_entry, e_phoff, e_shoff;
  std::uint32_t e_flags;
  std::uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
static_assert(sizeof(Elf64_Ehdr) == 64);

struct Elf64_Phdr {
  std::uint32_t p_type, p_flags;
  std::uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
static_assert(sizeof(Elf64_Phdr) == 56);

struct Elf64_Shdr {
  std::uint32_t sh_name, sh_type;
  std::uint64_t sh_flags, sh_addr, sh_offset, sh_size;
  std::uint32_t sh_link, sh_info;
  std::uint64_t sh_addralign, sh_entsize;
};
static_assert(sizeof(Elf64_Shdr) == 64);

struct Elf64_Nhdr {
  std::uint32_t n_namesz, n_descsz, n_type;
};
static_assert(sizeof(Elf64_Nhdr) == 12);

// Xen's libelf loads PT_LOAD segments with any of R/W/X set, at p_paddr.
constexpr bool is_loadable(const Elf64_Phdr& ph) {
  return ph.p_type == PT_LOAD && (ph.p_flags & (PF_R | PF_W | PF_X)) != 0;
}

// More loadable segments than this is refused (Linux has 5; checking overlap is quadratic).
inline constexpr std::size_t kMaxLoadableSegments = 64;

// A validated view of an ELF64 x86-64 little-endian image. Cheap to copy; it refers to the
// caller's bytes, which must outlive it.
class Image {
 public:
  Image() = default;

  // Checks the header, both header tables and every loadable segment (in the file, memsz >=
  // filesz, no wrap, no overlap) and computes [pstart, pend) as libelf does.
  static builder::BuildResult<Image> parse(std::span<const std::uint8_t> file);

  const Elf64_Ehdr& header() const { return ehdr_; }
  std::span<const std::uint8_t> file() const { return file_; }
  std::size_t phnum() const { return ehdr_.e_phnum; }
  std::size_t shnum() const { return ehdr_.e_shnum; }
  Elf64_Phdr phdr(std::size_t index) const;  // index < phnum()
  Elf64_Shdr shdr(std::size_t index) const;  // index < shnum()

  // Lowest p_paddr and highest p_paddr + p_memsz over the loadable segments.
  std::uint64_t pstart() const { return pstart_; }
  std::uint64_t pend() const { return pend_; }

  // Bytes [offset, offset + size) of the file; false (and `out` untouched) when any part is
  // outside the file.
  bool slice(std::uint64_t offset, std::uint64_t size, std::span<const std::uint8_t>& out) const;

  // Name of a section from the section-header string table; empty when unavailable.
  std::string_view section_name(const Elf64_Shdr& sh) const;

 private:
  std::span<const std::uint8_t> file_{};
  Elf64_Ehdr ehdr_{};
  std::uint64_t pstart_ = 0;
  std::uint64_t pend_ = 0;
};

// One note record: name without its NUL, descriptor bytes (both inside the note area).
struct Note {
  std::uint32_t type = 0;
  std::string_view name{};
  std::span<const std::uint8_t> desc{};
  // The descriptor's alignment padding (0-3 bytes, inside the area). Linux's FEATURES note
  // is `.ascii` without a NUL; libelf reads the string on until a NUL, which the padding holds.
  std::span<const std::uint8_t> desc_padding{};
};

// Walks the 4-byte aligned note records of one PT_NOTE segment or SHT_NOTE section.
// A record whose header, name or descriptor runs past the area is an error, as is a
// trailing fragment shorter than a header.
class NoteReader {
 public:
  explicit NoteReader(std::span<const std::uint8_t> area) : area_(area) {}
  // Next note into `out`: true if one was read, false at the end or on error (see status()).
  bool next(Note& out);
  builder::BuildStatus status() const { return status_; }

 private:
  std::span<const std::uint8_t> area_;
  std::size_t pos_ = 0;
  builder::BuildStatus status_{};
};

// Little-endian load of `size` (1..8) bytes.
std::uint64_t load_le(std::span<const std::uint8_t> bytes);

}  // namespace hv::elf
