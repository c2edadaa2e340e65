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

// What the opcode byte(s) say before ModRM is read. `group`: the ModRM reg field selects the
// operation (and is not a source register).
enum class Imm : std::uint8_t { none, byte, sized };  // sized: imm16 with 0x66, else imm32
struct Opcode {
  StoreKind kind = StoreKind::mov;
  std::uint8_t op = 0;
  bool byte_op = false;
  bool group = false;
  Imm imm = Imm::none;
  std::uint8_t code = 0;  // the last opcode byte, to resolve groups
};

// The opcode's form; false if it is not a supported memory-writing instruction.
bool classify(Cursor& c, std::uint8_t opcode, Opcode& o) {
  o.code = opcode;
  o.byte_op = (opcode & 1) == 0;
  if (opcode < 0x40 && (opcode & 7) <= 1 && (opcode >> 3) != 7) {  // ALU r/m, reg (not CMP)
    o.kind = StoreKind::alu;
    o.op = static_cast<std::uint8_t>(opcode >> 3);
    return true;
  }
  switch (opcode) {
    case 0x80: case 0x81: o.kind = StoreKind::alu; o.group = true; o.imm = opcode == 0x80 ? Imm::byte : Imm::sized; return true;
    case 0x83: o.kind = StoreKind::alu; o.group = true; o.imm = Imm::byte; o.byte_op = false; return true;
    case 0x86: case 0x87: o.kind = StoreKind::xchg; return true;
    case 0x88: case 0x89: o.kind = StoreKind::mov; return true;
    case 0xc6: case 0xc7: o.kind = StoreKind::mov; o.group = true; o.imm = opcode == 0xc6 ? Imm::byte : Imm::sized; return true;
    case 0xf6: case 0xf7: case 0xfe: case 0xff: o.kind = StoreKind::unary; o.group = true; return true;
    case 0x0f: break;
    default: return false;
  }
  std::uint8_t op2 = 0;
  if (!c.take(op2)) return false;
  o.code = op2;
  o.byte_op = (op2 & 1) == 0;
  switch (op2) {
    case 0xb0: case 0xb1: o.kind = StoreKind::cmpxchg; return true;
    case 0xc0: case 0xc1: o.kind = StoreKind::xadd; return true;
    case 0xab: case 0xb3: case 0xbb:
      o.kind = StoreKind::bit;
      o.byte_op = false;
      o.op = static_cast<std::uint8_t>(op2 == 0xab ? BitOp::bts : op2 == 0xb3 ? BitOp::btr : BitOp::btc);
      return true;
    case 0xba: o.kind = StoreKind::bit; o.group = true; o.imm = Imm::byte; o.byte_op = false; return true;
    default: return false;
  }
}

// The operation a group opcode's ModRM reg field `r` selects; false for the non-writing or
// non-memory members (CMP, TEST, MUL/DIV, BT, CALL/JMP/PUSH) and invalid encodings.
bool resolve_group(Opcode& o, unsigned r) {
  switch (o.kind) {
    case StoreKind::alu: o.op = static_cast<std::uint8_t>(r); return r != 7;
    case StoreKind::mov: return r == 0;
    case StoreKind::bit:
      if (r < 5) return false;
      o.op = static_cast<std::uint8_t>(r == 5 ? BitOp::bts : r == 6 ? BitOp::btr : BitOp::btc);
      return true;
    case StoreKind::unary:
      if (o.code >= 0xfe) {  // FE/FF: /0 INC, /1 DEC
        o.op = static_cast<std::uint8_t>(r == 0 ? UnaryOp::inc : UnaryOp::dec);
        return r <= 1;
      }
      o.op = static_cast<std::uint8_t>(r == 2 ? UnaryOp::not_ : UnaryOp::neg);  // F6/F7
      return r == 2 || r == 3;
    default: return false;
  }
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
  Opcode o;
  DecodedStore s;
  std::uint8_t opcode = 0, modrm = 0;
  if (!read_prefixes(c, p, opcode) || !classify(c, opcode, o)) return std::nullopt;
  if (!c.take(modrm) || (modrm >> 6) == 3) return std::nullopt;  // register destination
  const unsigned reg = ((modrm >> 3) & 7) | ((p.rex & kRexR) ? 8 : 0);
  if (o.group && !resolve_group(o, (modrm >> 3) & 7)) return std::nullopt;
  if (p.lock && o.kind == StoreKind::mov) return std::nullopt;  // LOCK MOV is #UD
  s.kind = o.kind;
  s.op = o.op;
  s.lock = p.lock || s.kind == StoreKind::xchg;
  s.width = o.byte_op ? 1 : (p.rex & kRexW) ? 8 : p.opsize ? 2 : 4;
  if (!read_memory_operand(c, modrm, p.rex, s.mem)) return std::nullopt;
  if (o.imm != Imm::none) {
    std::int64_t imm = 0;
    if (!c.take_signed(o.imm == Imm::byte ? 1 : s.width == 2 ? 2 : 4, imm)) return std::nullopt;
    s.src_is_imm = true;
    s.imm = static_cast<std::uint64_t>(imm);
  } else if (!o.group) {
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
  if (s.kind == StoreKind::bit && !s.src_is_imm) {
    // The register's signed bit number selects an operand-sized unit relative to ea.
    const unsigned shift = 64 - s.width * 8;
    const std::int64_t bit = static_cast<std::int64_t>(gpr[s.src_reg & 15] << shift) >> shift;
    const unsigned log2_bits = s.width == 2 ? 4 : s.width == 4 ? 5 : 6;
    ea += static_cast<std::uint64_t>(bit >> log2_bits) * s.width;
  }
  return ea;
}

std::uint64_t source_value(const DecodedStore& s, std::span<const std::uint64_t, 16> gpr) {
  if (s.kind == StoreKind::unary) return 0;
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

namespace {

// PF ZF SF of result `r` (already masked to `width`).
std::uint64_t result_flags(std::uint64_t r, unsigned width) {
  std::uint64_t flags = 0;
  if ((__builtin_popcountll(r & 0xff) & 1) == 0) flags |= 0x4;  // PF: even parity, low byte
  if (r == 0) flags |= 0x40;                                    // ZF
  if (r & (std::uint64_t{1} << (width * 8 - 1))) flags |= 0x80; // SF
  return flags;
}

// a + b + carry_in, or a - b - carry_in when `subtract`, and the six arithmetic flags.
RmwResult add_sub(std::uint64_t a, std::uint64_t b, unsigned carry_in, bool subtract,
                  unsigned width) {
  const std::uint64_t mask = width_mask(width), sign = std::uint64_t{1} << (width * 8 - 1);
  a &= mask;
  b &= mask;
  const unsigned __int128 wide_b = static_cast<unsigned __int128>(b) + carry_in;
  bool carry;
  std::uint64_t r;
  if (subtract) {
    carry = a < wide_b;
    r = (a - b - carry_in) & mask;
  } else {
    carry = ((a + wide_b) >> (width * 8)) != 0;
    r = (a + b + carry_in) & mask;
  }
  std::uint64_t flags = result_flags(r, width) | (carry ? kCarryFlag : 0);
  if ((a ^ b ^ r) & 0x10) flags |= 0x10;  // AF
  const std::uint64_t overflow = subtract ? (a ^ b) & (a ^ r) : ~(a ^ b) & (a ^ r);
  if (overflow & sign) flags |= 0x800;  // OF
  return {r, flags};
}

RmwResult alu(AluOp op, std::uint64_t a, std::uint64_t b, std::uint64_t rflags, unsigned width) {
  const unsigned cf = static_cast<unsigned>(rflags & kCarryFlag);
  const std::uint64_t mask = width_mask(width);
  std::uint64_t r = 0;
  switch (op) {
    case AluOp::add: return add_sub(a, b, 0, false, width);
    case AluOp::adc: return add_sub(a, b, cf, false, width);
    case AluOp::sub: return add_sub(a, b, 0, true, width);
    case AluOp::sbb: return add_sub(a, b, cf, true, width);
    case AluOp::and_: r = a & b & mask; break;
    case AluOp::or_: r = (a | b) & mask; break;
    case AluOp::xor_: r = (a ^ b) & mask; break;
  }
  return {r, result_flags(r, width)};  // CF OF cleared; AF cleared as hardware does
}

}  // namespace

std::uint64_t cmp_flags(std::uint64_t a, std::uint64_t b, unsigned width) {
  return add_sub(a, b, 0, true, width).rflags;
}

RmwResult read_modify_write(const DecodedStore& s, std::uint64_t dst, std::uint64_t src,
                            std::uint64_t rflags) {
  const std::uint64_t mask = width_mask(s.width);
  const auto with_arith = [&](RmwResult r) {
    return RmwResult{r.value, (rflags & ~kArithFlags) | r.rflags};
  };
  dst &= mask;
  switch (s.kind) {
    case StoreKind::xadd: return with_arith(add_sub(dst, src, 0, false, s.width));
    case StoreKind::alu: return with_arith(alu(static_cast<AluOp>(s.op), dst, src, rflags, s.width));
    case StoreKind::bit: {
      const std::uint64_t bit = std::uint64_t{1} << (src & (s.width * 8 - 1));
      const std::uint64_t cf = (dst & bit) ? kCarryFlag : 0;
      const auto op = static_cast<BitOp>(s.op);
      const std::uint64_t v = op == BitOp::bts ? dst | bit : op == BitOp::btr ? dst & ~bit : dst ^ bit;
      return {v, (rflags & ~kCarryFlag) | cf};
    }
    case StoreKind::unary: {
      const auto op = static_cast<UnaryOp>(s.op);
      if (op == UnaryOp::not_) return {~dst & mask, rflags};
      if (op == UnaryOp::neg) return with_arith(add_sub(0, dst, 0, true, s.width));
      RmwResult r = add_sub(dst, 1, 0, op == UnaryOp::dec, s.width);  // INC/DEC keep CF
      r.rflags = (r.rflags & ~kCarryFlag) | (rflags & kCarryFlag);
      return with_arith(r);
    }
    default: return {src & mask, rflags};  // mov, xchg: the source replaces the value
  }
}

}  // namespace hv::x86dec
