// ELF parsing and Xen note parsing of the PV domain builder: hello.elf, a Linux-like image,
// and hostile images that must each be refused with the right error.
#include <gtest/gtest.h>

#include "builder_support.hpp"
#include "core/xen_elfnotes.hpp"

using namespace builder_test;
using hv::builder::BuildError;

namespace {

hv::builder::BuildResult<hv::builder::KernelParams> params_of(const Bytes& file) {
  auto img = hv::elf::Image::parse(file);
  if (!img.ok()) return img.status();
  return hv::builder::parse_kernel_params(*img);
}

BuildError error_of(const Bytes& file) { return params_of(file).error(); }

}  // namespace

TEST(BuilderElf, HelloHeadersAndSpan) {
  Bytes file = read_file(HELLO_ELF_PATH);
  ASSERT_GT(file.size(), 64u);
  auto img = hv::elf::Image::parse(file);
  ASSERT_TRUE(img.ok()) << img.status().reason();
  EXPECT_EQ(img->pstart(), 0x1000u);  // "paddr 0x1000 -> 0x15000" in Xen's log
  EXPECT_EQ(img->pend(), 0x15000u);
  EXPECT_EQ(img->header().e_entry, 0xffffffff80001000u);
}

TEST(BuilderNotes, HelloParams) {
  auto p = params_of(read_file(HELLO_ELF_PATH));
  ASSERT_TRUE(p.ok()) << p.status().reason();
  EXPECT_EQ(p->virt_base, kVirtBase);
  EXPECT_EQ(p->elf_paddr_offset, 0u);
  EXPECT_EQ(p->virt_kstart, 0xffffffff80001000u);
  EXPECT_EQ(p->virt_kend, 0xffffffff80015000u);
  EXPECT_EQ(p->virt_entry, 0xffffffff80001000u);
  EXPECT_EQ(p->virt_hypercall, 0xffffffff80002000u);
  EXPECT_EQ(p->p2m_base, hv::builder::UNSET_ADDR);
  EXPECT_FALSE(p->unmapped_initrd);
  EXPECT_STREQ(p->loader, "generic");
  EXPECT_STREQ(p->xen_ver, "xen-3.0");
  EXPECT_STREQ(p->guest_os, "microxen-guest");
}

TEST(BuilderNotes, LinuxLikeParams) {
  LinuxLike k;
  auto p = params_of(k.elf);
  ASSERT_TRUE(p.ok()) << p.status().reason();
  EXPECT_EQ(p->virt_kstart, kVirtBase + 0x1000000);
  EXPECT_EQ(p->virt_kend, kVirtBase + 0x1009000);
  EXPECT_EQ(p->p2m_base, 0x8000000000u);
  EXPECT_TRUE(p->unmapped_initrd);
  EXPECT_TRUE(p->suspend_cancel);
  EXPECT_EQ(p->pae, hv::builder::PaeMode::extended_cr3);
  EXPECT_EQ(p->virt_hv_start_low, 0xffff800000000000u);
  EXPECT_TRUE(p->has_l1_mfn_valid);
  EXPECT_EQ(p->l1_mfn_valid_mask, 1u);
  EXPECT_EQ(p->f_required, 1u << hv::builder::XENFEAT_writable_page_tables);
  EXPECT_EQ(p->f_supported, (1u << 0) | (1u << 4) | (1u << 11) | (1u << 15));
  EXPECT_TRUE(p->has_note(17));
}

TEST(BuilderNotes, FeatureStrings) {
  std::uint32_t sup = 0, req = 0;
  EXPECT_TRUE(hv::builder::parse_xen_features("dom0|made_up|!pae_pgdir_above_4gb", sup, &req).ok());
  EXPECT_EQ(sup, (1u << 11) | (1u << 4));
  EXPECT_EQ(req, 1u << 4);
  EXPECT_EQ(hv::builder::parse_xen_features("!made_up", sup, &req).error(),
            BuildError::unknown_required_feature);
  EXPECT_TRUE(hv::builder::parse_xen_features("!made_up", sup, nullptr).ok());  // libxc's mode
  LinuxLike k(
      {note_str(6, "linux"), note_str(5, "xen-3.0"), note_str(10, "!teleportation")});
  EXPECT_EQ(error_of(k.elf), BuildError::unknown_required_feature);
}

TEST(BuilderElf, TruncatedAndForeignHeaders) {
  LinuxLike k;
  EXPECT_EQ(error_of(Bytes(k.elf.begin(), k.elf.begin() + 40)), BuildError::elf_truncated);
  Bytes bad = k.elf;
  bad[1] = 'X';
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_magic);
  bad = k.elf;
  bad[4] = 1;  // ELFCLASS32
  EXPECT_EQ(error_of(bad), BuildError::elf_not_x86_64);
  bad = k.elf;
  put(bad, 18, std::uint16_t{3});  // EM_386
  EXPECT_EQ(error_of(bad), BuildError::elf_not_x86_64);
  // Program headers cut off by the end of the file.
  EXPECT_EQ(error_of(Bytes(k.elf.begin(), k.elf.begin() + 100)), BuildError::elf_bad_phdr_table);
}

TEST(BuilderElf, HugeHeaderCounts) {
  LinuxLike k;
  Bytes bad = k.elf;
  put(bad, 56, std::uint16_t{0xfff0});  // e_phnum
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_phdr_table);
  bad = k.elf;
  put(bad, 56, std::uint16_t{0xffff});  // PN_XNUM
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_phdr_table);
  bad = k.elf;
  put(bad, 54, std::uint16_t{32});  // e_phentsize
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_phdr_table);
  bad = k.elf;
  put(bad, 40, std::uint64_t{0x100});  // e_shoff
  put(bad, 60, std::uint16_t{0x8000});  // e_shnum
  put(bad, 58, std::uint16_t{64});
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_shdr_table);
  bad = k.elf;
  put(bad, 32, ~std::uint64_t{0} - 8);  // e_phoff wraps
  EXPECT_EQ(error_of(bad), BuildError::elf_bad_phdr_table);
}

TEST(BuilderElf, HostileSegments) {
  LinuxLike k;
  const std::size_t ph0 = 64;  // first PT_LOAD
  Bytes bad = k.elf;
  put(bad, ph0 + 8, std::uint64_t{bad.size() - 16});  // p_offset near the end
  EXPECT_EQ(error_of(bad), BuildError::elf_segment_bounds);
  bad = k.elf;
  put(bad, ph0 + 32, ~std::uint64_t{0});  // p_filesz huge
  EXPECT_EQ(error_of(bad), BuildError::elf_segment_bounds);
  bad = k.elf;
  put(bad, ph0 + 40, std::uint64_t{0x10});  // p_memsz < p_filesz
  EXPECT_EQ(error_of(bad), BuildError::elf_segment_memsz);
  bad = k.elf;
  put(bad, ph0 + 24, ~std::uint64_t{0} - 0x100);  // p_paddr + p_memsz wraps
  EXPECT_EQ(error_of(bad), BuildError::elf_segment_wraps);
  bad = k.elf;
  put(bad, ph0 + 56 + 24, std::uint64_t{0x1002000});  // data segment inside the text
  EXPECT_EQ(error_of(bad), BuildError::elf_segments_overlap);
  bad = k.elf;
  put(bad, ph0 + 4, std::uint32_t{0});  // no R/W/X: not loadable
  put(bad, ph0 + 56 + 4, std::uint32_t{0});
  EXPECT_EQ(error_of(bad), BuildError::elf_no_loadable);
}

TEST(BuilderNotes, MalformedNotes) {
  LinuxLike good;
  auto img = hv::elf::Image::parse(good.elf);
  ASSERT_TRUE(img.ok());
  hv::elf::Elf64_Phdr note_ph = img->phdr(2);
  ASSERT_EQ(note_ph.p_type, hv::elf::PT_NOTE);
  const std::size_t n0 = note_ph.p_offset;  // first note header
  Bytes bad = good.elf;
  put(bad, n0, std::uint32_t{0x7fffffff});  // namesz past the area
  EXPECT_EQ(error_of(bad), BuildError::note_malformed);
  bad = good.elf;
  put(bad, n0 + 4, std::uint32_t{0xfffffff0});  // descsz past the area
  EXPECT_EQ(error_of(bad), BuildError::note_malformed);
  bad = good.elf;
  put(bad, 64 + 2 * 56 + 32, std::uint64_t{note_ph.p_filesz + 5});  // trailing fragment
  EXPECT_EQ(error_of(bad), BuildError::note_malformed);
  bad = good.elf;
  put(bad, 64 + 2 * 56 + 8, std::uint64_t{bad.size()});  // note segment outside the file
  EXPECT_EQ(error_of(bad), BuildError::note_malformed);
  LinuxLike odd_size({note_str(6, "linux"), note_str(5, "xen-3.0"), {3, Bytes(3, 0)}});
  EXPECT_EQ(error_of(odd_size.elf), BuildError::note_malformed);
  LinuxLike no_nul({note_str(6, "linux"), {5, Bytes{'x', 'e', 'n', '-', '3', '.', '0', '!'}}});
  EXPECT_EQ(error_of(no_nul.elf), BuildError::note_malformed);
  // No NUL in the descriptor and none in its padding (length a multiple of 4): refused.
  LinuxLike unterminated({note_str(6, "linux"), note_ascii(10, "!writable_page_tables|ab")});
  EXPECT_EQ(error_of(unterminated.elf), BuildError::note_malformed);
}

TEST(BuilderNotes, AcceptanceRules) {
  LinuxLike no_loader({note_str(5, "xen-3.0"), note_str(6, "netbsd")});
  EXPECT_EQ(error_of(no_loader.elf), BuildError::bad_loader);
  LinuxLike no_version({note_str(8, "generic")});
  EXPECT_EQ(error_of(no_version.elf), BuildError::bad_xen_version);
  LinuxLike old_version({note_str(8, "generic"), note_str(5, "xen-2.0")});
  EXPECT_EQ(error_of(old_version.elf), BuildError::bad_xen_version);
  // GUEST_OS "linux" without LOADER is fine; defaults: VIRT_BASE 0 -> kstart = paddr.
  // Without ENTRY, e_entry (a VA above the paddr-based kernel range) is out of range.
  LinuxLike linux_only({note_str(6, "linux"), note_str(5, "xen-3.0")});
  EXPECT_EQ(error_of(linux_only.elf), BuildError::entry_out_of_range);
  LinuxLike with_entry({note_str(6, "linux"), note_str(5, "xen-3.0"), note_u64(1, 0x1000010)});
  auto p = params_of(with_entry.elf);
  ASSERT_TRUE(p.ok()) << p.status().reason();
  EXPECT_EQ(p->virt_base, 0u);
  EXPECT_EQ(p->elf_paddr_offset, 0u);
  EXPECT_EQ(p->virt_kstart, 0x1000000u);
  EXPECT_EQ(p->virt_entry, 0x1000010u);
  Bytes other_name = LinuxLike({{8, {'g', 'e', 'n', 0}, "NotXen"}}).elf;
  EXPECT_EQ(error_of(other_name), BuildError::bad_loader);  // notes scanned, none are Xen's
  Bytes none = make_elf({{0x1000, 0x1000, Bytes(16, 1), 16}}, {}, 0x1000);
  EXPECT_EQ(error_of(none), BuildError::not_xen_image);
}

TEST(BuilderNotes, AddressRules) {
  LinuxLike k;
  std::vector<NoteSpec> base = {note_str(8, "generic"), note_str(5, "xen-3.0")};
  auto with = [&](std::vector<NoteSpec> extra) {
    auto n = base;
    n.insert(n.end(), extra.begin(), extra.end());
    return LinuxLike(n).elf;
  };
  EXPECT_EQ(error_of(with({note_u64(4, 0)})), BuildError::paddr_offset_without_virt_base);
  EXPECT_EQ(error_of(with({note_u64(3, kVirtBase), note_u64(1, kVirtBase)})),
            BuildError::entry_out_of_range);
  // PADDR_OFFSET larger than the paddr puts the kernel below VIRT_BASE.
  EXPECT_EQ(error_of(with({note_u64(3, kVirtBase), note_u64(4, 0x2000000),
                           note_u64(1, kVirtBase - 0xff0000)})),
            BuildError::kernel_range_invalid);
  EXPECT_EQ(error_of(with({note_u64(3, kVirtBase), note_u64(1, k.entry()),
                           note_u64(15, k.kstart + 0x2000)})),
            BuildError::p2m_base_invalid);
  // PADDR_OFFSET moves the kernel: kstart = paddr + virt_base - offset.
  auto p = params_of(with({note_u64(3, kVirtBase), note_u64(4, 0x800000),
                           note_u64(1, k.entry() - 0x800000)}));
  ASSERT_TRUE(p.ok()) << p.status().reason();
  EXPECT_EQ(p->virt_kstart, k.kstart - 0x800000);
}

TEST(BuilderNotes, LegacyXenGuestString) {
  hv::builder::KernelParams p;
  ASSERT_TRUE(hv::builder::parse_guest_info(
                  p, "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,"
                     "ELF_PADDR_OFFSET=0xC0000000,HYPERCALL_PAGE=0x2,PAE=yes,LOADER=generic")
                  .ok());
  EXPECT_STREQ(p.guest_os, "linux");
  EXPECT_STREQ(p.loader, "generic");
  EXPECT_EQ(p.virt_base, 0xc0000000u);
  EXPECT_EQ(p.elf_paddr_offset, 0xc0000000u);
  EXPECT_EQ(p.virt_hypercall, 0xc0002000u);  // page number << 12, plus VIRT_BASE
  EXPECT_EQ(p.pae, hv::builder::PaeMode::yes);
  hv::builder::KernelParams q;
  EXPECT_EQ(hv::builder::parse_guest_info(q, "FEATURES=!made_up").error(),
            BuildError::unknown_required_feature);
}
