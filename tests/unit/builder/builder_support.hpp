// Test support for the PV domain builder: a synthetic ELF writer (Linux-like images and
// hostile variants), hello.elf loading, and a fake BuilderTarget whose p2m is scrambled so a
// pfn/mfn mix-up shows up.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/domain_builder.hpp"
#include "core/elf64.hpp"

namespace builder_test {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint64_t kVirtBase = 0xffffffff80000000;

struct Segment {
  std::uint64_t paddr;
  std::uint64_t vaddr;
  Bytes data;
  std::uint64_t memsz;
  std::uint32_t flags = hv::elf::PF_R | hv::elf::PF_X;
};

struct NoteSpec {
  std::uint32_t type;
  Bytes desc;
  std::string name = "Xen";
};

inline NoteSpec note_u64(std::uint32_t type, std::uint64_t v) {
  Bytes d(8);
  std::memcpy(d.data(), &v, 8);
  return {type, d};
}
inline NoteSpec note_u32(std::uint32_t type, std::uint32_t v) {
  Bytes d(4);
  std::memcpy(d.data(), &v, 4);
  return {type, d};
}
inline NoteSpec note_str(std::uint32_t type, const std::string& s) {
  Bytes d(s.begin(), s.end());
  d.push_back(0);
  return {type, d};
}
// A string note emitted with `.ascii` (no NUL in the descriptor; the zero padding after it
// ends the string), as Linux's FEATURES note is.
inline NoteSpec note_ascii(std::uint32_t type, const std::string& s) {
  return {type, Bytes(s.begin(), s.end())};
}

template <typename T>
void put(Bytes& out, std::size_t off, const T& v) {
  if (out.size() < off + sizeof(T)) out.resize(off + sizeof(T));
  std::memcpy(out.data() + off, &v, sizeof(T));
}

inline Bytes encode_notes(const std::vector<NoteSpec>& notes) {
  Bytes out;
  for (const NoteSpec& n : notes) {
    hv::elf::Elf64_Nhdr h{static_cast<std::uint32_t>(n.name.size() + 1),
                          static_cast<std::uint32_t>(n.desc.size()), n.type};
    std::size_t at = out.size();
    put(out, at, h);
    out.insert(out.end(), n.name.begin(), n.name.end());
    out.push_back(0);
    while (out.size() % 4) out.push_back(0);
    out.insert(out.end(), n.desc.begin(), n.desc.end());
    while (out.size() % 4) out.push_back(0);
  }
  return out;
}

// ELF64 x86-64: header, program headers (segments then one PT_NOTE), note area, data.
inline Bytes make_elf(const std::vector<Segment>& segs, const std::vector<NoteSpec>& notes,
                      std::uint64_t entry) {
  const std::size_t nph = segs.size() + (notes.empty() ? 0 : 1);
  Bytes notes_bytes = encode_notes(notes);
  std::size_t off = 64 + nph * 56;
  const std::size_t notes_off = off;
  off += notes_bytes.size();
  Bytes out(off, 0);
  if (!notes_bytes.empty())
    std::memcpy(out.data() + notes_off, notes_bytes.data(), notes_bytes.size());
  hv::elf::Elf64_Ehdr eh{};
  const std::uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  std::memcpy(eh.e_ident, ident, 16);
  eh.e_type = 2;
  eh.e_machine = hv::elf::EM_X86_64;
  eh.e_version = 1;
  eh.e_entry = entry;
  eh.e_phoff = 64;
  eh.e_ehsize = 64;
  eh.e_phentsize = 56;
  eh.e_phnum = static_cast<std::uint16_t>(nph);
  put(out, 0, eh);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    std::size_t data_off = (out.size() + 15) & ~std::size_t{15};
    out.resize(data_off);
    out.insert(out.end(), segs[i].data.begin(), segs[i].data.end());
    hv::elf::Elf64_Phdr ph{hv::elf::PT_LOAD, segs[i].flags, data_off, segs[i].vaddr,
                           segs[i].paddr, segs[i].data.size(), segs[i].memsz, 0x1000};
    put(out, 64 + i * 56, ph);
  }
  if (!notes.empty()) {
    hv::elf::Elf64_Phdr ph{hv::elf::PT_NOTE, hv::elf::PF_R, notes_off, 0, 0,
                           notes_bytes.size(), notes_bytes.size(), 4};
    put(out, 64 + segs.size() * 56, ph);
  }
  return out;
}

// Notes of a Linux 6.1 x86-64 kernel (xen-head.S), kernel text at 16 MiB.
inline std::vector<NoteSpec> linux_notes(std::uint64_t entry, std::uint64_t hypercall) {
  Bytes l1_valid(16, 0);
  l1_valid[0] = 1;
  l1_valid[8] = 1;
  return {
      note_str(6, "linux"), note_str(7, "2.6"), note_str(5, "xen-3.0"),
      note_u64(3, kVirtBase), note_u64(4, 0), note_u64(1, entry), note_u64(2, hypercall),
      note_ascii(10, "!writable_page_tables|pae_pgdir_above_4gb"),  // 41 bytes
      note_u32(17, (1u << 0) | (1u << 11) | (1u << 15)), note_str(9, "yes"),
      note_str(8, "generic"), {13, l1_valid}, note_u32(14, 1),
      note_u64(12, 0xffff800000000000), note_u64(15, 0x8000000000), note_u32(16, 1),
  };
}

// A small Linux-like kernel: text (filled with a pattern) at paddr 0x1000000, then data
// with a bss tail.
struct LinuxLike {
  std::uint64_t text_size = 0x3000;
  std::uint64_t data_file = 0x800;
  std::uint64_t data_mem = 0x5000;
  Bytes elf;
  std::uint64_t kstart = kVirtBase + 0x1000000;
  std::uint64_t entry() const { return kstart; }
  std::uint64_t hypercall() const { return kstart + 0x1000; }
  std::uint64_t data_va() const { return kstart + 0x4000; }

  explicit LinuxLike(std::vector<NoteSpec> notes = {}) {
    Bytes text(text_size), data(data_file);
    for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::uint8_t>(i * 7 + 1);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0xa5 ^ i);
    if (notes.empty()) notes = linux_notes(entry(), hypercall());
    elf = make_elf({{0x1000000, kstart, text, text_size, hv::elf::PF_R | hv::elf::PF_X},
                    {0x1004000, data_va(), data, data_mem, hv::elf::PF_R | hv::elf::PF_W}},
                   notes, entry());
  }
};

inline Bytes read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Guest memory: nr_pages frames; pfn p lives in machine frame kMfnBase + scrambled(p).
class FakeTarget final : public hv::builder::BuilderTarget {
 public:
  static constexpr std::uint64_t kMfnBase = 0x40000;

  explicit FakeTarget(std::uint64_t nr_pages)
      : nr_(nr_pages), mem_(nr_pages * 4096, 0xcc) {}  // garbage, to see what gets cleared

  std::uint64_t mfn_of(std::uint64_t pfn) const { return kMfnBase + (pfn ^ 0x5); }
  hv::Result<std::uint64_t> frame_of_pfn(std::uint64_t pfn) override {
    if (pfn >= nr_ || (pfn ^ 0x5) >= nr_) return hv::Status::error(-22);
    return mfn_of(pfn);
  }
  void* map_frame(std::uint64_t mfn) override {
    EXPECT_EQ(mapped_, 0) << "builder holds more than one window";
    if (mfn < kMfnBase || mfn - kMfnBase >= nr_) return nullptr;
    ++mapped_;
    ++maps_;
    return mem_.data() + (mfn - kMfnBase) * 4096;
  }
  void unmap_frame(void*) override { --mapped_; }
  hv::Status fill_hypercall_page(std::uint64_t mfn, void* page) override {
    hypercall_mfn = mfn;
    std::memset(page, 0xc3, 4096);  // a recognisable stand-in for the stubs
    return hv::kOk;
  }

  // Bytes of machine frame `mfn` / guest frame `pfn`.
  std::uint8_t* machine(std::uint64_t mfn) { return mem_.data() + (mfn - kMfnBase) * 4096; }
  std::uint8_t* guest(std::uint64_t pfn) { return machine(mfn_of(pfn)); }
  std::uint64_t entry(std::uint64_t mfn, unsigned index) {
    std::uint64_t e;
    std::memcpy(&e, machine(mfn) + index * 8, 8);
    return e;
  }
  // Walks the tables from `l4_mfn`; returns the L1 entry for `va` or 0, and each table's mfn.
  std::uint64_t walk(std::uint64_t l4_mfn, std::uint64_t va, std::uint64_t tables[4]) {
    std::uint64_t table = l4_mfn;
    for (unsigned level = 4; level >= 1; --level) {
      tables[level - 1] = table;
      std::uint64_t e = entry(table, (va >> (12 + 9 * (level - 1))) & 511);
      if (level == 1 || !(e & 1)) return level == 1 ? e : 0;
      table = (e & 0x000ffffffffff000) >> 12;
    }
    return 0;
  }

  std::uint64_t hypercall_mfn = 0;
  int mapped_ = 0;
  std::uint64_t maps_ = 0;

 private:
  std::uint64_t nr_;
  std::vector<std::uint8_t> mem_;
};

}  // namespace builder_test
