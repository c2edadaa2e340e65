// acpi_test: RSDP discovery, table walking, the S5 recipe and the MADT's CPU list over
// synthetic firmware tables, including corrupt checksums and absurd lengths that must be
// ignored, not believed.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/acpi.hpp"
#include "fake_memory.hpp"

namespace {

void fix_checksum(std::vector<std::uint8_t>& t, std::size_t at, std::size_t len) {
  t[at] = 0;
  std::uint8_t sum = 0;
  for (std::size_t i = 0; i < len; ++i) sum = static_cast<std::uint8_t>(sum + t[i]);
  t[at] = static_cast<std::uint8_t>(-sum);
}

std::vector<std::uint8_t> sdt(const char* sig, std::vector<std::uint8_t> body) {
  std::vector<std::uint8_t> t(36, 0);
  std::memcpy(t.data(), sig, 4);
  t.insert(t.end(), body.begin(), body.end());
  std::uint32_t len = static_cast<std::uint32_t>(t.size());
  std::memcpy(t.data() + 4, &len, 4);
  fix_checksum(t, 9, t.size());
  return t;
}

std::vector<std::uint8_t> rsdp(std::uint32_t rsdt, std::uint64_t xsdt = 0) {
  std::vector<std::uint8_t> r(36, 0);
  std::memcpy(r.data(), "RSD PTR ", 8);
  r[15] = xsdt ? 2 : 0;
  std::memcpy(r.data() + 16, &rsdt, 4);
  fix_checksum(r, 8, 20);
  if (xsdt) {
    std::uint32_t len = 36;
    std::memcpy(r.data() + 20, &len, 4);
    std::memcpy(r.data() + 24, &xsdt, 8);
    fix_checksum(r, 32, 36);
  }
  return r;
}

// \_S5_ as QEMU's DSDT encodes it: Name(_S5, Package(4){0, 0, 0, 0}).
const std::vector<std::uint8_t> kQemuS5 = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};

struct Firmware {
  FakePhysicalMemory mem;
  hv::BootInfo boot{};
  Firmware(bool use_xsdt, std::vector<std::uint8_t> s5 = kQemuS5) {
    std::vector<std::uint8_t> aml = {0x10, 0x20, 0x30};  // unrelated AML before
    aml.insert(aml.end(), s5.begin(), s5.end());
    auto dsdt = sdt("DSDT", aml);
    std::vector<std::uint8_t> fadt_body(244 - 36, 0);
    std::uint32_t dsdt_addr = 0x7000, pm1a = 0x604;
    std::memcpy(fadt_body.data() + 40 - 36, &dsdt_addr, 4);
    std::memcpy(fadt_body.data() + 64 - 36, &pm1a, 4);
    auto fadt = sdt("FACP", fadt_body);
    auto madt = sdt("APIC", std::vector<std::uint8_t>(8, 0));
    std::uint64_t fadt_addr = 0x6000, madt_addr = 0x6800;
    std::vector<std::uint8_t> entries;
    if (use_xsdt) {
      entries.resize(16);
      std::memcpy(entries.data(), &fadt_addr, 8);
      std::memcpy(entries.data() + 8, &madt_addr, 8);
    } else {
      entries.resize(8);
      std::uint32_t f = 0x6000, m = 0x6800;
      std::memcpy(entries.data(), &f, 4);
      std::memcpy(entries.data() + 4, &m, 4);
    }
    auto root = sdt(use_xsdt ? "XSDT" : "RSDT", entries);
    mem.place(0x5000, root.data(), root.size());
    mem.place(0x6000, fadt.data(), fadt.size());
    mem.place(0x6800, madt.data(), madt.size());
    mem.place(0x7000, dsdt.data(), dsdt.size());
    auto r = use_xsdt ? rsdp(0x1234, 0x5000) : rsdp(0x5000);
    // In the BIOS area, 16-byte aligned, as firmware leaves it.
    std::vector<std::uint8_t> bios(0x20000, 0);
    std::memcpy(bios.data() + 0x15a40, r.data(), r.size());
    mem.place(0xE0000, bios.data(), bios.size());
  }
};

TEST(Acpi, FindsRsdpByScanningAndReadsS5) {
  Firmware fw(false);
  hv::acpi::Tables t;
  ASSERT_TRUE(hv::acpi::discover(fw.mem, fw.boot, t));
  EXPECT_EQ(t.rsdp, 0xF5A40u);
  EXPECT_FALSE(t.root_is_xsdt);
  EXPECT_EQ(t.fadt, 0x6000u);
  EXPECT_EQ(t.madt, 0x6800u);
  EXPECT_EQ(t.dsdt, 0x7000u);
  auto off = hv::acpi::find_poweroff(fw.mem, t);
  ASSERT_TRUE(off.valid);
  EXPECT_EQ(off.pm1a_cnt, 0x604);
  EXPECT_EQ(off.slp_typa, 0);
}

TEST(Acpi, PrefersXsdtOnRevision2) {
  Firmware fw(true);
  hv::acpi::Tables t;
  ASSERT_TRUE(hv::acpi::discover(fw.mem, fw.boot, t));
  EXPECT_TRUE(t.root_is_xsdt);
  EXPECT_EQ(t.root, 0x5000u);
  EXPECT_EQ(t.fadt, 0x6000u);
}

TEST(Acpi, CorruptTablesAreSkipped) {
  Firmware fw(false);
  const auto* fadt = static_cast<const std::uint8_t*>(fw.mem.view(0x6000, 244));
  ASSERT_NE(fadt, nullptr);
  std::vector<std::uint8_t> corrupt(fadt, fadt + 244);
  corrupt[100] ^= 0x5A;  // the checksum no longer adds up
  fw.mem.place(0x6000, corrupt.data(), corrupt.size());
  hv::acpi::Tables t;
  ASSERT_TRUE(hv::acpi::discover(fw.mem, fw.boot, t));
  EXPECT_EQ(t.fadt, 0u);
  EXPECT_FALSE(hv::acpi::find_poweroff(fw.mem, t).valid);
}

TEST(Acpi, NoRsdpMeansNoTables) {
  FakePhysicalMemory mem;
  hv::BootInfo boot{};
  hv::acpi::Tables t;
  EXPECT_FALSE(hv::acpi::discover(mem, boot, t));
  auto r = rsdp(0x5000);
  r[8] ^= 1;  // bad checksum
  std::vector<std::uint8_t> bios(0x20000, 0);
  std::memcpy(bios.data(), r.data(), r.size());
  mem.place(0xE0000, bios.data(), bios.size());
  EXPECT_FALSE(hv::acpi::discover(mem, boot, t));
}

TEST(Acpi, S5PackageEncodings) {
  std::uint8_t a = 9, b = 9;
  const std::uint8_t byte_prefix[] = {0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x04, 0x0A, 0x05, 0x0A, 0x07, 0x00, 0x00};
  ASSERT_TRUE(hv::acpi::parse_s5(byte_prefix, sizeof byte_prefix, a, b));
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, 7);
  const std::uint8_t rooted[] = {0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x01, 0x01};
  ASSERT_TRUE(hv::acpi::parse_s5(rooted, sizeof rooted, a, b));
  EXPECT_EQ(a, 1);
  const std::uint8_t method_ref[] = {0x70, '_', 'S', '5', '_', 0x12, 0x06};  // not a Name()
  EXPECT_FALSE(hv::acpi::parse_s5(method_ref, sizeof method_ref, a, b));
  const std::uint8_t truncated[] = {0x08, '_', 'S', '5', '_', 0x12, 0x46};
  EXPECT_FALSE(hv::acpi::parse_s5(truncated, sizeof truncated, a, b));
}

TEST(Acpi, RsdpCopyFromMultibootIsUsed) {
  Firmware fw(false);
  auto r = rsdp(0x5000);
  std::memcpy(fw.boot.rsdp_copy, r.data(), r.size());
  fw.boot.has_rsdp_copy = true;
  hv::acpi::Tables t;
  ASSERT_TRUE(hv::acpi::discover(fw.mem, fw.boot, t));
  EXPECT_EQ(t.root, 0x5000u);
  EXPECT_EQ(t.rsdp, 0u);  // a copy has no address of its own
}

// MADT entries as firmware writes them.
std::vector<std::uint8_t> lapic_entry(std::uint8_t uid, std::uint8_t apic_id, std::uint32_t flags) {
  std::vector<std::uint8_t> e = {0, 8, uid, apic_id, 0, 0, 0, 0};
  std::memcpy(e.data() + 4, &flags, 4);
  return e;
}

std::vector<std::uint8_t> x2apic_entry(std::uint32_t apic_id, std::uint32_t flags, std::uint32_t uid) {
  std::vector<std::uint8_t> e(16, 0);
  e[0] = 9;
  e[1] = 16;
  std::memcpy(e.data() + 4, &apic_id, 4);
  std::memcpy(e.data() + 8, &flags, 4);
  std::memcpy(e.data() + 12, &uid, 4);
  return e;
}

std::vector<std::uint8_t> madt(std::initializer_list<std::vector<std::uint8_t>> entries,
                               std::uint32_t lapic = 0xFEE00000, std::uint32_t flags = 1) {
  std::vector<std::uint8_t> body(8, 0);
  std::memcpy(body.data(), &lapic, 4);
  std::memcpy(body.data() + 4, &flags, 4);
  for (const auto& e : entries) body.insert(body.end(), e.begin(), e.end());
  return sdt("APIC", body);
}

TEST(AcpiMadt, ListsEnabledAndOnlineCapableProcessors) {
  const std::vector<std::uint8_t> ioapic = {1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0};
  auto t = madt({lapic_entry(0, 0, 1), ioapic, lapic_entry(1, 2, 1), lapic_entry(2, 4, 0),
                 lapic_entry(3, 6, 2), x2apic_entry(300, 1, 17)});
  hv::acpi::Madt m;
  ASSERT_TRUE(hv::acpi::parse_madt(t.data(), t.size(), m));
  EXPECT_EQ(m.lapic_address, 0xFEE00000u);
  EXPECT_TRUE(m.pcat_compat);
  ASSERT_EQ(m.processors.size(), 4u);
  EXPECT_EQ(m.processors[0].apic_id, 0u);
  EXPECT_EQ(m.processors[1].apic_id, 2u);
  EXPECT_EQ(m.processors[1].acpi_uid, 1u);
  EXPECT_EQ(m.processors[2].apic_id, 6u);  // online-capable counts
  EXPECT_EQ(m.processors[3].apic_id, 300u);
  EXPECT_TRUE(m.processors[3].x2apic);
  EXPECT_EQ(m.processors[3].acpi_uid, 17u);
  EXPECT_EQ(m.disabled, 1u);
  EXPECT_EQ(m.dropped, 0u);
  EXPECT_FALSE(m.truncated);
}

TEST(AcpiMadt, AddressOverrideWins) {
  std::vector<std::uint8_t> override_entry(12, 0);
  override_entry[0] = 5;
  override_entry[1] = 12;
  std::uint64_t address = 0x1'2345'6000;
  std::memcpy(override_entry.data() + 4, &address, 8);
  auto t = madt({lapic_entry(0, 0, 1), override_entry}, 0xFEE00000, 0);
  hv::acpi::Madt m;
  ASSERT_TRUE(hv::acpi::parse_madt(t.data(), t.size(), m));
  EXPECT_EQ(m.lapic_address, address);
  EXPECT_FALSE(m.pcat_compat);
}

TEST(AcpiMadt, CapsTheCpuCountAndIgnoresDuplicates) {
  auto t = madt({lapic_entry(0, 0, 1), lapic_entry(1, 1, 1), lapic_entry(1, 1, 1), lapic_entry(2, 2, 1),
                 lapic_entry(3, 3, 1), lapic_entry(4, 4, 1), lapic_entry(5, 5, 1), lapic_entry(6, 6, 1),
                 lapic_entry(7, 7, 1), lapic_entry(8, 8, 1), x2apic_entry(9, 1, 9)});
  hv::acpi::Madt m;
  ASSERT_TRUE(hv::acpi::parse_madt(t.data(), t.size(), m));
  EXPECT_EQ(m.processors.size(), hv::acpi::kMaxProcessors);
  EXPECT_EQ(m.processors[7].apic_id, 7u);
  EXPECT_EQ(m.duplicates, 1u);
  EXPECT_EQ(m.dropped, 2u);
}

TEST(AcpiMadt, HostileEntryLengthsStopTheWalk) {
  for (std::uint8_t bad_length : {std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{200}}) {
    auto t = madt({lapic_entry(0, 0, 1), {0, bad_length, 0, 0}, lapic_entry(1, 1, 1)});
    hv::acpi::Madt m;
    ASSERT_TRUE(hv::acpi::parse_madt(t.data(), t.size(), m));
    EXPECT_TRUE(m.truncated) << int{bad_length};
    EXPECT_EQ(m.processors.size(), 1u) << int{bad_length};
  }
  // Entries shorter than their type's body are skipped, not read past their end.
  auto t = madt({{0, 4, 1, 1}, {9, 8, 0, 0, 5, 0, 0, 0}, lapic_entry(2, 2, 1)});
  hv::acpi::Madt m;
  ASSERT_TRUE(hv::acpi::parse_madt(t.data(), t.size(), m));
  EXPECT_FALSE(m.truncated);
  ASSERT_EQ(m.processors.size(), 1u);
  EXPECT_EQ(m.processors[0].apic_id, 2u);
  // A table too short for its fixed fields is refused; one ending mid-entry is truncated.
  EXPECT_FALSE(hv::acpi::parse_madt(t.data(), 40, m));
  EXPECT_TRUE(hv::acpi::parse_madt(t.data(), t.size() - 1, m));
  EXPECT_TRUE(m.truncated);
}

TEST(AcpiMadt, ReadMadtFindsTheDiscoveredTable) {
  Firmware fw(true);
  auto t = madt({lapic_entry(0, 0, 1), lapic_entry(1, 1, 1)});
  fw.mem.place(0x6800, t.data(), t.size());
  hv::acpi::Tables tables;
  ASSERT_TRUE(hv::acpi::discover(fw.mem, fw.boot, tables));
  hv::acpi::Madt m;
  ASSERT_TRUE(hv::acpi::read_madt(fw.mem, tables, m));
  EXPECT_EQ(m.processors.size(), 2u);
  t[20] ^= 0x40;  // corrupt: the checksum no longer adds up
  fw.mem.place(0x6800, t.data(), t.size());
  EXPECT_FALSE(hv::acpi::read_madt(fw.mem, tables, m));
}

}  // namespace
