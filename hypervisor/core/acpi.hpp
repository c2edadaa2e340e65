// acpi: the little of ACPI the hypervisor itself needs: find the RSDP, walk RSDT/XSDT, read
// from the FADT and DSDT how to power the machine off (S5), and from the MADT which CPUs
// exist. Tables are firmware input: every length and checksum is verified before a field is
// believed.
#pragma once
#include <cstdint>

#include "boot_info.hpp"
#include "physical_memory.hpp"
#include "static_vector.hpp"

namespace hv::acpi {

struct PowerOff {
  std::uint16_t pm1a_cnt = 0;  // I/O port of PM1a_CNT (0: none)
  std::uint16_t pm1b_cnt = 0;
  std::uint8_t slp_typa = 0;   // SLP_TYP values of \_S5
  std::uint8_t slp_typb = 0;
  bool valid = false;
};

struct Tables {
  std::uint64_t rsdp = 0;
  std::uint8_t revision = 0;
  std::uint64_t root = 0;  // XSDT (revision >= 2) or RSDT
  bool root_is_xsdt = false;
  std::uint64_t fadt = 0;
  std::uint64_t madt = 0;
  std::uint64_t dsdt = 0;
  std::uint32_t table_count = 0;
};

// Checks an RSDP candidate (signature, checksums); fills rsdp/revision/root on success.
bool check_rsdp(const std::uint8_t* bytes, std::size_t size, std::uint64_t paddr, Tables& out);

// Finds the RSDP (from the boot loader, else by scanning the EBDA and the BIOS area), then
// the root table and the tables we use. Returns false if no valid RSDP exists.
bool discover(const PhysicalMemory& mem, const BootInfo& boot, Tables& out);

// Reads the S5 sleep type and PM1 control ports; valid=false when the firmware has none.
PowerOff find_poweroff(const PhysicalMemory& mem, const Tables& tables);

// What the FADT says about time: the ACPI PM timer (3.579545 MHz) and the CMOS RTC century.
struct TimeSources {
  std::uint16_t pm_timer_port = 0;  // I/O port of PM_TMR (0: none)
  bool pm_timer_32bit = false;      // TMR_VAL_EXT: 32-bit counter, else 24-bit
  std::uint8_t rtc_century_index = 0;  // CMOS register holding the century (0: none)
};
inline constexpr std::uint32_t kPmTimerHz = 3579545;

// Reads PM_TMR_BLK (X_PM_TMR_BLK when it is an I/O port), TMR_VAL_EXT and CENTURY.
TimeSources find_time_sources(const PhysicalMemory& mem, const Tables& tables);

// Parses the \_S5_ package out of AML bytes (DSDT body). Exposed for tests.
bool parse_s5(const std::uint8_t* aml, std::size_t size, std::uint8_t& slp_typa,
              std::uint8_t& slp_typb);

// The MADT's processors and local APIC (ACPI 6.5, 5.2.12). The hypervisor supports at most
// kMaxProcessors CPUs (the arch's HV_MAX_CPUS, checked there); the rest are counted, logged
// and left asleep.
inline constexpr std::size_t kMaxProcessors = 8;

struct Processor {
  std::uint32_t apic_id = 0;
  std::uint32_t acpi_uid = 0;  // processor UID (8 bits in type-0 entries, 32 in type 9)
  bool x2apic = false;         // from a type-9 entry
};

struct Madt {
  std::uint64_t lapic_address = 0;  // type-5 override if present, else the 32-bit header field
  bool pcat_compat = false;         // dual 8259 PICs present (flags bit 0)
  StaticVector<Processor, kMaxProcessors> processors;  // usable (enabled or online-capable), in table order
  std::uint32_t disabled = 0;  // entries neither enabled nor online-capable
  std::uint32_t dropped = 0;   // usable entries beyond kMaxProcessors (each logged)
  std::uint32_t duplicates = 0;  // a second entry for an APIC id already listed
  bool truncated = false;      // an entry overran the table: parsing stopped there
};

// Parses a whole MADT (header included; checksum already verified by the caller). False
// when the table is too short to hold the fixed fields.
bool parse_madt(const std::uint8_t* table, std::size_t length, Madt& out);

// Maps tables.madt, checks it, and parses it; false when there is no usable MADT.
bool read_madt(const PhysicalMemory& mem, const Tables& tables, Madt& out);

}  // namespace hv::acpi
