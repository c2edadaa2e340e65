// x86_decode: the store decoder behind writable-page-table emulation. Every byte it reads is
// bounds-checked against the input and the 15-byte architectural limit; every form it does
// not fully understand is refused rather than guessed at.
#include "x86_decode.hpp"

namespace hv::x86dec {
namespace {

constexpr std::uint8_t kRexW = 8, kRexR = 4, kRexX = 2, kRexB = 1;

std::uint64_t width_mask(unsigned width) {
  return width >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (width * 8)) - 1;
}

// Reads instruction bytes in order, never past the input or the 15-byte limit.
class Cursor {
 public:
  explicit Cursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool take(std::uint8_t& out) {
    if (pos_ >= bytes_.size() || pos_ >= kMaxInsnLength) return false;
    out = bytes_[pos_++];
    return true;
  }
  // `n` (1, 2 or 4) bytes, little-endian, sign-extended to 64 bits.
  bool take_signed(unsigned n, std::int64_t& out) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      std::uint8_t b = 0;
      if (!take(b)) return false;
      v |= std::uint64_t{b} << (8 * i);
    }
    const std::uint64_t sign = std::uint64_t{1} << (8 * n - 1);
    out = static_cast<std::int64_t>((v ^ sign) - sign);
    return true;
  }
  unsigned pos() const { return pos_; }

 private:
  std::span<const std::uint8_t> bytes_;
  unsigned pos_ = 0;
};

struct Prefixes {
  bool opsize = false, lock = false;
  std::uint8_t rex = 0;
};

// Legacy prefixes, then at most one REX immediately before the opcode. Returns the opcode.
bool read_prefixes(Cursor& c, Prefixes& p, std::uint8_t& opcode) {
  for (;;) {
    std::uint8_t b = 0;
    if (!c.take(b)) return false;
    if (b >= 0x40 && b <= 0x4f) {
      if (p.rex != 0) return false;
      p.rex = b;
      continue;
    }
    const bool legacy = b == 0x66 || b == 0xf0 || b == 0x3e || b == 0x26 || b == 0x2e ||
                        b == 0x36 || b == 0x64 || b == 0x65 || b == 0x67 || b == 0xf2 || b == 0xf3;
    if (!legacy) {
      opcode = b;
      return true;
    }
    if (p.rex != 0) return false;  // a REX not last is ignored by the CPU: refuse the oddity
    if (b == 0x66) p.opsize = true;
    else if (b == 0xf0) p.lock = true;
    else if (b != 0x3e) return false;  // only DS (a no-op) among segment/size/REP prefixes
  }
}

// The opcode's kind and whether it is the byte form; false if not a supported store.
bool classify(Cursor& c, std::uint8_t opcode, DecodedStore& s, bool& byte_op) {
  switch (opcode) {
    case 0x88: case 0x89: s.kind = StoreKind::mov; break;
    case 0xc6: case 0xc7: s.kind = StoreKind::mov; s.src_is_imm = true; break;
    case 0x86: case 0x87: s.kind = StoreKind::xchg; break;
    case 0x0f: {
      std::uint8_t op2 = 0;
      if (!c.take(op2) || (op2 != 0xb0 && op2 != 0xb1)) return false;
      s.kind = StoreKind::cmpxchg;
      byte_op = op2 == 0xb0;
      return true;
    }
    default: return false;
  }
  byte_op = (opcode & 1) == 0;
  return true;
}

// ModRM (mod != 3), SIB and displacement of the memory operand.
bool read_memory_operand(Cursor& c, std::uint8_t modrm, std::uint8_t rex, MemOperand& m) {
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  unsigned disp_bytes = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {
    std::uint8_t sib = 0;
    if (!c.take(sib)) return false;
    m.scale = static_cast<std::uint8_t>(1u << (sib >> 6));
    const unsigned index = ((sib >> 3) & 7) | ((rex & kRexX) ? 8 : 0);
    if (index != 4) m.index = static_cast<std::uint8_t>(index);
    if ((sib & 7) == 5 && mod == 0) disp_bytes = 4;  // no base, disp32
    else m.base = static_cast<std::uint8_t>((sib & 7) | ((rex & kRexB) ? 8 : 0));
  } else if (rm == 5 && mod == 0) {
    m.rip_relative = true;
    disp_bytes = 4;
  } else {
    m.base = static_cast<std::uint8_t>(rm | ((rex & kRexB) ? 8 : 0));
  }
  return disp_bytes == 0 || c.take_signed(disp_bytes, m.disp);
}

}  // namespace

std::optional<DecodedStore> decode_store(std::span<const std::uint8_t> bytes) {
  Cursor c(bytes);
  Prefixes p;
  DecodedStore s;
  std::uint8_t opcode = 0, modrm = 0;
  bool byte_op = false;
  if (!read_prefixes(c, p, opcode) || !classify(c, opcode, s, byte_op)) return std::nullopt;
  if (p.lock && s.kind == StoreKind::mov) return std::nullopt;  // LOCK MOV is #UD
  s.lock = p.lock || s.kind == StoreKind::xchg;
  s.width = byte_op ? 1 : (p.rex & kRexW) ? 8 : p.opsize ? 2 : 4;
  if (!c.take(modrm) || (modrm >> 6) == 3) return std::nullopt;  // register destination
  const unsigned reg = ((modrm >> 3) & 7) | ((p.rex & kRexR) ? 8 : 0);
  if (s.src_is_imm && ((modrm >> 3) & 7) != 0) return std::nullopt;  // C6/C7 /0 only
  if (!read_memory_operand(c, modrm, p.rex, s.mem)) return std::nullopt;
  if (s.src_is_imm) {
    std::int64_t imm = 0;
    if (!c.take_signed(s.width == 1 ? 1 : s.width == 2 ? 2 : 4, imm)) return std::nullopt;
    s.imm = static_cast<std::uint64_t>(imm);
  } else {
    s.src_reg = static_cast<std::uint8_t>(reg);
    s.src_high_byte = s.width == 1 && p.rex == 0 && reg >= 4 && reg < 8;
  }
  s.length = c.pos();
  return s;
}

std::uint64_t effective_address(const DecodedStore& s, std::span<const std::uint64_t, 16> gpr,
                                std::uint64_t rip) {
  std::uint64_t ea = static_cast<std::uint64_t>(s.mem.disp);
  if (s.mem.rip_relative) ea += rip + s.length;
  if (s.mem.base != kNoReg) ea += gpr[s.mem.base & 15];
  if (s.mem.index != kNoReg) ea += gpr[s.mem.index & 15] * s.mem.scale;
  return ea;
}

std::uint64_t source_value(const DecodedStore& s, std::span<const std::uint64_t, 16> gpr) {
  if (s.src_is_imm) return s.imm & width_mask(s.width);
  if (s.src_high_byte) return (gpr[(s.src_reg - 4) & 15] >> 8) & 0xff;
  return gpr[s.src_reg & 15] & width_mask(s.width);
}

std::uint64_t merge_register(std::uint64_t old, std::uint64_t value, unsigned width,
                             bool high_byte) {
  if (width >= 4) return value & width_mask(width);  // a 32-bit write zero-extends
  if (high_byte) return (old & ~std::uint64_t{0xff00}) | ((value & 0xff) << 8);
  const std::uint64_t mask = width_mask(width);
  return (old & ~mask) | (value & mask);
}

std::uint64_t cmp_flags(std::uint64_t a, std::uint64_t b, unsigned width) {
  const std::uint64_t mask = width_mask(width), sign = std::uint64_t{1} << (width * 8 - 1);
  a &= mask;
  b &= mask;
  const std::uint64_t r = (a - b) & mask;
  std::uint64_t flags = 0;
  if (a < b) flags |= 0x1;                                      // CF
  if ((__builtin_popcountll(r & 0xff) & 1) == 0) flags |= 0x4;  // PF: even parity, low byte
  if ((a ^ b ^ r) & 0x10) flags |= 0x10;                        // AF
  if (r == 0) flags |= 0x40;                                    // ZF
  if (r & sign) flags |= 0x80;                                  // SF
  if ((a ^ b) & (a ^ r) & sign) flags |= 0x800;                 // OF
  return flags;
}

}  // namespace hv::x86dec
