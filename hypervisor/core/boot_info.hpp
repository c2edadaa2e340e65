// BootInfo: what the boot loader told us (command line, memory map, modules, ACPI root),
// parsed from either boot protocol into one shape. Every loader structure is untrusted input:
// lengths and counts are checked against what was mapped, strings are copied and bounded.
#pragma once
#include <cstddef>
#include <cstdint>

#include "memory_map.hpp"
#include "physical_memory.hpp"
#include "static_vector.hpp"

namespace hv {

enum class BootProtocol : std::uint32_t { none = 0, pvh = 1, multiboot2 = 2 };

const char* boot_protocol_name(BootProtocol protocol);

struct BootModule {
  std::uint64_t base;
  std::uint64_t size;
  char cmdline[256];
};

struct BootInfo {
  static constexpr std::size_t kMaxModules = 16;

  BootProtocol protocol = BootProtocol::none;
  char cmdline[1024] = {};
  char loader_name[64] = {};
  MemoryMap memory;
  StaticVector<BootModule, kMaxModules> modules;
  std::uint64_t rsdp_paddr = 0;  // 0: unknown, search the BIOS areas
  // Multiboot2 passes the RSDP itself (a copy), not its address.
  std::uint8_t rsdp_copy[36] = {};
  bool has_rsdp_copy = false;
};

enum class BootError { none, bad_magic, unreadable, malformed, too_many_modules, memory_map_full };

const char* boot_error_name(BootError error);

// PVH: `info_paddr` is the hvm_start_info the loader passed in %ebx.
BootError parse_pvh(const PhysicalMemory& mem, std::uint64_t info_paddr, BootInfo& out);

// Multiboot2: `mbi_paddr` is the information structure passed in %ebx (with magic in %eax).
BootError parse_multiboot2(const PhysicalMemory& mem, std::uint32_t magic,
                           std::uint64_t mbi_paddr, BootInfo& out);

}  // namespace hv
