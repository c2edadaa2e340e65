// Start-of-day layouts of the PV domain builder against Xen 4.17: the dom0 oracle captured
// from real Xen for hello.elf, dom0 with a module / more memory / a Linux-like kernel, the
// libxenguest domU layout, and refusals of layouts that cannot be built.
#include <gtest/gtest.h>

#include <pv/start_info.hpp>

#include "builder_support.hpp"

using namespace builder_test;
using hv::builder::BuildError;
using hv::builder::DomainKind;
using hv::builder::DomainParams;
using hv::builder::Layout;
using hv::builder::VirtRange;

namespace {

constexpr std::uint64_t VB = kVirtBase;

DomainParams dom0_params(const Bytes& kernel, std::uint64_t nr_pages) {
  DomainParams p;
  p.kind = DomainKind::dom0;
  p.nr_pages = nr_pages;
  p.si_flags = pv::SIF_PRIVILEGED | pv::SIF_INITDOMAIN;
  p.pm_bits = 3;  // Xen's default xen_processor_pmbits (PX | CX)
  p.xenstore_console_pages = false;
  p.kernel = kernel;
  return p;
}

DomainParams domu_params(const Bytes& kernel, std::uint64_t nr_pages) {
  DomainParams p;
  p.kind = DomainKind::domu;
  p.domid = 1;
  p.nr_pages = nr_pages;
  p.kernel = kernel;
  p.store_evtchn = 1;
  p.console_evtchn = 2;
  return p;
}

hv::builder::BuildResult<Layout> layout_of(const DomainParams& p) {
  auto img = hv::elf::Image::parse(p.kernel);
  if (!img.ok()) return img.status();
  auto k = hv::builder::parse_kernel_params(*img);
  if (!k.ok()) return k.status();
  return hv::builder::compute_layout(*k, p);
}

}  // namespace

// Xen 4.17 booting hello.elf as dom0 with 64 MiB printed exactly these ranges.
TEST(BuilderLayout, Dom0HelloMatchesXenOracle) {
  Bytes hello = read_file(HELLO_ELF_PATH);
  auto l = layout_of(dom0_params(hello, 16384));
  ASSERT_TRUE(l.ok()) << l.status().reason();
  EXPECT_EQ(l->kernel, (VirtRange{0xffffffff80001000, 0xffffffff80015000}));
  EXPECT_TRUE(l->module.empty());
  EXPECT_EQ(l->p2m, (VirtRange{0xffffffff80015000, 0xffffffff80035000}));
  EXPECT_EQ(l->start_info, (VirtRange{0xffffffff80035000, 0xffffffff800354b8}));
  EXPECT_EQ(l->page_tables, (VirtRange{0xffffffff80036000, 0xffffffff8003b000}));
  EXPECT_EQ(l->boot_stack, (VirtRange{0xffffffff8003b000, 0xffffffff8003c000}));
  EXPECT_EQ(l->v_start, 0xffffffff80000000u);
  EXPECT_EQ(l->v_end, 0xffffffff80400000u);
  EXPECT_EQ(l->entry, 0xffffffff80001000u);
  EXPECT_EQ(l->si_flags, 0x303u);
  EXPECT_EQ(l->nr_pt_frames, 5u);
  EXPECT_EQ(l->chunk_pages, 1024u);
  EXPECT_EQ(l->first_p2m_pfn, 1024u);  // Xen reports the end of its first allocation
  EXPECT_EQ(l->nr_p2m_frames, 0u);
  EXPECT_EQ(l->hypercall_page, 0xffffffff80002000u);
}

TEST(BuilderLayout, Dom0HelloWithMappedModule) {
  Bytes hello = read_file(HELLO_ELF_PATH), initrd(100000, 0x42);  // 25 pages
  DomainParams p = dom0_params(hello, 16384);
  p.module = initrd;
  auto l = layout_of(p);
  ASSERT_TRUE(l.ok()) << l.status().reason();
  // No MOD_START_PFN note: the initrd is mapped right after the kernel.
  EXPECT_EQ(l->module, (VirtRange{VB + 0x15000, VB + 0x15000 + 100000}));
  EXPECT_EQ(l->p2m, (VirtRange{VB + 0x2e000, VB + 0x4e000}));
  EXPECT_EQ(l->start_info, (VirtRange{VB + 0x4e000, VB + 0x4e4b8}));
  EXPECT_EQ(l->page_tables, (VirtRange{VB + 0x4f000, VB + 0x54000}));
  EXPECT_EQ(l->boot_stack, (VirtRange{VB + 0x54000, VB + 0x55000}));
  EXPECT_EQ(l->v_end, VB + 0x400000);
  EXPECT_EQ(l->chunk_pages, 1024u);  // 4 MiB minus the initrd's 25 pages, rounded to 2^10
  EXPECT_EQ(l->module_pfn, 0x15u);
  EXPECT_EQ(l->mod_start, VB + 0x15000);
  EXPECT_EQ(l->mod_len, 100000u);
  EXPECT_EQ(l->si_flags, 0x303u);
  EXPECT_EQ(l->first_p2m_pfn, 1024u + 25u);
}

TEST(BuilderLayout, Dom0MoreMemoryGrowsTables) {
  Bytes hello = read_file(HELLO_ELF_PATH);
  auto l = layout_of(dom0_params(hello, 131072));  // 512 MiB: 1 MiB of p2m
  ASSERT_TRUE(l.ok()) << l.status().reason();
  EXPECT_EQ(l->p2m, (VirtRange{VB + 0x15000, VB + 0x115000}));
  EXPECT_EQ(l->page_tables, (VirtRange{VB + 0x116000, VB + 0x11b000}));
  EXPECT_EQ(l->v_end, VB + 0x400000);
  l = layout_of(dom0_params(hello, 524288));  // 2 GiB: 4 MiB of p2m, an 8 MiB mapping
  ASSERT_TRUE(l.ok()) << l.status().reason();
  EXPECT_EQ(l->p2m, (VirtRange{VB + 0x15000, VB + 0x415000}));
  EXPECT_EQ(l->start_info, (VirtRange{VB + 0x415000, VB + 0x4154b8}));
  EXPECT_EQ(l->nr_pt_frames, 7u);  // L4, L3, L2 and four L1s
  EXPECT_EQ(l->page_tables, (VirtRange{VB + 0x416000, VB + 0x41d000}));
  EXPECT_EQ(l->boot_stack, (VirtRange{VB + 0x41d000, VB + 0x41e000}));
  EXPECT_EQ(l->v_end, VB + 0x800000);
  EXPECT_EQ(l->chunk_pages, 2048u);
}

TEST(BuilderLayout, Dom0LinuxLikeInitP2mAndUnmappedModule) {
  LinuxLike k;
  Bytes initrd(100000, 0x42);
  DomainParams p = dom0_params(k.elf, 16384);
  p.module = initrd;
  auto l = layout_of(p);
  ASSERT_TRUE(l.ok()) << l.status().reason();
  EXPECT_EQ(l->kernel, (VirtRange{VB + 0x1000000, VB + 0x1009000}));
  EXPECT_TRUE(l->module.empty());
  EXPECT_EQ(l->start_info, (VirtRange{VB + 0x1009000, VB + 0x10094b8}));
  EXPECT_EQ(l->page_tables, (VirtRange{VB + 0x100a000, VB + 0x1017000}));  // 13 tables
  EXPECT_EQ(l->boot_stack, (VirtRange{VB + 0x1017000, VB + 0x1018000}));
  EXPECT_EQ(l->v_end, VB + 0x1400000);
  EXPECT_EQ(l->chunk_pages, 8192u);
  EXPECT_TRUE(l->module_unmapped);
  EXPECT_EQ(l->mod_start, 8192u);  // a pfn, right after Xen's first allocation
  EXPECT_EQ(l->mod_len, 100000u);
  EXPECT_EQ(l->si_flags, 0x303u | pv::SIF_MOD_START_PFN);
  EXPECT_EQ(l->p2m, (VirtRange{0x8000000000, 0x8000020000}));
  EXPECT_EQ(l->first_p2m_pfn, 8192u + 25u);
  EXPECT_EQ(l->nr_p2m_frames, 35u);  // L3, L2, L1 and 32 pages of entries
  EXPECT_EQ(l->pfns_used, 8192u + 25u + 35u);
}

// The hand-derived example of the ABI spec (§1.4): Debian-like span 16..74 MiB, 256 MiB.
TEST(BuilderLayout, DomUSpecExample) {
  Bytes elf = make_elf({{0x1000000, VB + 0x1000000, Bytes(64, 0x90), 0x3a00000}},
                       linux_notes(VB + 0x1000000, VB + 0x1001000), VB + 0x1000000);
  auto l = layout_of(domu_params(elf, 65536));
  ASSERT_TRUE(l.ok()) << l.status().reason();
  EXPECT_EQ(l->kernel_pfn, 0x1000u);
  EXPECT_EQ(l->start_info_pfn, 0x4a00u);
  EXPECT_EQ(l->xenstore_pfn, 0x4a01u);
  EXPECT_EQ(l->console_pfn, 0x4a02u);
  EXPECT_EQ(l->pt_pfn, 0x4a03u);
  EXPECT_EQ(l->nr_pt_frames, 41u);
  EXPECT_EQ(l->stack_pfn, 0x4a2cu);
  EXPECT_EQ(l->v_end, VB + 0x4c00000);
  EXPECT_EQ(l->first_p2m_pfn, 0x4c00u);
  EXPECT_EQ(l->nr_p2m_frames, 131u);
  EXPECT_EQ(l->boot_stack.end, 0xffffffff84a2d000u);
  EXPECT_EQ(l->start_info.start, 0xffffffff84a00000u);
  EXPECT_EQ(l->page_tables.start, 0xffffffff84a03000u);
  EXPECT_EQ(l->si_flags, pv::SIF_VIRT_P2M_4TOOLS);
  EXPECT_EQ(l->maps[1][2].pfn, 0x4c80u);  // p2m tables after its data: L3, L2, L1
  EXPECT_EQ(l->maps[1][0].pfn, 0x4c82u);
}

TEST(BuilderLayout, RefusesLayoutsThatCannotBeBuilt) {
  Bytes hello = read_file(HELLO_ELF_PATH);
  EXPECT_EQ(layout_of(dom0_params(hello, 512)).error(), BuildError::out_of_memory);
  EXPECT_EQ(layout_of(domu_params(hello, 512)).error(), BuildError::out_of_memory);
  EXPECT_EQ(layout_of(dom0_params(hello, 0)).error(), BuildError::invalid_argument);
  auto kernel_at = [](std::uint64_t virt_base) {
    std::uint64_t ks = virt_base + 0x1000000;
    return make_elf({{0x1000000, ks, Bytes(64, 1), 0x1000}},
                    {note_str(8, "generic"), note_str(5, "xen-3.0"), note_u64(3, virt_base),
                     note_u64(4, 0), note_u64(1, ks)},
                    ks);
  };
  Bytes in_hole = kernel_at(0xffff820000000000);
  EXPECT_EQ(layout_of(dom0_params(in_hole, 16384)).error(), BuildError::hypervisor_overlap);
  EXPECT_EQ(layout_of(domu_params(in_hole, 16384)).error(), BuildError::hypervisor_overlap);
  Bytes noncanonical = kernel_at(0x00007fffff000000);
  EXPECT_EQ(layout_of(domu_params(noncanonical, 16384)).error(),
            BuildError::address_noncanonical);
  Bytes at_top = kernel_at(0xfffffffffec00000);  // kernel in the top 4 MiB: v_end wraps
  EXPECT_EQ(layout_of(dom0_params(at_top, 16384)).error(), BuildError::address_overflow);
  Bytes unaligned = kernel_at(VB + 0x10);
  EXPECT_EQ(layout_of(domu_params(unaligned, 16384)).error(), BuildError::misaligned);
}

TEST(BuilderLayout, FeatureAndHypercallPageChecks) {
  auto kernel_with = [](std::vector<NoteSpec> extra) {
    LinuxLike k;
    auto notes = linux_notes(k.entry(), k.hypercall());
    notes.insert(notes.end(), extra.begin(), extra.end());
    return LinuxLike(notes).elf;
  };
  Bytes no_dom0 = kernel_with({note_u32(17, 1)});  // SUPPORTED_FEATURES ORs: still has dom0
  EXPECT_TRUE(layout_of(dom0_params(no_dom0, 16384)).ok());
  Bytes plain = make_elf({{0x1000000, VB + 0x1000000, Bytes(64, 1), 0x1000}},
                         {note_str(8, "generic"), note_str(5, "xen-3.0"), note_u64(3, VB),
                          note_u64(1, VB + 0x1000000), note_u32(17, 1)},
                         VB + 0x1000000);
  EXPECT_EQ(layout_of(dom0_params(plain, 16384)).error(), BuildError::no_dom0_support);
  EXPECT_TRUE(layout_of(domu_params(plain, 16384)).ok());
  Bytes needs_dom0 = kernel_with({note_str(10, "!dom0")});
  EXPECT_EQ(layout_of(domu_params(needs_dom0, 16384)).error(),
            BuildError::unsupported_required_feature);
  Bytes needs_smk = kernel_with({note_str(10, "!supervisor_mode_kernel")});
  EXPECT_EQ(layout_of(dom0_params(needs_smk, 16384)).error(),
            BuildError::unsupported_required_feature);
  Bytes bad_hcall = kernel_with({note_u64(2, 0x1000)});
  EXPECT_EQ(layout_of(domu_params(bad_hcall, 16384)).error(), BuildError::hypercall_page_invalid);
  Bytes odd_hcall = kernel_with({note_u64(2, VB + 0x1000800)});
  EXPECT_EQ(layout_of(dom0_params(odd_hcall, 16384)).error(), BuildError::hypercall_page_invalid);
}

TEST(BuilderLayout, Dom0PageTableOrderIsXens) {
  Bytes hello = read_file(HELLO_ELF_PATH);
  auto l = layout_of(dom0_params(hello, 16384));
  ASSERT_TRUE(l.ok());
  std::vector<std::pair<std::uint64_t, unsigned>> tables;
  hv::builder::for_each_page_table(*l, [&](std::uint64_t pfn, unsigned level) {
    tables.emplace_back(pfn, level);
  });
  // dom0_construct_pv allocates the L4, then an L1 before the L2 and L3 that point to it.
  std::vector<std::pair<std::uint64_t, unsigned>> want = {
      {0x36, 4}, {0x37, 1}, {0x38, 2}, {0x39, 3}, {0x3a, 1}};
  EXPECT_EQ(tables, want);
}
