// x86_decode: just enough of an x86-64 decoder to emulate the stores a PV guest makes into
// its own read-only page tables (writable page tables, ptwr.cpp). Xen runs the full
// x86_emulate and accepts any instruction that writes memory; we take the forms Linux's PTE
// helpers use: MOV r/m,r and r/m,imm, XCHG, CMPXCHG, XADD, the ALU read-modify-writes
// (ADD OR ADC SBB AND SUB XOR, register or immediate source; `lock andb` is clear_bit),
// BTS/BTR/BTC (register or immediate bit; test_and_clear_bit), INC DEC NOT NEG, all with a
// memory destination. Anything else is refused (the caller then forwards the #PF): it must
// never accept an instruction whose length, width or source it has not fully understood.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace hv::x86dec {

inline constexpr unsigned kMaxInsnLength = 15;
inline constexpr std::uint8_t kNoReg = 0xff;

enum class StoreKind : std::uint8_t { mov, xchg, cmpxchg, xadd, alu, bit, unary };
// StoreKind::alu operations, numbered as in the opcode (cmp, 7, does not write: refused).
enum class AluOp : std::uint8_t { add = 0, or_ = 1, adc = 2, sbb = 3, and_ = 4, sub = 5, xor_ = 6 };
// StoreKind::bit operations (BT alone does not write: refused).
enum class BitOp : std::uint8_t { bts, btr, btc };
// StoreKind::unary operations.
enum class UnaryOp : std::uint8_t { inc, dec, not_, neg };

// The memory operand: base + index * scale + disp, or next-rip + disp when rip_relative.
// Register numbers are x86's (0 rax, 1 rcx, ... 4 rsp, ... 15 r15); kNoReg when absent.
struct MemOperand {
  std::uint8_t base = kNoReg;
  std::uint8_t index = kNoReg;
  std::uint8_t scale = 1;
  bool rip_relative = false;
  std::int64_t disp = 0;
};

struct DecodedStore {
  StoreKind kind = StoreKind::mov;
  std::uint8_t op = 0;  // AluOp, BitOp or UnaryOp for those kinds
  unsigned length = 0;  // bytes, prefixes included
  unsigned width = 0;   // operand size: 1, 2, 4 or 8
  bool lock = false;    // LOCK prefix (XCHG is locked without it)
  // Source: an immediate (already sign-extended to 64 bits), or register `src_reg`. For BT*
  // it is the bit number: an immediate is taken modulo the width, a register's signed value
  // may address bits outside the operand (effective_address moves the operand to them).
  bool src_is_imm = false;
  std::uint64_t imm = 0;
  std::uint8_t src_reg = kNoReg;
  // A byte register 4-7 without REX is AH, CH, DH, BH: bits 8-15 of register src_reg - 4.
  bool src_high_byte = false;
  MemOperand mem;
};

// Decodes the instruction at the start of `bytes` (up to kMaxInsnLength are looked at).
// std::nullopt for anything outside the supported set, truncated input, or prefixes we do
// not honour (segment overrides other than DS, 0x67, REP, REX not last).
std::optional<DecodedStore> decode_store(std::span<const std::uint8_t> bytes);

// The operand's linear address, given the GPRs by register number and the instruction's rip
// (segment bases are zero: only DS or no override are accepted). For BT* with a register bit
// number, the address of the operand-sized unit holding that bit, as the CPU accesses it.
std::uint64_t effective_address(const DecodedStore& s, std::span<const std::uint64_t, 16> gpr,
                                std::uint64_t rip);

// The value the source supplies, truncated to the operand width.
std::uint64_t source_value(const DecodedStore& s, std::span<const std::uint64_t, 16> gpr);

// Writes `value` (operand width) into register `reg` as the instruction would: a 4-byte
// write zero-extends, 1- and 2-byte writes merge (high_byte: into bits 8-15 of `reg`).
std::uint64_t merge_register(std::uint64_t old, std::uint64_t value, unsigned width, bool high_byte);

// Arithmetic flags (CF PF AF ZF SF OF) of `cmp a, b` at `width` bytes, as CMPXCHG sets them.
inline constexpr std::uint64_t kArithFlags = 0x8d5;
inline constexpr std::uint64_t kCarryFlag = 0x1;
std::uint64_t cmp_flags(std::uint64_t a, std::uint64_t b, unsigned width);

// What a read-modify-write store (xadd, alu, bit, unary) does to memory value `dst` (operand
// width) with source value `src` (source_value) and the guest's `rflags`: the value to store
// and the new rflags. Flags the SDM leaves undefined are given what current hardware gives:
// AF cleared by AND/OR/XOR; BT* change CF only.
struct RmwResult {
  std::uint64_t value;
  std::uint64_t rflags;
};
RmwResult read_modify_write(const DecodedStore& s, std::uint64_t dst, std::uint64_t src,
                            std::uint64_t rflags);

}  // namespace hv::x86dec
