// acpi: table discovery, the S5 power-off recipe and the MADT's CPU list.
#include "acpi.hpp"

#include "log.hpp"

namespace hv::acpi {
namespace {

constexpr std::size_t kSdtHeaderSize = 36;
constexpr std::uint32_t kMaxTableSize = 1u << 24;  // refuse absurd lengths from firmware

bool checksum_ok(const std::uint8_t* bytes, std::size_t size) {
  std::uint8_t sum = 0;
  for (std::size_t i = 0; i < size; ++i) sum = static_cast<std::uint8_t>(sum + bytes[i]);
  return sum == 0;
}

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// A whole, checksummed table at paddr; nullptr if unreadable or corrupt.
const std::uint8_t* map_table(const PhysicalMemory& mem, std::uint64_t paddr, std::uint32_t& length) {
  const auto* head = static_cast<const std::uint8_t*>(mem.view(paddr, kSdtHeaderSize));
  if (head == nullptr) return nullptr;
  length = load<std::uint32_t>(head + 4);
  if (length < kSdtHeaderSize || length > kMaxTableSize) return nullptr;
  const auto* table = static_cast<const std::uint8_t*>(mem.view(paddr, length));
  if (table == nullptr || !checksum_ok(table, length)) return nullptr;
  return table;
}

bool signature_is(const std::uint8_t* table, const char* sig) {
  return table[0] == sig[0] && table[1] == sig[1] && table[2] == sig[2] && table[3] == sig[3];
}

bool scan_for_rsdp(const PhysicalMemory& mem, std::uint64_t start, std::uint64_t size, Tables& out) {
  const auto* area = static_cast<const std::uint8_t*>(mem.view(start, size));
  if (area == nullptr) return false;
  for (std::uint64_t off = 0; off + 20 <= size; off += 16) {
    if (check_rsdp(area + off, size - off, start + off, out)) return true;
  }
  return false;
}

// Reads a PkgLength (ACPI 20.2.4) and returns how many bytes it occupied (0 if truncated).
std::size_t pkg_length_bytes(const std::uint8_t* p, std::size_t avail) {
  if (avail == 0) return 0;
  std::size_t n = 1 + (p[0] >> 6);
  return n <= avail ? n : 0;
}

// One integer element of a package: Zero, One, Ones, or BytePrefix+byte. Returns bytes used.
std::size_t parse_small_int(const std::uint8_t* p, std::size_t avail, std::uint8_t& value) {
  if (avail == 0) return 0;
  switch (p[0]) {
    case 0x00: value = 0; return 1;
    case 0x01: value = 1; return 1;
    case 0xFF: value = 0xFF; return 1;
    case 0x0A: if (avail < 2) return 0; value = p[1]; return 2;
    default: return 0;
  }
}

}  // namespace

bool check_rsdp(const std::uint8_t* b, std::size_t size, std::uint64_t paddr, Tables& out) {
  static constexpr char kSig[] = "RSD PTR ";
  if (size < 20) return false;
  for (int i = 0; i < 8; ++i)
    if (b[i] != static_cast<std::uint8_t>(kSig[i])) return false;
  if (!checksum_ok(b, 20)) return false;
  out.rsdp = paddr;
  out.revision = b[15];
  out.root = load<std::uint32_t>(b + 16);
  out.root_is_xsdt = false;
  if (out.revision >= 2 && size >= 36) {
    std::uint32_t length = load<std::uint32_t>(b + 20);
    if (length >= 36 && length <= size && checksum_ok(b, length)) {
      std::uint64_t xsdt = load<std::uint64_t>(b + 24);
      if (xsdt != 0) { out.root = xsdt; out.root_is_xsdt = true; }
    }
  }
  return out.root != 0;
}

bool discover(const PhysicalMemory& mem, const BootInfo& boot, Tables& out) {
  out = Tables{};
  bool found = false;
  if (boot.has_rsdp_copy) found = check_rsdp(boot.rsdp_copy, sizeof boot.rsdp_copy, 0, out);
  if (!found && boot.rsdp_paddr != 0) {
    const auto* p = static_cast<const std::uint8_t*>(mem.view(boot.rsdp_paddr, 36));
    found = p != nullptr && check_rsdp(p, 36, boot.rsdp_paddr, out);
  }
  if (!found) {
    std::uint16_t ebda_segment = 0;
    if (mem.read(0x40E, ebda_segment) && ebda_segment != 0)
      found = scan_for_rsdp(mem, std::uint64_t{ebda_segment} << 4, 1024, out);
  }
  if (!found) found = scan_for_rsdp(mem, 0xE0000, 0x20000, out);
  if (!found) return false;

  std::uint32_t root_length = 0;
  const std::uint8_t* root = map_table(mem, out.root, root_length);
  if (root == nullptr) return false;
  std::size_t entry_size = out.root_is_xsdt ? 8 : 4;
  for (std::size_t off = kSdtHeaderSize; off + entry_size <= root_length; off += entry_size) {
    std::uint64_t paddr = out.root_is_xsdt ? load<std::uint64_t>(root + off)
                                           : load<std::uint32_t>(root + off);
    std::uint32_t length = 0;
    const std::uint8_t* table = map_table(mem, paddr, length);
    if (table == nullptr) continue;  // a corrupt table is skipped, not trusted
    ++out.table_count;
    if (signature_is(table, "FACP")) out.fadt = paddr;
    else if (signature_is(table, "APIC")) out.madt = paddr;
  }
  if (out.fadt != 0) {
    std::uint32_t length = 0;
    const std::uint8_t* fadt = map_table(mem, out.fadt, length);
    if (fadt != nullptr && length >= 44) out.dsdt = load<std::uint32_t>(fadt + 40);
    if (fadt != nullptr && length >= 148 && load<std::uint64_t>(fadt + 140) != 0)
      out.dsdt = load<std::uint64_t>(fadt + 140);
  }
  return true;
}

bool parse_s5(const std::uint8_t* aml, std::size_t size, std::uint8_t& slp_typa,
              std::uint8_t& slp_typb) {
  for (std::size_t i = 0; i + 5 <= size; ++i) {
    if (aml[i] != '_' || aml[i + 1] != 'S' || aml[i + 2] != '5' || aml[i + 3] != '_') continue;
    // Expect NameOp (0x08) before the name (possibly with a root prefix '\') and PackageOp after.
    bool named = (i >= 1 && aml[i - 1] == 0x08) || (i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == 0x08);
    if (!named || aml[i + 4] != 0x12) continue;
    std::size_t pos = i + 5;
    std::size_t n = pkg_length_bytes(aml + pos, size - pos);
    if (n == 0) return false;
    pos += n + 1;  // PkgLength, then NumElements
    if (pos > size) return false;
    std::size_t used = parse_small_int(aml + pos, size - pos, slp_typa);
    if (used == 0) return false;
    pos += used;
    if (parse_small_int(aml + pos, size - pos, slp_typb) == 0) slp_typb = slp_typa;
    return true;
  }
  return false;
}

PowerOff find_poweroff(const PhysicalMemory& mem, const Tables& tables) {
  PowerOff result;
  if (tables.fadt == 0 || tables.dsdt == 0) return result;
  std::uint32_t length = 0;
  const std::uint8_t* fadt = map_table(mem, tables.fadt, length);
  if (fadt == nullptr || length < 72) return result;
  result.pm1a_cnt = static_cast<std::uint16_t>(load<std::uint32_t>(fadt + 64));
  result.pm1b_cnt = static_cast<std::uint16_t>(load<std::uint32_t>(fadt + 68));
  // ACPI 2.0+: X_PM1a_CNT_BLK (a Generic Address Structure) overrides when it is an I/O port.
  if (length >= 184 && fadt[172] == 1 /* system I/O */ && load<std::uint64_t>(fadt + 176) != 0)
    result.pm1a_cnt = static_cast<std::uint16_t>(load<std::uint64_t>(fadt + 176));
  std::uint32_t dsdt_length = 0;
  const std::uint8_t* dsdt = map_table(mem, tables.dsdt, dsdt_length);
  if (dsdt == nullptr || result.pm1a_cnt == 0) return result;
  result.valid = parse_s5(dsdt + kSdtHeaderSize, dsdt_length - kSdtHeaderSize, result.slp_typa,
                          result.slp_typb);
  return result;
}

TimeSources find_time_sources(const PhysicalMemory& mem, const Tables& tables) {
  TimeSources result;
  if (tables.fadt == 0) return result;
  std::uint32_t length = 0;
  const std::uint8_t* fadt = map_table(mem, tables.fadt, length);
  if (fadt == nullptr) return result;
  // PM_TMR_BLK (offset 76) with PM_TMR_LEN (91) = 4; ACPI 2.0+ X_PM_TMR_BLK (a Generic
  // Address Structure at 208) overrides when it names an I/O port.
  if (length >= 92 && fadt[91] >= 4)
    result.pm_timer_port = static_cast<std::uint16_t>(load<std::uint32_t>(fadt + 76));
  if (length >= 220 && fadt[208] == 1 /* system I/O */ && load<std::uint64_t>(fadt + 212) != 0 &&
      load<std::uint64_t>(fadt + 212) <= 0xFFFF)
    result.pm_timer_port = static_cast<std::uint16_t>(load<std::uint64_t>(fadt + 212));
  if (length >= 116) result.pm_timer_32bit = (load<std::uint32_t>(fadt + 112) >> 8) & 1;
  // CENTURY (offset 108): a CMOS index beyond the 14 clock registers, below 128.
  if (length >= 109 && fadt[108] >= 14 && fadt[108] < 128) result.rtc_century_index = fadt[108];
  return result;
}

namespace {

constexpr std::size_t kMadtFixedSize = kSdtHeaderSize + 8;  // + local APIC address, flags
constexpr std::uint8_t kMadtLocalApic = 0, kMadtLapicOverride = 5, kMadtLocalX2apic = 9;
constexpr std::uint32_t kMadtEnabled = 1u << 0, kMadtOnlineCapable = 1u << 1;

void add_processor(Madt& out, const Processor& p, std::uint32_t flags) {
  if (!(flags & (kMadtEnabled | kMadtOnlineCapable))) {
    ++out.disabled;
    return;
  }
  for (const Processor& known : out.processors) {
    if (known.apic_id != p.apic_id) continue;
    ++out.duplicates;
    HV_WARN(acpi, "MADT: second entry for APIC id %u ignored", p.apic_id);
    return;
  }
  if (!out.processors.push_back(p)) {
    ++out.dropped;
    HV_WARN(acpi, "MADT: CPU with APIC id %u (ACPI UID %u) dropped: at most %zu CPUs supported",
            p.apic_id, p.acpi_uid, kMaxProcessors);
  }
}

}  // namespace

bool parse_madt(const std::uint8_t* table, std::size_t length, Madt& out) {
  out = Madt{};
  if (table == nullptr || length < kMadtFixedSize) return false;
  out.lapic_address = load<std::uint32_t>(table + kSdtHeaderSize);
  out.pcat_compat = (load<std::uint32_t>(table + kSdtHeaderSize + 4) & 1) != 0;
  for (std::size_t off = kMadtFixedSize; off < length;) {
    // Every entry is (type, length, body); a length below 2 or past the end would make the
    // walk loop forever or read beyond the table.
    if (length - off < 2 || table[off + 1] < 2 || table[off + 1] > length - off) {
      out.truncated = true;
      HV_WARN(acpi, "MADT: malformed entry at offset %zu, ignoring the rest", off);
      break;
    }
    const std::uint8_t* e = table + off;
    const std::uint8_t type = e[0], size = e[1];
    if (type == kMadtLocalApic && size >= 8)
      add_processor(out, Processor{e[3], e[2], false}, load<std::uint32_t>(e + 4));
    else if (type == kMadtLocalX2apic && size >= 16)
      add_processor(out, Processor{load<std::uint32_t>(e + 4), load<std::uint32_t>(e + 12), true},
                    load<std::uint32_t>(e + 8));
    else if (type == kMadtLapicOverride && size >= 12)
      out.lapic_address = load<std::uint64_t>(e + 4);
    off += size;
  }
  return true;
}

bool read_madt(const PhysicalMemory& mem, const Tables& tables, Madt& out) {
  out = Madt{};
  if (tables.madt == 0) return false;
  std::uint32_t length = 0;
  const std::uint8_t* madt = map_table(mem, tables.madt, length);
  if (madt == nullptr || !signature_is(madt, "APIC")) return false;
  return parse_madt(madt, length, out);
}

}  // namespace hv::acpi
