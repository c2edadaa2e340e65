// Kernel images as distributions ship them: an x86 bzImage (real-mode setup sectors, then a
// protected-mode part whose setup header points at a compressed payload: the kernel's ELF)
// or a plain ELF. A PV domain builder needs the ELF; this unpacks it on the host, the way
// Xen's libxenguest (xc_dom_bzimageloader.c) does before it builds a domain.
//
// Every input is treated as hostile: header fields are bounds-checked against the file, only
// the compression formats named below are accepted, and the output size is capped.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace microxen::kernel_image {

enum class Format { elf, bzimage };
enum class Compression { none, xz, gzip };

// Where a bzImage keeps its payload (setup header fields, boot protocol >= 2.08).
struct BzImageHeader {
  std::uint16_t protocol_version = 0;
  std::size_t setup_size = 0;        // (setup_sects + 1) * 512: the protected-mode part starts here
  std::size_t payload_offset = 0;    // from the start of the file
  std::size_t payload_length = 0;
  Compression compression = Compression::none;
};

struct Unpacked {
  Format format = Format::elf;
  Compression compression = Compression::none;
  std::vector<std::uint8_t> elf;
};

// The result of an unpack: the ELF, or a message naming what was wrong with the input.
struct UnpackResult {
  bool ok = false;
  std::string error;
  Unpacked image;
};

inline constexpr std::size_t kDefaultMaxOutput = std::size_t{1} << 30;

// Parses a bzImage's setup header; false with `error` set when the bytes are not one we can
// unpack (too short, no "HdrS" magic, protocol older than 2.08, payload outside the file,
// unknown compression magic).
bool parse_bzimage_header(std::span<const std::uint8_t> file, BzImageHeader& out, std::string& error);

// ELF passes through unchanged; a bzImage's payload is decompressed (at most `max_output`
// bytes) and must itself be an ELF64 image.
UnpackResult unpack(std::span<const std::uint8_t> file, std::size_t max_output = kDefaultMaxOutput);

const char* compression_name(Compression c);

}  // namespace microxen::kernel_image
