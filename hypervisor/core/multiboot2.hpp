// multiboot2: the few parts of the Multiboot2 specification the hypervisor reads. Not Xen ABI,
// so it lives here rather than in pv-abi.
#pragma once
#include <cstdint>

namespace hv::multiboot2 {

inline constexpr std::uint32_t kHeaderMagic = 0xE85250D6;      // in our image
inline constexpr std::uint32_t kBootloaderMagic = 0x36D76289;  // in %eax at entry

enum TagType : std::uint32_t {
  TAG_END = 0,
  TAG_CMDLINE = 1,
  TAG_BOOT_LOADER_NAME = 2,
  TAG_MODULE = 3,
  TAG_BASIC_MEMINFO = 4,
  TAG_MMAP = 6,
  TAG_ACPI_OLD = 14,
  TAG_ACPI_NEW = 15,
};

struct InfoHeader {
  std::uint32_t total_size;
  std::uint32_t reserved;
};

struct Tag {  // every tag starts like this, and tags are 8-byte aligned
  std::uint32_t type;
  std::uint32_t size;
};

struct ModuleTag {
  std::uint32_t type;
  std::uint32_t size;
  std::uint32_t mod_start;
  std::uint32_t mod_end;
  // followed by the NUL-terminated command line
};

struct MmapTag {
  std::uint32_t type;
  std::uint32_t size;
  std::uint32_t entry_size;
  std::uint32_t entry_version;
  // followed by entries
};

struct MmapEntry {
  std::uint64_t base_addr;
  std::uint64_t length;
  std::uint32_t type;
  std::uint32_t reserved;
};

static_assert(sizeof(ModuleTag) == 16);
static_assert(sizeof(MmapTag) == 16);
static_assert(sizeof(MmapEntry) == 24);

}  // namespace hv::multiboot2
