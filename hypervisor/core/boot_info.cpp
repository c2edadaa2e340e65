// boot_info: PVH and Multiboot2 parsers. Both walk loader-provided memory, so every pointer
// comes from PhysicalMemory::view with an explicit length, and every count is bounded.
#include "boot_info.hpp"

#include <pv/hvm_start_info.hpp>

#include "multiboot2.hpp"

namespace hv {
namespace {

void copy_bounded(char* dst, std::size_t size, const char* src, std::size_t len) {
  std::size_t n = len < size - 1 ? len : size - 1;
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  dst[n] = 0;
}

std::size_t bounded_strlen(const char* s, std::size_t max) {
  std::size_t n = 0;
  while (n < max && s[n] != 0) ++n;
  return n;
}

}  // namespace

bool PhysicalMemory::read_string(std::uint64_t paddr, char* buf, std::size_t size) const {
  if (size == 0) return false;
  for (std::size_t i = 0; i + 1 < size; ++i) {
    const void* p = view(paddr + i, 1);
    if (p == nullptr) { buf[i] = 0; return false; }
    buf[i] = *static_cast<const char*>(p);
    if (buf[i] == 0) return true;
  }
  buf[size - 1] = 0;
  return true;
}

const char* boot_protocol_name(BootProtocol protocol) {
  switch (protocol) {
    case BootProtocol::pvh: return "PVH";
    case BootProtocol::multiboot2: return "multiboot2";
    case BootProtocol::none: break;
  }
  return "none";
}

const char* boot_error_name(BootError error) {
  switch (error) {
    case BootError::none: return "ok";
    case BootError::bad_magic: return "bad magic";
    case BootError::unreadable: return "loader data unreadable";
    case BootError::malformed: return "malformed loader data";
    case BootError::too_many_modules: return "too many modules";
    case BootError::memory_map_full: return "memory map too large";
  }
  return "?";
}

BootError parse_pvh(const PhysicalMemory& mem, std::uint64_t info_paddr, BootInfo& out) {
  pv::hvm_start_info info{};
  // Version 0 ends before memmap_paddr; read that much first, then the rest if version >= 1.
  constexpr std::size_t v0_size = offsetof(pv::hvm_start_info, memmap_paddr);
  const void* head = mem.view(info_paddr, v0_size);
  if (head == nullptr) return BootError::unreadable;
  __builtin_memcpy(&info, head, v0_size);
  if (info.magic != pv::XEN_HVM_START_MAGIC_VALUE) return BootError::bad_magic;
  if (info.version >= 1 && !mem.read(info_paddr, info)) return BootError::unreadable;

  out = BootInfo{};
  out.protocol = BootProtocol::pvh;
  out.rsdp_paddr = info.rsdp_paddr;
  if (info.cmdline_paddr != 0) mem.read_string(info.cmdline_paddr, out.cmdline, sizeof out.cmdline);

  if (info.nr_modules > BootInfo::kMaxModules) return BootError::too_many_modules;
  for (std::uint32_t i = 0; i < info.nr_modules; ++i) {
    pv::hvm_modlist_entry entry{};
    if (!mem.read(info.modlist_paddr + i * sizeof entry, entry)) return BootError::unreadable;
    BootModule module{entry.paddr, entry.size, {}};
    if (entry.cmdline_paddr != 0)
      mem.read_string(entry.cmdline_paddr, module.cmdline, sizeof module.cmdline);
    (void)out.modules.push_back(module);  // bounded above
  }

  if (info.version >= 1) {
    for (std::uint32_t i = 0; i < info.memmap_entries; ++i) {
      pv::hvm_memmap_table_entry entry{};
      if (!mem.read(info.memmap_paddr + i * sizeof entry, entry)) return BootError::unreadable;
      if (!out.memory.add(entry.addr, entry.size, static_cast<MemoryType>(entry.type)))
        return BootError::memory_map_full;
    }
  }
  out.memory.normalize();
  return BootError::none;
}

namespace {

BootError parse_mb2_tag(const multiboot2::Tag& tag, const std::uint8_t* body, BootInfo& out) {
  using namespace multiboot2;
  const std::size_t body_size = tag.size - sizeof(Tag);
  switch (tag.type) {
    case TAG_CMDLINE:
      copy_bounded(out.cmdline, sizeof out.cmdline, reinterpret_cast<const char*>(body),
                   bounded_strlen(reinterpret_cast<const char*>(body), body_size));
      break;
    case TAG_BOOT_LOADER_NAME:
      copy_bounded(out.loader_name, sizeof out.loader_name, reinterpret_cast<const char*>(body),
                   bounded_strlen(reinterpret_cast<const char*>(body), body_size));
      break;
    case TAG_MODULE: {
      if (body_size < 8) return BootError::malformed;
      std::uint32_t start, end;
      __builtin_memcpy(&start, body, 4);
      __builtin_memcpy(&end, body + 4, 4);
      if (end < start) return BootError::malformed;
      BootModule module{start, end - start, {}};
      const char* text = reinterpret_cast<const char*>(body + 8);
      copy_bounded(module.cmdline, sizeof module.cmdline, text, bounded_strlen(text, body_size - 8));
      if (!out.modules.push_back(module)) return BootError::too_many_modules;
      break;
    }
    case TAG_MMAP: {
      if (body_size < 8) return BootError::malformed;
      std::uint32_t entry_size;
      __builtin_memcpy(&entry_size, body, 4);
      if (entry_size < sizeof(MmapEntry) || entry_size % 8 != 0) return BootError::malformed;
      for (std::size_t off = 8; off + entry_size <= body_size; off += entry_size) {
        MmapEntry e;
        __builtin_memcpy(&e, body + off, sizeof e);
        if (!out.memory.add(e.base_addr, e.length, static_cast<MemoryType>(e.type)))
          return BootError::memory_map_full;
      }
      break;
    }
    case TAG_ACPI_OLD:
    case TAG_ACPI_NEW:
      // Prefer the ACPI 2.0+ RSDP when both are present (it carries the XSDT address).
      if (body_size >= 20 && (!out.has_rsdp_copy || tag.type == TAG_ACPI_NEW)) {
        std::size_t n = body_size < sizeof out.rsdp_copy ? body_size : sizeof out.rsdp_copy;
        __builtin_memcpy(out.rsdp_copy, body, n);
        out.has_rsdp_copy = true;
      }
      break;
    default:
      break;  // tags we do not need
  }
  return BootError::none;
}

}  // namespace

BootError parse_multiboot2(const PhysicalMemory& mem, std::uint32_t magic,
                           std::uint64_t mbi_paddr, BootInfo& out) {
  using namespace multiboot2;
  if (magic != kBootloaderMagic) return BootError::bad_magic;
  InfoHeader header;
  if (!mem.read(mbi_paddr, header)) return BootError::unreadable;
  if (header.total_size < sizeof(InfoHeader) + sizeof(Tag) || header.total_size > (1u << 20))
    return BootError::malformed;
  const auto* base = static_cast<const std::uint8_t*>(mem.view(mbi_paddr, header.total_size));
  if (base == nullptr) return BootError::unreadable;

  out = BootInfo{};
  out.protocol = BootProtocol::multiboot2;
  std::size_t offset = sizeof(InfoHeader);
  bool saw_end = false;
  while (offset + sizeof(Tag) <= header.total_size) {
    Tag tag;
    __builtin_memcpy(&tag, base + offset, sizeof tag);
    if (tag.size < sizeof(Tag) || tag.size > header.total_size - offset) return BootError::malformed;
    if (tag.type == TAG_END) { saw_end = true; break; }
    BootError error = parse_mb2_tag(tag, base + offset + sizeof(Tag), out);
    if (error != BootError::none) return error;
    offset += (tag.size + 7) & ~std::size_t{7};
  }
  if (!saw_end) return BootError::malformed;
  out.memory.normalize();
  return BootError::none;
}

}  // namespace hv
