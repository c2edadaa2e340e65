// Full builds into a fake guest memory, checked from the guest's point of view: walk the
// written page tables from the L4 and read the p2m, start_info and kernel through them.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <pv/start_info.hpp>

#include "builder_support.hpp"

using namespace builder_test;
using hv::builder::BuildError;
using hv::builder::BuildOutput;
using hv::builder::DomainKind;
using hv::builder::DomainParams;
using hv::builder::Layout;

namespace {

constexpr std::uint64_t VB = kVirtBase;
constexpr std::uint64_t kUpperFlags = 0x67;  // P | RW | US | A | D
constexpr std::uint64_t kGuestKernel = std::uint64_t{1} << 52;

// Reads guest memory at `va` through the page tables.
struct GuestView {
  FakeTarget& t;
  std::uint64_t l4;
  std::uint64_t read_u64(std::uint64_t va) {
    std::uint64_t tables[4];
    std::uint64_t e = t.walk(l4, va, tables);
    EXPECT_TRUE(e & 1) << std::hex << "unmapped va " << va;
    std::uint64_t v;
    std::memcpy(&v, t.machine((e & 0x000ffffffffff000) >> 12) + (va & 0xfff), 8);
    return v;
  }
  std::uint8_t read_u8(std::uint64_t va) {
    std::uint64_t tables[4];
    std::uint64_t e = t.walk(l4, va, tables);
    return t.machine((e & 0x000ffffffffff000) >> 12)[va & 0xfff];
  }
};

// Every VA of the bootstrap mapping maps pfn (va - v_start) / 4096 with the right flags,
// every upper entry has Xen's flags, and the tables reached are exactly the reported ones.
void check_bootstrap(FakeTarget& t, const BuildOutput& out) {
  const Layout& l = out.layout;
  const bool dom0 = l.kind == DomainKind::dom0;
  std::map<std::uint64_t, unsigned> reported;  // mfn -> level
  hv::builder::for_each_page_table(l, [&](std::uint64_t pfn, unsigned level) {
    reported[t.mfn_of(pfn)] = level;
  });
  std::map<std::uint64_t, unsigned> reached;
  for (std::uint64_t va = l.v_start; va < l.v_end; va += 4096) {
    std::uint64_t tables[4];
    std::uint64_t e = t.walk(out.l4_mfn, va, tables);
    for (unsigned level = 4; level >= 2; --level) {
      reached[tables[level - 1]] = level;
      std::uint64_t upper = t.entry(tables[level - 1], (va >> (12 + 9 * (level - 1))) & 511);
      ASSERT_EQ(upper & 0xfff, kUpperFlags) << "level " << level;
    }
    reached[tables[0]] = 1;
    std::uint64_t pfn = (va - l.v_start) >> 12;
    ASSERT_EQ((e & 0x000ffffffffff000) >> 12, t.mfn_of(pfn)) << std::hex << va;
    bool is_table = pfn >= l.pt_pfn && pfn < l.pt_pfn + l.nr_pt_frames;
    std::uint64_t want = 0x21 | (is_table ? 0 : 0x2) | (dom0 ? (0x4 | kGuestKernel) : 0);
    ASSERT_EQ(e & ~std::uint64_t{0x000ffffffffff000}, want) << std::hex << va;
  }
  if (l.p2m_separate) {
    for (std::uint64_t va = l.p2m.start; va < l.p2m.end; va += 4096) {
      std::uint64_t tables[4];
      std::uint64_t e = t.walk(out.l4_mfn, va, tables);
      for (unsigned level = 1; level <= 4; ++level) reached[tables[level - 1]] = level;
      std::uint64_t want = 0x23 | (dom0 ? (0x44 | kGuestKernel) : 0);  // dom0 adds D
      ASSERT_EQ(e & ~std::uint64_t{0x000ffffffffff000}, want) << std::hex << va;
    }
  }
  EXPECT_EQ(reached, reported);
  // Nothing but the bootstrap and p2m slots in the L4.
  unsigned present = 0;
  for (unsigned i = 0; i < 512; ++i) present += t.entry(out.l4_mfn, i) & 1;
  EXPECT_EQ(present, l.p2m_separate ? 2u : 1u);
}

void check_p2m(FakeTarget& t, const BuildOutput& out) {
  GuestView g{t, out.l4_mfn};
  for (std::uint64_t pfn = 0; pfn < out.layout.nr_pages; pfn += 97)
    ASSERT_EQ(g.read_u64(out.layout.p2m.start + pfn * 8), t.mfn_of(pfn)) << pfn;
  std::uint64_t last = out.layout.nr_pages - 1;
  EXPECT_EQ(g.read_u64(out.layout.p2m.start + last * 8), t.mfn_of(last));
}

pv::start_info start_info_of(FakeTarget& t, const BuildOutput& out) {
  pv::start_info si;
  std::memcpy(&si, t.guest(out.layout.start_info_pfn), sizeof(si));
  return si;
}

}  // namespace

TEST(BuilderBuild, Dom0HelloEndToEnd) {
  Bytes hello = read_file(HELLO_ELF_PATH);
  FakeTarget t(16384);
  DomainParams p;
  p.kind = DomainKind::dom0;
  p.nr_pages = 16384;
  p.si_flags = pv::SIF_PRIVILEGED | pv::SIF_INITDOMAIN;
  p.pm_bits = 3;
  p.xenstore_console_pages = false;
  p.shared_info_maddr = 0x12345000;
  p.kernel = hello;
  p.cmdline = "hello-args x=1";
  auto out = hv::builder::build_domain(p, t);
  ASSERT_TRUE(out.ok()) << out.status().reason();
  const Layout& l = out->layout;
  EXPECT_EQ(out->l4_pfn, 0x36u);
  EXPECT_EQ(out->l4_mfn, t.mfn_of(0x36));
  check_bootstrap(t, *out);
  check_p2m(t, *out);
  // start_info, as Xen fills it for dom0.
  pv::start_info si = start_info_of(t, *out);
  EXPECT_STREQ(si.magic, "xen-3.0-x86_64");
  EXPECT_EQ(si.nr_pages, 16384u);
  EXPECT_EQ(si.shared_info, 0x12345000u);
  EXPECT_EQ(si.flags, 0x303u);
  EXPECT_EQ(si.pt_base, 0xffffffff80036000u);
  EXPECT_EQ(si.nr_pt_frames, 5u);
  EXPECT_EQ(si.mfn_list, 0xffffffff80015000u);
  EXPECT_EQ(si.mod_start, 0u);
  EXPECT_EQ(si.mod_len, 0u);
  EXPECT_STREQ(reinterpret_cast<const char*>(si.cmd_line), "hello-args x=1");
  EXPECT_EQ(si.first_p2m_pfn, 1024u);
  EXPECT_EQ(si.nr_p2m_frames, 0u);
  EXPECT_EQ(si.store_mfn, 0u);
  // Kernel bytes where the ELF says, bss zeroed, the hypercall page handed to the target.
  auto img = hv::elf::Image::parse(hello);
  ASSERT_TRUE(img.ok());
  GuestView g{t, out->l4_mfn};
  for (std::size_t i = 0; i < img->phnum(); ++i) {
    hv::elf::Elf64_Phdr ph = img->phdr(i);
    if (!hv::elf::is_loadable(ph)) continue;
    for (std::uint64_t off = 0; off < ph.p_memsz; off += 61) {
      if (ph.p_vaddr + off >= 0xffffffff80002000 && ph.p_vaddr + off < 0xffffffff80003000)
        continue;  // hypercall page, rewritten by the target
      std::uint8_t want = off < ph.p_filesz ? hello[ph.p_offset + off] : 0;
      ASSERT_EQ(g.read_u8(ph.p_vaddr + off), want) << std::hex << ph.p_vaddr + off;
    }
  }
  EXPECT_EQ(out->hypercall_page_pfn, 2u);
  EXPECT_EQ(t.hypercall_mfn, t.mfn_of(2));
  EXPECT_EQ(g.read_u8(0xffffffff80002000), 0xc3);
  // Padding pfn 0 and the boot stack are cleared, the garbage beyond pfns_used is not ours.
  EXPECT_EQ(g.read_u64(VB), 0u);
  EXPECT_EQ(g.read_u64(l.boot_stack.start + 8), 0u);
  EXPECT_EQ(t.guest(l.pfns_used)[0], 0xcc);
  // vCPU0.
  EXPECT_EQ(out->regs.rip, 0xffffffff80001000u);
  EXPECT_EQ(out->regs.rsp, 0xffffffff8003c000u);
  EXPECT_EQ(out->regs.rsi, 0xffffffff80035000u);
  EXPECT_EQ(out->regs.rflags, 0x200u);
  EXPECT_EQ(out->regs.cs, 0xe033);
  EXPECT_EQ(out->regs.ss, 0xe02b);
  EXPECT_EQ(out->regs.ds, 0);
  EXPECT_EQ(out->regs.kernel_sp, 0u);
  EXPECT_EQ(out->regs.cr3_mfn, out->l4_mfn);
  EXPECT_EQ(t.mapped_, 0);
}

TEST(BuilderBuild, DomULinuxLikeWithInitP2mAndModule) {
  LinuxLike k;
  Bytes initrd(100000);
  for (std::size_t i = 0; i < initrd.size(); ++i) initrd[i] = static_cast<std::uint8_t>(i % 251);
  FakeTarget t(8192);
  DomainParams p;
  p.kind = DomainKind::domu;
  p.domid = 3;
  p.nr_pages = 8192;
  p.kernel = k.elf;
  p.module = initrd;
  p.shared_info_maddr = 0x777000;
  p.store_evtchn = 1;
  p.console_evtchn = 2;
  std::string long_cmdline(1500, 'c');
  p.cmdline = long_cmdline;
  auto out = hv::builder::build_domain(p, t);
  ASSERT_TRUE(out.ok()) << out.status().reason();
  const Layout& l = out->layout;
  EXPECT_EQ(l.start_info_pfn, 0x1009u);
  EXPECT_EQ(l.pt_pfn, 0x100cu);
  EXPECT_EQ(l.nr_pt_frames, 13u);
  EXPECT_EQ(l.stack_pfn, 0x1019u);
  EXPECT_EQ(l.v_end, VB + 0x1400000);
  EXPECT_EQ(l.module_pfn, 0x1400u);
  EXPECT_EQ(l.first_p2m_pfn, 0x1419u);
  EXPECT_EQ(l.nr_p2m_frames, 19u);
  check_bootstrap(t, *out);
  check_p2m(t, *out);
  pv::start_info si = start_info_of(t, *out);
  EXPECT_STREQ(si.magic, "xen-3.0-x86_64");
  EXPECT_EQ(si.nr_pages, 8192u);
  EXPECT_EQ(si.shared_info, 0x777000u);
  EXPECT_EQ(si.flags, pv::SIF_VIRT_P2M_4TOOLS | pv::SIF_MOD_START_PFN);
  EXPECT_EQ(si.store_mfn, t.mfn_of(0x100a));
  EXPECT_EQ(si.store_evtchn, 1u);
  EXPECT_EQ(si.console.domU.mfn, t.mfn_of(0x100b));
  EXPECT_EQ(si.console.domU.evtchn, 2u);
  EXPECT_EQ(si.pt_base, VB + 0x100c000);
  EXPECT_EQ(si.mfn_list, 0x8000000000u);
  EXPECT_EQ(si.mod_start, 0x1400u);
  EXPECT_EQ(si.mod_len, 25u * 4096u);
  EXPECT_EQ(si.first_p2m_pfn, 0x1419u);
  EXPECT_EQ(si.nr_p2m_frames, 19u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(si.cmd_line)), std::string(1023, 'c'));
  // The unmapped module sits in its frames; its page tail is zero.
  EXPECT_EQ(0, std::memcmp(t.guest(0x1400), initrd.data(), 4096));
  EXPECT_EQ(t.guest(0x1400 + 24)[100000 - 24 * 4096], 0u);
  EXPECT_EQ(t.guest(0x1400 + 24)[100000 - 24 * 4096 - 1], initrd.back());
  // Kernel text and data through the mapping; bss is zero.
  GuestView g{t, out->l4_mfn};
  EXPECT_EQ(g.read_u8(k.kstart + 5), static_cast<std::uint8_t>(5 * 7 + 1));
  EXPECT_EQ(g.read_u8(k.data_va() + 3), static_cast<std::uint8_t>(0xa5 ^ 3));
  EXPECT_EQ(g.read_u64(k.data_va() + 0x1000), 0u);
  EXPECT_EQ(out->regs.rsp, VB + 0x101a000);
  EXPECT_EQ(out->regs.rsi, VB + 0x1009000);
  EXPECT_EQ(out->regs.kernel_sp, out->regs.rsp);
  EXPECT_EQ(out->regs.kernel_ss, 0xe02b);
}

TEST(BuilderBuild, Dom0LinuxLikeInitP2m) {
  LinuxLike k;
  Bytes initrd(5000, 0x5a);
  FakeTarget t(16384);
  DomainParams p;
  p.kind = DomainKind::dom0;
  p.nr_pages = 16384;
  p.si_flags = pv::SIF_PRIVILEGED | pv::SIF_INITDOMAIN;
  p.xenstore_console_pages = false;
  p.kernel = k.elf;
  p.module = initrd;
  auto out = hv::builder::build_domain(p, t);
  ASSERT_TRUE(out.ok()) << out.status().reason();
  check_bootstrap(t, *out);
  check_p2m(t, *out);
  // Xen's setup_pv_physmap order after the initrd: L3, L2, L1, then the entries.
  const Layout& l = out->layout;
  std::vector<std::pair<std::uint64_t, unsigned>> p2m_tables;
  hv::builder::for_each_page_table(l, [&](std::uint64_t pfn, unsigned level) {
    if (pfn >= l.first_p2m_pfn) p2m_tables.emplace_back(pfn, level);
  });
  std::vector<std::pair<std::uint64_t, unsigned>> want = {
      {8194, 3}, {8195, 2}, {8196, 1}};  // chunk 8192 + 2 initrd pages
  EXPECT_EQ(p2m_tables, want);
  EXPECT_EQ(std::memcmp(t.guest(8192), initrd.data(), 4096), 0);
  pv::start_info si = start_info_of(t, *out);
  EXPECT_EQ(si.flags, 0x3u | pv::SIF_MOD_START_PFN);
  EXPECT_EQ(si.mod_start, 8192u);
  EXPECT_EQ(si.mod_len, 5000u);
}

TEST(BuilderBuild, TargetFailuresAreReported) {
  LinuxLike k;
  FakeTarget small(4096);  // the target has fewer frames than the domain claims
  DomainParams p;
  p.kind = DomainKind::domu;
  p.nr_pages = 8192;
  p.kernel = k.elf;
  auto out = hv::builder::build_domain(p, small);
  EXPECT_EQ(out.error(), BuildError::target_failure);
  EXPECT_EQ(small.mapped_, 0);
  EXPECT_EQ(out.status().status().code(), -14);  // -EFAULT for a hypercall caller
  // A hostile image fails before any frame is touched.
  Bytes bad = k.elf;
  put(bad, 64 + 40, std::uint64_t{0x10});
  p.kernel = bad;
  FakeTarget fresh(8192);
  EXPECT_EQ(hv::builder::build_domain(p, fresh).error(), BuildError::elf_segment_memsz);
  EXPECT_EQ(fresh.maps_, 0u);
  EXPECT_STREQ(hv::builder::build_error_name(BuildError::elf_segment_memsz), "elf_segment_memsz");
}
