// acpi_time_sources_test: what time calibration believes from the FADT: the PM timer port
// (legacy PM_TMR_BLK, or X_PM_TMR_BLK when it is an I/O port), its width (TMR_VAL_EXT), and
// the RTC century register; short or corrupt tables give nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/acpi.hpp"
#include "fake_memory.hpp"

namespace {

constexpr std::uint64_t kFadtAddress = 0x6000;

struct Fadt {
  std::vector<std::uint8_t> bytes;
  explicit Fadt(std::size_t length) : bytes(length, 0) {
    std::memcpy(bytes.data(), "FACP", 4);
    auto len = static_cast<std::uint32_t>(length);
    std::memcpy(bytes.data() + 4, &len, 4);
  }
  template <typename T>
  Fadt& put(std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
    return *this;
  }
  // Places the table with a correct checksum (unless told otherwise) and reads it back.
  hv::acpi::TimeSources parse(bool good_checksum = true) {
    bytes[9] = 0;
    std::uint8_t sum = 0;
    for (std::uint8_t b : bytes) sum = static_cast<std::uint8_t>(sum + b);
    bytes[9] = static_cast<std::uint8_t>(-sum + (good_checksum ? 0 : 1));
    FakePhysicalMemory mem;
    mem.place(kFadtAddress, bytes.data(), bytes.size());
    hv::acpi::Tables tables;
    tables.fadt = kFadtAddress;
    return hv::acpi::find_time_sources(mem, tables);
  }
};

// Offsets in the FADT (ACPI 6.x table 5.9).
constexpr std::size_t kPmTmrBlk = 76, kPmTmrLen = 91, kCentury = 108, kFlags = 112;
constexpr std::size_t kXPmTmrBlk = 208;
constexpr std::uint32_t kTmrValExt = 1u << 8;

TEST(AcpiTimeSources, LegacyPmTimerIs24BitUnlessTmrValExt) {
  auto t = Fadt(244).put(kPmTmrBlk, std::uint32_t{0x608}).put(kPmTmrLen, std::uint8_t{4}).parse();
  EXPECT_EQ(t.pm_timer_port, 0x608);
  EXPECT_FALSE(t.pm_timer_32bit);
  t = Fadt(244)
          .put(kPmTmrBlk, std::uint32_t{0x608})
          .put(kPmTmrLen, std::uint8_t{4})
          .put(kFlags, kTmrValExt)
          .parse();
  EXPECT_TRUE(t.pm_timer_32bit);
}

TEST(AcpiTimeSources, NoTimerWhenLengthIsZero) {
  auto t = Fadt(244).put(kPmTmrBlk, std::uint32_t{0x608}).parse();
  EXPECT_EQ(t.pm_timer_port, 0);
}

TEST(AcpiTimeSources, ExtendedBlockOverridesOnlyWhenItIsAnIoPort) {
  Fadt io(244);
  io.put(kPmTmrBlk, std::uint32_t{0x608}).put(kPmTmrLen, std::uint8_t{4});
  io.put(kXPmTmrBlk, std::uint8_t{1}).put(kXPmTmrBlk + 4, std::uint64_t{0xB008});
  EXPECT_EQ(io.parse().pm_timer_port, 0xB008);

  Fadt mmio(244);  // system memory space: not a port we can inl
  mmio.put(kPmTmrBlk, std::uint32_t{0x608}).put(kPmTmrLen, std::uint8_t{4});
  mmio.put(kXPmTmrBlk, std::uint8_t{0}).put(kXPmTmrBlk + 4, std::uint64_t{0xFED00000});
  EXPECT_EQ(mmio.parse().pm_timer_port, 0x608);

  Fadt huge(244);  // an "I/O port" beyond 16 bits is nonsense
  huge.put(kXPmTmrBlk, std::uint8_t{1}).put(kXPmTmrBlk + 4, std::uint64_t{0x10000});
  EXPECT_EQ(huge.parse().pm_timer_port, 0);
}

TEST(AcpiTimeSources, AcpiOneTableHasNoExtendedBlock) {
  Fadt v1(116);
  v1.put(kPmTmrBlk, std::uint32_t{0x408}).put(kPmTmrLen, std::uint8_t{4});
  EXPECT_EQ(v1.parse().pm_timer_port, 0x408);
}

TEST(AcpiTimeSources, CenturyRegisterOnlyOutsideTheClockRegisters) {
  EXPECT_EQ(Fadt(244).put(kCentury, std::uint8_t{0x32}).parse().rtc_century_index, 0x32);
  EXPECT_EQ(Fadt(244).put(kCentury, std::uint8_t{0x09}).parse().rtc_century_index, 0);
  EXPECT_EQ(Fadt(244).put(kCentury, std::uint8_t{0x80}).parse().rtc_century_index, 0);
}

TEST(AcpiTimeSources, CorruptOrMissingFadtGivesNothing) {
  auto t = Fadt(244)
               .put(kPmTmrBlk, std::uint32_t{0x608})
               .put(kPmTmrLen, std::uint8_t{4})
               .put(kCentury, std::uint8_t{0x32})
               .parse(/*good_checksum=*/false);
  EXPECT_EQ(t.pm_timer_port, 0);
  EXPECT_EQ(t.rtc_century_index, 0);
  FakePhysicalMemory empty;
  hv::acpi::Tables none;
  EXPECT_EQ(hv::acpi::find_time_sources(empty, none).pm_timer_port, 0);
}

}  // namespace
