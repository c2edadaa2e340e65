// boot_info_test: PVH and Multiboot2 parsing from a fake machine memory, including loaders
// (or attackers) that hand us truncated, oversized or inconsistent structures.
#include <gtest/gtest.h>

#include <pv/hvm_start_info.hpp>
#include <vector>

#include "core/boot_info.hpp"
#include "core/multiboot2.hpp"
#include "fake_memory.hpp"

namespace {
using hv::BootError;
using hv::BootInfo;

struct PvhMachine {
  FakePhysicalMemory mem;
  pv::hvm_start_info info{};
  static constexpr std::uint64_t kInfo = 0x6000, kMods = 0x7000, kMap = 0x8000;

  PvhMachine() {
    info.magic = pv::XEN_HVM_START_MAGIC_VALUE;
    info.version = 1;
    info.cmdline_paddr = 0x5000;
    mem.place_string(0x5000, "console=com1 debug_exit=0xf4");
    pv::hvm_modlist_entry mods[2] = {{0x1000000, 0x4000, 0x5100, 0}, {0x2000000, 77, 0, 0}};
    mem.place_string(0x5100, "dom0 args");
    mem.place(kMods, mods, sizeof mods);
    info.nr_modules = 2;
    info.modlist_paddr = kMods;
    pv::hvm_memmap_table_entry map[3] = {{0, 0x9fc00, 1, 0}, {0x100000, 0x7f00000, 1, 0},
                                         {0xfffc0000, 0x40000, 2, 0}};
    mem.place(kMap, map, sizeof map);
    info.memmap_paddr = kMap;
    info.memmap_entries = 3;
    info.rsdp_paddr = 0xf5a40;
  }
  BootError parse(BootInfo& out) {
    mem.place(kInfo, info);
    return hv::parse_pvh(mem, kInfo, out);
  }
};

TEST(BootInfoPvh, ParsesCommandLineModulesAndMemoryMap) {
  PvhMachine m;
  static BootInfo out;
  ASSERT_EQ(m.parse(out), BootError::none);
  EXPECT_EQ(out.protocol, hv::BootProtocol::pvh);
  EXPECT_STREQ(out.cmdline, "console=com1 debug_exit=0xf4");
  ASSERT_EQ(out.modules.size(), 2u);
  EXPECT_EQ(out.modules[0].base, 0x1000000u);
  EXPECT_EQ(out.modules[0].size, 0x4000u);
  EXPECT_STREQ(out.modules[0].cmdline, "dom0 args");
  EXPECT_STREQ(out.modules[1].cmdline, "");
  EXPECT_EQ(out.memory.ranges().size(), 3u);
  EXPECT_EQ(out.memory.total(hv::MemoryType::usable), 0x9fc00u + 0x7f00000u);
  EXPECT_EQ(out.rsdp_paddr, 0xf5a40u);
}

TEST(BootInfoPvh, VersionZeroHasNoMemoryMap) {
  PvhMachine m;
  m.info.version = 0;
  static BootInfo out;
  ASSERT_EQ(m.parse(out), BootError::none);
  EXPECT_TRUE(out.memory.ranges().empty());
}

TEST(BootInfoPvh, RejectsBadMagicTooManyModulesAndUnreadableLists) {
  static BootInfo out;
  PvhMachine bad_magic;
  bad_magic.info.magic = 0x12345678;
  EXPECT_EQ(bad_magic.parse(out), BootError::bad_magic);
  PvhMachine many;
  many.info.nr_modules = 0xffffffff;
  EXPECT_EQ(many.parse(out), BootError::too_many_modules);
  PvhMachine stray;
  stray.info.modlist_paddr = 0x123456789;
  EXPECT_EQ(stray.parse(out), BootError::unreadable);
  PvhMachine huge_map;
  huge_map.info.memmap_entries = 1000;
  EXPECT_EQ(huge_map.parse(out), BootError::unreadable);
  FakePhysicalMemory empty;
  EXPECT_EQ(hv::parse_pvh(empty, 0x1000, out), BootError::unreadable);
}

TEST(BootInfoPvh, UnterminatedCommandLineIsBounded) {
  PvhMachine m;
  std::string endless(5000, 'A');  // no NUL within the buffer size
  m.mem.place(0x40000, endless.data(), endless.size());
  m.info.cmdline_paddr = 0x40000;
  static BootInfo out;
  ASSERT_EQ(m.parse(out), BootError::none);
  EXPECT_EQ(std::string(out.cmdline).size(), sizeof out.cmdline - 1);
}

// Builds a Multiboot2 information structure tag by tag.
class Mb2Builder {
 public:
  Mb2Builder() { bytes_.resize(8); }
  Mb2Builder& tag(std::uint32_t type, const std::vector<std::uint8_t>& body) {
    std::uint32_t size = static_cast<std::uint32_t>(8 + body.size());
    append(&type, 4);
    append(&size, 4);
    bytes_.insert(bytes_.end(), body.begin(), body.end());
    while (bytes_.size() % 8 != 0) bytes_.push_back(0);
    return *this;
  }
  Mb2Builder& string_tag(std::uint32_t type, const std::string& s) {
    return tag(type, std::vector<std::uint8_t>(s.c_str(), s.c_str() + s.size() + 1));
  }
  Mb2Builder& module(std::uint32_t start, std::uint32_t end, const std::string& args) {
    std::vector<std::uint8_t> body(8);
    std::memcpy(body.data(), &start, 4);
    std::memcpy(body.data() + 4, &end, 4);
    body.insert(body.end(), args.c_str(), args.c_str() + args.size() + 1);
    return tag(hv::multiboot2::TAG_MODULE, body);
  }
  Mb2Builder& mmap(const std::vector<hv::multiboot2::MmapEntry>& entries, std::uint32_t entry_size = 24) {
    std::vector<std::uint8_t> body(8);
    std::uint32_t version = 0;
    std::memcpy(body.data(), &entry_size, 4);
    std::memcpy(body.data() + 4, &version, 4);
    for (const auto& e : entries) {
      const auto* p = reinterpret_cast<const std::uint8_t*>(&e);
      body.insert(body.end(), p, p + sizeof e);
    }
    return tag(hv::multiboot2::TAG_MMAP, body);
  }
  std::vector<std::uint8_t> finish(bool with_end = true) {
    if (with_end) tag(hv::multiboot2::TAG_END, {});
    std::uint32_t total = static_cast<std::uint32_t>(bytes_.size());
    std::memcpy(bytes_.data(), &total, 4);
    return bytes_;
  }

 private:
  void append(const void* p, std::size_t n) {
    bytes_.insert(bytes_.end(), static_cast<const std::uint8_t*>(p), static_cast<const std::uint8_t*>(p) + n);
  }
  std::vector<std::uint8_t> bytes_;
};

TEST(BootInfoMultiboot2, ParsesGrubStyleInformation) {
  auto mbi = Mb2Builder()
                 .string_tag(hv::multiboot2::TAG_CMDLINE, "loglvl=all")
                 .string_tag(hv::multiboot2::TAG_BOOT_LOADER_NAME, "GRUB 2.06")
                 .module(0x300000, 0x301000, "first x=1")
                 .module(0x400000, 0x400010, "")
                 .mmap({{0, 0x9fc00, 1, 0}, {0x100000, 0x1000000, 1, 0}, {0xe0000, 0x20000, 2, 0}})
                 .tag(hv::multiboot2::TAG_ACPI_OLD, std::vector<std::uint8_t>(20, 0x11))
                 .finish();
  FakePhysicalMemory mem;
  mem.place(0x10000, mbi.data(), mbi.size());
  static BootInfo out;
  ASSERT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x10000, out), BootError::none);
  EXPECT_STREQ(out.cmdline, "loglvl=all");
  EXPECT_STREQ(out.loader_name, "GRUB 2.06");
  ASSERT_EQ(out.modules.size(), 2u);
  EXPECT_EQ(out.modules[0].size, 0x1000u);
  EXPECT_STREQ(out.modules[0].cmdline, "first x=1");
  EXPECT_EQ(out.memory.total(hv::MemoryType::usable), 0x9fc00u + 0x1000000u);
  EXPECT_TRUE(out.has_rsdp_copy);
}

TEST(BootInfoMultiboot2, RejectsMalformedStructures) {
  FakePhysicalMemory mem;
  static BootInfo out;
  EXPECT_EQ(hv::parse_multiboot2(mem, 0x2BADB002, 0x10000, out), BootError::bad_magic);
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x10000, out), BootError::unreadable);

  auto no_end = Mb2Builder().string_tag(hv::multiboot2::TAG_CMDLINE, "x").finish(false);
  mem.place(0x10000, no_end.data(), no_end.size());
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x10000, out), BootError::malformed);

  auto overlong = Mb2Builder().string_tag(hv::multiboot2::TAG_CMDLINE, "abc").finish();
  std::uint32_t huge = 0x1000;
  std::memcpy(overlong.data() + 12, &huge, 4);  // first tag claims more than the structure
  mem.place(0x20000, overlong.data(), overlong.size());
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x20000, out), BootError::malformed);

  auto zero_size = Mb2Builder().string_tag(hv::multiboot2::TAG_CMDLINE, "abc").finish();
  std::uint32_t zero = 0;
  std::memcpy(zero_size.data() + 12, &zero, 4);  // would loop forever if accepted
  mem.place(0x30000, zero_size.data(), zero_size.size());
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x30000, out), BootError::malformed);

  auto backwards = Mb2Builder().module(0x5000, 0x4000, "").finish();
  mem.place(0x40000, backwards.data(), backwards.size());
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x40000, out), BootError::malformed);

  auto bad_entry = Mb2Builder().mmap({{0, 0x1000, 1, 0}}, 4).finish();
  mem.place(0x50000, bad_entry.data(), bad_entry.size());
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x50000, out), BootError::malformed);
}

TEST(BootInfoMultiboot2, TooManyModulesIsAnError) {
  Mb2Builder b;
  for (int i = 0; i < 17; ++i) b.module(0x100000 * (i + 1), 0x100000 * (i + 1) + 16, "m");
  auto mbi = b.finish();
  FakePhysicalMemory mem;
  mem.place(0x10000, mbi.data(), mbi.size());
  static BootInfo out;
  EXPECT_EQ(hv::parse_multiboot2(mem, hv::multiboot2::kBootloaderMagic, 0x10000, out),
            BootError::too_many_modules);
}

}  // namespace
