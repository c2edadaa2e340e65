// kernel_image: bzImages are built here around a small ELF64 with the same compressors Linux's
// build uses (xz with a CRC32 check plus the appended 4-byte size, gzip), then unpacked; each
// hostile header field is refused with a message that names it.
#include "kernel_image.hpp"

#include <gtest/gtest.h>
#include <lzma.h>
#include <zlib.h>

#include <cstring>

namespace {
using namespace microxen::kernel_image;
using Bytes = std::vector<std::uint8_t>;

Bytes fake_elf64(std::size_t size = 20000) {
  Bytes b(size);
  for (std::size_t i = 0; i < size; ++i) b[i] = static_cast<std::uint8_t>((i * 7) ^ (i >> 5));
  const std::uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  std::memcpy(b.data(), ident, sizeof ident);
  return b;
}

Bytes xz(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  std::size_t pos = 0;
  EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(), &pos,
                                    out.size()),
            LZMA_OK);
  out.resize(pos);
  // Linux appends the uncompressed size (le32) after the xz stream.
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(in.size() >> (8 * i)));
  return out;
}

Bytes gzip(const Bytes& in) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&s, in.size()) + 32);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A bzImage: setup_sects sectors of real-mode setup after the boot sector, the header at
// 0x1f1.., then the protected-mode part holding `payload` at `payload_offset`.
Bytes bzimage(const Bytes& payload, std::uint8_t setup_sects = 3, std::uint16_t version = 0x20f,
              std::uint32_t payload_offset = 0x100) {
  std::size_t setup = (std::size_t{setup_sects == 0 ? 4u : setup_sects} + 1) * 512;
  Bytes b(setup + payload_offset + payload.size() + 64, 0xcc);
  b[0x1f1] = setup_sects;
  std::memcpy(&b[0x202], "HdrS", 4);
  b[0x206] = static_cast<std::uint8_t>(version);
  b[0x207] = static_cast<std::uint8_t>(version >> 8);
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  };
  put32(0x248, payload_offset);
  put32(0x24c, static_cast<std::uint32_t>(payload.size()));
  std::memcpy(&b[setup + payload_offset], payload.data(), payload.size());
  return b;
}

TEST(KernelImage, ElfPassesThroughUnchanged) {
  Bytes elf = fake_elf64();
  UnpackResult r = unpack(elf);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.image.format, Format::elf);
  EXPECT_EQ(r.image.elf, elf);
}

TEST(KernelImage, Elf32IsRefused) {
  Bytes elf = fake_elf64();
  elf[4] = 1;  // ELFCLASS32
  UnpackResult r = unpack(elf);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("ELF64"), std::string::npos);
}

TEST(KernelImage, XzBzImageUnpacksToItsElf) {
  Bytes elf = fake_elf64(300000);
  UnpackResult r = unpack(bzimage(xz(elf)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.image.format, Format::bzimage);
  EXPECT_EQ(r.image.compression, Compression::xz);
  EXPECT_EQ(r.image.elf, elf);
}

TEST(KernelImage, GzipBzImageUnpacksToItsElf) {
  Bytes elf = fake_elf64(300000);
  UnpackResult r = unpack(bzimage(gzip(elf), 0 /* means 4 */));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.image.compression, Compression::gzip);
  EXPECT_EQ(r.image.elf, elf);
}

TEST(KernelImage, UncompressedPayloadIsTaken) {
  Bytes elf = fake_elf64();
  UnpackResult r = unpack(bzimage(elf));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.image.compression, Compression::none);
  EXPECT_EQ(r.image.elf, elf);
}

TEST(KernelImage, HeaderFieldsAreParsed) {
  Bytes payload = xz(fake_elf64());
  Bytes b = bzimage(payload, 5, 0x20f, 0x40);
  BzImageHeader h;
  std::string error;
  ASSERT_TRUE(parse_bzimage_header(b, h, error)) << error;
  EXPECT_EQ(h.protocol_version, 0x20f);
  EXPECT_EQ(h.setup_size, 6u * 512);
  EXPECT_EQ(h.payload_offset, 6u * 512 + 0x40);
  EXPECT_EQ(h.payload_length, payload.size());
}

struct Refusal {
  const char* what;
  Bytes image;
  const char* message_part;
};

TEST(KernelImage, HostileImagesAreRefusedWithANamedReason) {
  Bytes elf = fake_elf64();
  Bytes good = bzimage(xz(elf));
  Bytes no_magic = good;
  no_magic[0x202] = 'X';
  Bytes past_end = good;
  past_end[0x24f] = 0x7f;  // payload_length ~2 GiB
  Bytes offset_past_end = good;
  offset_past_end[0x24b] = 0x7f;
  Bytes zero_length = good;
  std::memset(&zero_length[0x24c], 0, 4);
  Bytes corrupt_xz = good;
  corrupt_xz[4 * 512 + 0x100 + 40] ^= 0xff;
  Bytes truncated_gzip_payload = gzip(elf);
  truncated_gzip_payload.resize(truncated_gzip_payload.size() / 2);
  const Refusal cases[] = {
      {"short file", Bytes(100, 0), "too short"},
      {"no HdrS", no_magic, "HdrS"},
      {"protocol 2.07", bzimage(xz(elf), 3, 0x207), "2.08"},
      {"length past end", past_end, "outside"},
      {"offset past end", offset_past_end, "outside"},
      {"zero length", zero_length, "outside"},
      {"unknown compression", bzimage(Bytes{'B', 'Z', 'h', '9', 1, 2, 3}), "compression"},
      {"corrupt xz", corrupt_xz, "xz"},
      {"truncated gzip", bzimage(truncated_gzip_payload), "gzip"},
      {"payload not ELF", bzimage(xz(Bytes(5000, 0x41))), "not an ELF64"},
  };
  for (const Refusal& c : cases) {
    UnpackResult r = unpack(c.image);
    EXPECT_FALSE(r.ok) << c.what;
    EXPECT_NE(r.error.find(c.message_part), std::string::npos) << c.what << ": " << r.error;
  }
}

TEST(KernelImage, OutputIsCappedAgainstDecompressionBombs) {
  Bytes zeros(8 << 20, 0);
  std::memcpy(zeros.data(), "\x7f" "ELF\x02", 5);
  for (const Bytes& image : {bzimage(xz(zeros)), bzimage(gzip(zeros))}) {
    UnpackResult r = unpack(image, 1 << 20);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("expands beyond"), std::string::npos) << r.error;
  }
}

}  // namespace
