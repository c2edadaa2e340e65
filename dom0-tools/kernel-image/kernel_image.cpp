#include "kernel_image.hpp"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace microxen::kernel_image {
namespace {

// x86 boot protocol (Documentation/arch/x86/boot.rst): offsets in the bzImage file.
constexpr std::size_t kSetupSectsAt = 0x1f1;
constexpr std::size_t kHeaderMagicAt = 0x202;
constexpr std::size_t kVersionAt = 0x206;
constexpr std::size_t kPayloadOffsetAt = 0x248;
constexpr std::size_t kPayloadLengthAt = 0x24c;
constexpr std::uint16_t kMinProtocol = 0x208;  // the first with payload_offset/length
constexpr std::uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};
constexpr std::uint8_t kXzMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr std::uint8_t kGzipMagic[2] = {0x1f, 0x8b};

std::uint32_t load_le32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
         std::uint32_t{b[at + 3]} << 24;
}

bool starts_with(std::span<const std::uint8_t> b, std::span<const std::uint8_t> magic) {
  return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

bool is_elf64(std::span<const std::uint8_t> b) {
  return starts_with(b, kElfMagic) && b.size() >= 64 && b[4] == 2 /* ELFCLASS64 */;
}

UnpackResult failure(std::string why) {
  UnpackResult r;
  r.error = std::move(why);
  return r;
}

// xz: one stream; the 4-byte uncompressed size Linux appends after it is not part of it, so
// the decoder stops at the stream's end instead of reading on (LZMA_CONCATENATED off).
bool decompress_xz(std::span<const std::uint8_t> in, std::size_t max_output,
                   std::vector<std::uint8_t>& out, std::string& error) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK) {
    error = "xz: cannot initialise the decoder";
    return false;
  }
  out.assign(std::min<std::size_t>(max_output, std::max<std::size_t>(in.size() * 4, 1 << 20)), 0);
  s.next_in = in.data();
  s.avail_in = in.size();
  s.next_out = out.data();
  s.avail_out = out.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    if (s.avail_out == 0) {
      if (out.size() >= max_output) {
        lzma_end(&s);
        error = "xz: payload expands beyond " + std::to_string(max_output) + " bytes";
        return false;
      }
      std::size_t done = out.size();
      out.resize(std::min(max_output, done * 2));
      s.next_out = out.data() + done;
      s.avail_out = out.size() - done;
    }
    ret = lzma_code(&s, LZMA_FINISH);
  }
  out.resize(s.total_out);
  lzma_end(&s);
  if (ret != LZMA_STREAM_END) {
    error = "xz: corrupt or truncated payload (lzma error " + std::to_string(ret) + ")";
    return false;
  }
  return true;
}

bool decompress_gzip(std::span<const std::uint8_t> in, std::size_t max_output,
                     std::vector<std::uint8_t>& out, std::string& error) {
  z_stream s{};
  if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK) {  // 16: gzip wrapper
    error = "gzip: cannot initialise the decoder";
    return false;
  }
  out.assign(std::min<std::size_t>(max_output, std::max<std::size_t>(in.size() * 4, 1 << 20)), 0);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), UINT32_MAX));
  std::size_t produced = 0;
  int ret = Z_OK;
  while (ret == Z_OK) {
    if (produced == out.size()) {
      if (out.size() >= max_output) {
        inflateEnd(&s);
        error = "gzip: payload expands beyond " + std::to_string(max_output) + " bytes";
        return false;
      }
      out.resize(std::min(max_output, out.size() * 2));
    }
    s.next_out = out.data() + produced;
    s.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - produced, UINT32_MAX));
    std::size_t before = s.avail_out;
    ret = inflate(&s, Z_NO_FLUSH);
    produced += before - s.avail_out;
    if (ret == Z_BUF_ERROR && s.avail_out != 0) break;  // input ended early
    if (ret == Z_BUF_ERROR) ret = Z_OK;                 // output full: grow and go on
  }
  inflateEnd(&s);
  out.resize(produced);
  if (ret != Z_STREAM_END) {
    error = "gzip: corrupt or truncated payload (zlib error " + std::to_string(ret) + ")";
    return false;
  }
  return true;
}

}  // namespace

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::xz: return "xz";
    case Compression::gzip: return "gzip";
  }
  return "?";
}

bool parse_bzimage_header(std::span<const std::uint8_t> file, BzImageHeader& out, std::string& error) {
  if (file.size() < kPayloadLengthAt + 4) {
    error = "bzImage: file too short for a setup header";
    return false;
  }
  if (std::memcmp(file.data() + kHeaderMagicAt, "HdrS", 4) != 0) {
    error = "not an ELF nor a bzImage (no HdrS magic at 0x202)";
    return false;
  }
  out.protocol_version = static_cast<std::uint16_t>(file[kVersionAt] | file[kVersionAt + 1] << 8);
  if (out.protocol_version < kMinProtocol) {
    error = "bzImage: boot protocol " + std::to_string(out.protocol_version >> 8) + "." +
            std::to_string(out.protocol_version & 0xff) + " predates payload fields (2.08)";
    return false;
  }
  std::size_t setup_sects = file[kSetupSectsAt] == 0 ? 4 : file[kSetupSectsAt];  // 0 means 4
  out.setup_size = (setup_sects + 1) * 512;
  std::uint64_t offset = std::uint64_t{out.setup_size} + load_le32(file, kPayloadOffsetAt);
  std::uint64_t length = load_le32(file, kPayloadLengthAt);
  if (offset > file.size() || length > file.size() - offset || length == 0) {
    error = "bzImage: payload (offset " + std::to_string(offset) + ", length " + std::to_string(length) +
            ") is outside the " + std::to_string(file.size()) + "-byte file";
    return false;
  }
  out.payload_offset = offset;
  out.payload_length = length;
  std::span<const std::uint8_t> payload = file.subspan(offset, length);
  if (starts_with(payload, kXzMagic)) out.compression = Compression::xz;
  else if (starts_with(payload, kGzipMagic)) out.compression = Compression::gzip;
  else if (starts_with(payload, kElfMagic)) out.compression = Compression::none;
  else {
    error = "bzImage: payload compression not supported (only xz, gzip or none)";
    return false;
  }
  return true;
}

UnpackResult unpack(std::span<const std::uint8_t> file, std::size_t max_output) {
  if (starts_with(file, kElfMagic)) {
    if (!is_elf64(file)) return failure("ELF image is not ELF64");
    if (file.size() > max_output) return failure("ELF image larger than the output limit");
    UnpackResult r;
    r.ok = true;
    r.image.elf.assign(file.begin(), file.end());
    return r;
  }
  BzImageHeader h;
  std::string error;
  if (!parse_bzimage_header(file, h, error)) return failure(error);
  std::span<const std::uint8_t> payload = file.subspan(h.payload_offset, h.payload_length);
  UnpackResult r;
  r.image.format = Format::bzimage;
  r.image.compression = h.compression;
  bool done = false;
  switch (h.compression) {
    case Compression::xz: done = decompress_xz(payload, max_output, r.image.elf, error); break;
    case Compression::gzip: done = decompress_gzip(payload, max_output, r.image.elf, error); break;
    case Compression::none:
      if (payload.size() > max_output) return failure("bzImage: payload larger than the output limit");
      r.image.elf.assign(payload.begin(), payload.end());
      done = true;
      break;
  }
  if (!done) return failure(error);
  if (!is_elf64(r.image.elf)) return failure("bzImage: the unpacked payload is not an ELF64 image");
  r.ok = true;
  return r;
}

}  // namespace microxen::kernel_image
