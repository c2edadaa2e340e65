// x86_decode_test: the ptwr store decoder on encodings taken from GNU as (objdump listings
// pasted as bytes), including Linux's PTE writes, REX forms, immediates, and refusals.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "core/x86_decode.hpp"

namespace {
using namespace hv::x86dec;

std::optional<DecodedStore> decode(std::initializer_list<std::uint8_t> bytes) {
  std::vector<std::uint8_t> v(bytes);
  return decode_store(v);
}

// Sixteen distinct register values, indexed by x86 register number.
std::array<std::uint64_t, 16> registers() {
  std::array<std::uint64_t, 16> r{};
  for (unsigned i = 0; i < 16; ++i) r[i] = 0x0102030405060708ull + (std::uint64_t{i} << 56) + i * 0x1000;
  return r;
}

TEST(X86Decode, LinuxMovRsiToRdi) {  // mov %rsi,(%rdi)
  auto s = decode({0x48, 0x89, 0x37, 0xcc, 0xcc});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, StoreKind::mov);
  EXPECT_EQ(s->length, 3u);
  EXPECT_EQ(s->width, 8u);
  EXPECT_FALSE(s->lock);
  EXPECT_EQ(s->src_reg, 6);
  EXPECT_EQ(s->mem.base, 7);
  EXPECT_EQ(s->mem.index, kNoReg);
  auto r = registers();
  EXPECT_EQ(source_value(*s, r), r[6]);
  EXPECT_EQ(effective_address(*s, r, 0x1000), r[7]);
}

TEST(X86Decode, LockCmpxchg) {  // lock cmpxchg %rdx,(%rdi); lock cmpxchg %ecx,(%r8)
  auto s = decode({0xf0, 0x48, 0x0f, 0xb1, 0x17});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, StoreKind::cmpxchg);
  EXPECT_EQ(s->length, 5u);
  EXPECT_EQ(s->width, 8u);
  EXPECT_TRUE(s->lock);
  EXPECT_EQ(s->src_reg, 2);
  EXPECT_EQ(s->mem.base, 7);
  auto t = decode({0xf0, 0x41, 0x0f, 0xb1, 0x08});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->width, 4u);
  EXPECT_EQ(t->src_reg, 1);
  EXPECT_EQ(t->mem.base, 8);
  auto b = decode({0x0f, 0xb0, 0x1f});  // cmpxchg %bl,(%rdi): no lock, byte
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->lock);
  EXPECT_EQ(b->width, 1u);
  EXPECT_EQ(b->length, 3u);
}

TEST(X86Decode, RexRegistersAndSib) {
  auto r = registers();
  auto s = decode({0x4d, 0x89, 0x4c, 0x24, 0x10});  // mov %r9,0x10(%r12)
  ASSERT_TRUE(s);
  EXPECT_EQ(s->length, 5u);
  EXPECT_EQ(s->src_reg, 9);
  EXPECT_EQ(s->mem.base, 12);
  EXPECT_EQ(s->mem.index, kNoReg);
  EXPECT_EQ(effective_address(*s, r, 0), r[12] + 0x10);
  auto t = decode({0x4e, 0x89, 0x7c, 0xed, 0xf8});  // mov %r15,-0x8(%rbp,%r13,8)
  ASSERT_TRUE(t);
  EXPECT_EQ(t->src_reg, 15);
  EXPECT_EQ(t->mem.base, 5);
  EXPECT_EQ(t->mem.index, 13);
  EXPECT_EQ(t->mem.scale, 8);
  EXPECT_EQ(effective_address(*t, r, 0), r[5] + r[13] * 8 - 8);
  auto u = decode({0x4b, 0x89, 0x04, 0x64});  // mov %rax,(%r12,%r12,2): REX.X index 12
  ASSERT_TRUE(u);
  EXPECT_EQ(u->mem.index, 12);
  EXPECT_EQ(u->mem.scale, 2);
  auto sp = decode({0x48, 0x89, 0x0c, 0x24});  // mov %rcx,(%rsp): SIB index 4 = none
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->mem.base, 4);
  EXPECT_EQ(sp->mem.index, kNoReg);
  auto r13 = decode({0x49, 0x89, 0x55, 0x00});  // mov %rdx,0x0(%r13): mod 01 forced
  ASSERT_TRUE(r13);
  EXPECT_EQ(r13->length, 4u);
  EXPECT_EQ(r13->mem.base, 13);
  auto nobase = decode({0x48, 0x89, 0x14, 0x9d, 0x00, 0x00, 0x00, 0x00});  // (,%rbx,4)
  ASSERT_TRUE(nobase);
  EXPECT_EQ(nobase->length, 8u);
  EXPECT_EQ(nobase->mem.base, kNoReg);
  EXPECT_EQ(effective_address(*nobase, r, 0), r[3] * 4);
}

TEST(X86Decode, RipRelativeAndAbsolute) {
  auto r = registers();
  auto s = decode({0x48, 0x89, 0x05, 0x00, 0x10, 0x00, 0x00});  // mov %rax,0x1000(%rip)
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->mem.rip_relative);
  EXPECT_EQ(s->length, 7u);
  EXPECT_EQ(effective_address(*s, r, 0x3a), 0x1041u);
  auto a = decode({0x48, 0x89, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12});  // mov %rax,0x12345678
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->mem.rip_relative);
  EXPECT_EQ(effective_address(*a, r, 0), 0x12345678u);
}

TEST(X86Decode, Immediates) {
  auto r = registers();
  auto q = decode({0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff});  // movq $-2,(%rax)
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->src_is_imm);
  EXPECT_EQ(q->width, 8u);
  EXPECT_EQ(q->length, 7u);
  EXPECT_EQ(source_value(*q, r), 0xfffffffffffffffeull);  // imm32 sign-extended
  auto l = decode({0xc7, 0x00, 0x01, 0x00, 0x00, 0x80});  // movl $0x80000001,(%rax)
  ASSERT_TRUE(l);
  EXPECT_EQ(l->width, 4u);
  EXPECT_EQ(source_value(*l, r), 0x80000001u);
  auto w = decode({0x66, 0xc7, 0x07, 0x34, 0x12});  // movw $0x1234,(%rdi)
  ASSERT_TRUE(w);
  EXPECT_EQ(w->width, 2u);
  EXPECT_EQ(w->length, 5u);
  EXPECT_EQ(source_value(*w, r), 0x1234u);
  auto b = decode({0xc6, 0x07, 0x7f});  // movb $0x7f,(%rdi)
  ASSERT_TRUE(b);
  EXPECT_EQ(b->width, 1u);
  EXPECT_EQ(source_value(*b, r), 0x7fu);
}

TEST(X86Decode, NarrowRegisterStores) {
  auto r = registers();
  auto l = decode({0x89, 0x77, 0x04});  // mov %esi,0x4(%rdi)
  ASSERT_TRUE(l);
  EXPECT_EQ(l->width, 4u);
  EXPECT_EQ(source_value(*l, r), r[6] & 0xffffffff);
  EXPECT_EQ(effective_address(*l, r, 0), r[7] + 4);
  auto w = decode({0x66, 0x89, 0x77, 0x02});  // mov %si,0x2(%rdi)
  ASSERT_TRUE(w);
  EXPECT_EQ(w->width, 2u);
  EXPECT_EQ(source_value(*w, r), r[6] & 0xffff);
  auto ah = decode({0x88, 0x67, 0x01});  // mov %ah,0x1(%rdi)
  ASSERT_TRUE(ah);
  EXPECT_TRUE(ah->src_high_byte);
  EXPECT_EQ(source_value(*ah, r), (r[0] >> 8) & 0xff);
  auto sil = decode({0x40, 0x88, 0x77, 0x01});  // mov %sil,0x1(%rdi)
  ASSERT_TRUE(sil);
  EXPECT_FALSE(sil->src_high_byte);
  EXPECT_EQ(source_value(*sil, r), r[6] & 0xff);
  auto rexw66 = decode({0x66, 0x48, 0x89, 0x37});  // REX.W beats 0x66
  ASSERT_TRUE(rexw66);
  EXPECT_EQ(rexw66->width, 8u);
  auto ds = decode({0x3e, 0x48, 0x89, 0x07});  // %ds: override is a no-op
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->length, 4u);
}

TEST(X86Decode, XchgIsLocked) {
  auto q = decode({0x48, 0x87, 0x07});  // xchg %rax,(%rdi)
  ASSERT_TRUE(q);
  EXPECT_EQ(q->kind, StoreKind::xchg);
  EXPECT_TRUE(q->lock);
  EXPECT_EQ(q->width, 8u);
  auto l = decode({0x87, 0x0f});  // xchg %ecx,(%rdi)
  ASSERT_TRUE(l);
  EXPECT_EQ(l->width, 4u);
  EXPECT_EQ(l->length, 2u);
  EXPECT_EQ(l->src_reg, 1);
}

TEST(X86Decode, Refusals) {
  EXPECT_FALSE(decode({}));
  EXPECT_FALSE(decode({0x48}));                                  // REX only
  EXPECT_FALSE(decode({0x48, 0x89}));                            // no ModRM
  EXPECT_FALSE(decode({0x48, 0x89, 0x04}));                      // no SIB
  EXPECT_FALSE(decode({0x48, 0x89, 0x47}));                      // no disp8
  EXPECT_FALSE(decode({0x48, 0x89, 0x05, 0x00, 0x10, 0x00}));    // short disp32
  EXPECT_FALSE(decode({0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff}));    // short imm32
  EXPECT_FALSE(decode({0x48, 0x89, 0xc7}));                      // register destination
  EXPECT_FALSE(decode({0x64, 0x48, 0x89, 0x07}));                // %fs:
  EXPECT_FALSE(decode({0x65, 0x48, 0x89, 0x07}));                // %gs:
  EXPECT_FALSE(decode({0x67, 0x48, 0x89, 0x07}));                // 32-bit addressing
  EXPECT_FALSE(decode({0xf3, 0x48, 0x89, 0x07}));                // REP
  EXPECT_FALSE(decode({0x48, 0x66, 0x89, 0x07}));                // REX not last
  EXPECT_FALSE(decode({0x48, 0x48, 0x89, 0x07}));                // two REX
  EXPECT_FALSE(decode({0xf0, 0x48, 0x89, 0x37}));                // lock mov: #UD
  EXPECT_FALSE(decode({0xf0, 0x48, 0x0f, 0xa3, 0x07}));          // lock bt: #UD (no write)
  EXPECT_FALSE(decode({0x48, 0xc7, 0x08, 0x00, 0x00, 0x00, 0x00}));  // C7 /1
  EXPECT_FALSE(decode({0x0f, 0xb2, 0x07}));                      // lss
  EXPECT_FALSE(decode({0xab}));                                  // stos
  EXPECT_FALSE(decode({0x90}));
  // 15 bytes is the limit: 11 DS prefixes + 48 89 04 25 + disp32 = 19 bytes.
  EXPECT_FALSE(decode({0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x48,
                       0x89, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00}));
  // Exactly 15 is fine: 7 DS prefixes + 8-byte instruction.
  auto fifteen = decode({0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x48, 0x89, 0x04, 0x25,
                         0x00, 0x00, 0x00, 0x00});
  ASSERT_TRUE(fifteen);
  EXPECT_EQ(fifteen->length, 15u);
}

TEST(X86Decode, RegisterWritesAndCmpFlags) {
  EXPECT_EQ(merge_register(0xffffffffffffffff, 0x12345678, 4, false), 0x12345678u);
  EXPECT_EQ(merge_register(0xffffffffffffffff, 0x1234, 2, false), 0xffffffffffff1234u);
  EXPECT_EQ(merge_register(0xffffffffffffffff, 0x12, 1, false), 0xffffffffffffff12u);
  EXPECT_EQ(merge_register(0xffffffffffffffff, 0x12, 1, true), 0xffffffffffff12ffu);
  EXPECT_EQ(cmp_flags(5, 5, 8), 0x44u);           // ZF PF
  EXPECT_EQ(cmp_flags(0, 1, 8), 0x95u);           // CF AF SF PF (r = ~0)
  EXPECT_EQ(cmp_flags(0x80000000, 1, 4), 0x814u); // OF AF PF (r = 0x7fffffff)
  EXPECT_EQ(cmp_flags(0x1'00000005, 5, 4), 0x44u);  // width 4 ignores the high half
}

}  // namespace

// --- read-modify-write forms (Linux's clear_bit/set_bit/test_and_clear_bit and friends) ---

TEST(X86Decode, LinuxBitHelpers) {
  auto clear = decode({0xf0, 0x80, 0x67, 0x01, 0xfd});  // lock andb $0xfd,1(%rdi): clear_bit(RW)
  ASSERT_TRUE(clear);
  EXPECT_EQ(clear->kind, StoreKind::alu);
  EXPECT_EQ(clear->op, static_cast<std::uint8_t>(AluOp::and_));
  EXPECT_EQ(clear->width, 1u);
  EXPECT_TRUE(clear->lock);
  EXPECT_TRUE(clear->src_is_imm);
  EXPECT_EQ(clear->length, 5u);
  auto r = registers();
  EXPECT_EQ(source_value(*clear, r), 0xfdu);
  EXPECT_EQ(effective_address(*clear, r, 0), r[7] + 1);
  auto btr = decode({0xf0, 0x48, 0x0f, 0xb3, 0x37});  // lock btr %rsi,(%rdi)
  ASSERT_TRUE(btr);
  EXPECT_EQ(btr->kind, StoreKind::bit);
  EXPECT_EQ(btr->op, static_cast<std::uint8_t>(BitOp::btr));
  EXPECT_EQ(btr->width, 8u);
  EXPECT_EQ(btr->src_reg, 6);
  auto bts = decode({0xf0, 0x48, 0x0f, 0xba, 0x2f, 0x01});  // lock btsq $1,(%rdi)
  ASSERT_TRUE(bts);
  EXPECT_EQ(bts->op, static_cast<std::uint8_t>(BitOp::bts));
  EXPECT_EQ(bts->imm, 1u);
  EXPECT_EQ(bts->length, 6u);
  auto xadd = decode({0xf0, 0x48, 0x0f, 0xc1, 0x0f});  // lock xadd %rcx,(%rdi)
  ASSERT_TRUE(xadd);
  EXPECT_EQ(xadd->kind, StoreKind::xadd);
  EXPECT_EQ(xadd->src_reg, 1);
}

TEST(X86Decode, GroupsImmediatesAndUnary) {
  auto orq = decode({0x48, 0x81, 0x0f, 0x00, 0x04, 0x00, 0x00});  // orq $0x400,(%rdi)
  ASSERT_TRUE(orq);
  EXPECT_EQ(orq->op, static_cast<std::uint8_t>(AluOp::or_));
  EXPECT_EQ(orq->imm, 0x400u);
  EXPECT_EQ(orq->length, 7u);
  auto andq = decode({0x48, 0x83, 0x27, 0xfd});  // andq $-3,(%rdi): imm8 sign-extended
  ASSERT_TRUE(andq);
  EXPECT_EQ(andq->width, 8u);
  EXPECT_EQ(source_value(*andq, registers()), ~std::uint64_t{2});
  auto inc = decode({0xf0, 0x48, 0xff, 0x07});
  ASSERT_TRUE(inc);
  EXPECT_EQ(inc->kind, StoreKind::unary);
  EXPECT_EQ(inc->op, static_cast<std::uint8_t>(UnaryOp::inc));
  auto neg = decode({0x66, 0xf7, 0x1f});
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->op, static_cast<std::uint8_t>(UnaryOp::neg));
  EXPECT_EQ(neg->width, 2u);
  auto sbb = decode({0x18, 0x27});  // sbb %ah,(%rdi)
  ASSERT_TRUE(sbb);
  EXPECT_EQ(sbb->op, static_cast<std::uint8_t>(AluOp::sbb));
  EXPECT_TRUE(sbb->src_high_byte);
  EXPECT_EQ(sbb->src_reg, 4);
}

TEST(X86Decode, RefusesInstructionsThatDoNotWriteMemory) {
  EXPECT_FALSE(decode({0x48, 0x39, 0x07}));        // cmp %rax,(%rdi)
  EXPECT_FALSE(decode({0x48, 0x0f, 0xa3, 0x07}));  // bt %rax,(%rdi)
  EXPECT_FALSE(decode({0x48, 0x0f, 0xba, 0x27, 0x01}));  // bt $1,(%rdi)
  EXPECT_FALSE(decode({0xf6, 0x07, 0x01}));        // testb $1,(%rdi)
  EXPECT_FALSE(decode({0x48, 0x01, 0xc3}));        // add %rax,%rbx
  EXPECT_FALSE(decode({0xff, 0x17}));              // call *(%rdi)
  EXPECT_FALSE(decode({0xf3, 0x48, 0xab}));        // rep stos: not supported
  EXPECT_FALSE(decode({0x48, 0x81, 0x0f, 0x00, 0x04}));  // truncated imm32
}

TEST(X86Decode, RegisterBitNumberSelectsTheUnit) {  // btc %eax,8(%rdi)
  auto s = decode({0x0f, 0xbb, 0x47, 0x08});
  ASSERT_TRUE(s);
  std::array<std::uint64_t, 16> r{};
  r[7] = 0x1000;
  r[0] = 37;  // bit 5 of the dword at +4
  EXPECT_EQ(effective_address(*s, r, 0), 0x1000u + 8 + 4);
  r[0] = static_cast<std::uint32_t>(-1);  // bit 31 of the dword at -4
  EXPECT_EQ(effective_address(*s, r, 0), 0x1000u + 8 - 4);
  EXPECT_EQ(read_modify_write(*s, 0, source_value(*s, r), 0).value, 0x80000000u);
}

// read_modify_write against the CPU itself, register forms (flags are the same for memory).
// The stack pointer steps over the red zone before pushfq/popfq touch the stack.
#define MX_NATIVE(MN, MOD)                                                                 \
  asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopfq\n\t" MN " %" MOD "[s], %" MOD \
               "[d]\n\tpushfq\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"                      \
               : [d] "+r"(dst), [fl] "+r"(flags), [s] "+r"(src)                           \
               :                                                                           \
               : "cc")
#define MX_NATIVE1(MN, MOD)                                                                \
  asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fl]\n\tpopfq\n\t" MN " %" MOD            \
               "[d]\n\tpushfq\n\tpop %[fl]\n\tlea 128(%%rsp), %%rsp"                      \
               : [d] "+r"(dst), [fl] "+r"(flags)                                          \
               :                                                                           \
               : "cc")
#define MX_WIDTHS(MACRO, MN)          \
  if (width == 1) MACRO(MN, "b");     \
  else if (width == 2) MACRO(MN, "w"); \
  else if (width == 4) MACRO(MN, "k"); \
  else MACRO(MN, "q");
#define MX_WIDTHS_NO_BYTE(MACRO, MN)   \
  if (width == 2) MACRO(MN, "w");      \
  else if (width == 4) MACRO(MN, "k"); \
  else MACRO(MN, "q");

std::uint64_t run_native(const DecodedStore& s, std::uint64_t dst, std::uint64_t src,
                         std::uint64_t& flags) {
  const unsigned width = s.width;
  switch (s.kind) {
    case StoreKind::xadd: MX_WIDTHS(MX_NATIVE, "xadd") break;
    case StoreKind::alu:
      switch (static_cast<AluOp>(s.op)) {
        case AluOp::add: MX_WIDTHS(MX_NATIVE, "add") break;
        case AluOp::or_: MX_WIDTHS(MX_NATIVE, "or") break;
        case AluOp::adc: MX_WIDTHS(MX_NATIVE, "adc") break;
        case AluOp::sbb: MX_WIDTHS(MX_NATIVE, "sbb") break;
        case AluOp::and_: MX_WIDTHS(MX_NATIVE, "and") break;
        case AluOp::sub: MX_WIDTHS(MX_NATIVE, "sub") break;
        case AluOp::xor_: MX_WIDTHS(MX_NATIVE, "xor") break;
      }
      break;
    case StoreKind::bit:
      switch (static_cast<BitOp>(s.op)) {
        case BitOp::bts: MX_WIDTHS_NO_BYTE(MX_NATIVE, "bts") break;
        case BitOp::btr: MX_WIDTHS_NO_BYTE(MX_NATIVE, "btr") break;
        case BitOp::btc: MX_WIDTHS_NO_BYTE(MX_NATIVE, "btc") break;
      }
      break;
    case StoreKind::unary:
      switch (static_cast<UnaryOp>(s.op)) {
        case UnaryOp::inc: MX_WIDTHS(MX_NATIVE1, "inc") break;
        case UnaryOp::dec: MX_WIDTHS(MX_NATIVE1, "dec") break;
        case UnaryOp::not_: MX_WIDTHS(MX_NATIVE1, "not") break;
        case UnaryOp::neg: MX_WIDTHS(MX_NATIVE1, "neg") break;
      }
      break;
    default: break;
  }
  const std::uint64_t mask = width == 8 ? ~0ull : (1ull << (width * 8)) - 1;
  return dst & mask;
}

TEST(X86Decode, ReadModifyWriteMatchesTheCpu) {
  std::uint64_t seed = 0x9e3779b97f4a7c15;
  auto next = [&] {
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    return seed;
  };
  const std::uint64_t edges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffffffff, 0x80000000,
                                 0x7fffffffffffffff, 0x8000000000000000, ~0ull, 0x0f, 0x10};
  struct Form { StoreKind kind; std::uint8_t op; };
  std::vector<Form> forms;
  for (std::uint8_t op = 0; op < 7; ++op) forms.push_back({StoreKind::alu, op});
  for (std::uint8_t op = 0; op < 3; ++op) forms.push_back({StoreKind::bit, op});
  for (std::uint8_t op = 0; op < 4; ++op) forms.push_back({StoreKind::unary, op});
  forms.push_back({StoreKind::xadd, 0});
  for (const Form& form : forms) {
    for (unsigned width : {1u, 2u, 4u, 8u}) {
      if (form.kind == StoreKind::bit && width == 1) continue;  // no byte BT*
      DecodedStore s;
      s.kind = form.kind;
      s.op = form.op;
      s.width = width;
      const std::uint64_t mask = width == 8 ? ~0ull : (1ull << (width * 8)) - 1;
      for (int i = 0; i < 400; ++i) {
        const std::uint64_t a = (i < 14 ? edges[i] : next()) & mask;
        const std::uint64_t b = (i >= 14 && i < 28 ? edges[i - 14] : next()) & mask;
        // Start from flags with CF alternately set (ADC/SBB/INC/DEC/BT* read or keep it),
        // and AF/PF/ZF/SF/OF set so stale values would show.
        const std::uint64_t in_flags = 0x202 | 0x8d4 | (i & 1);
        std::uint64_t flags = in_flags;
        const std::uint64_t want = run_native(s, a, b, flags);
        const RmwResult got = read_modify_write(s, a, b, in_flags);
        ASSERT_EQ(got.value, want) << "kind " << int(form.kind) << " op " << int(form.op) << " w " << width << " a " << a << " b " << b;
        // BT* define CF only (the SDM leaves OF SF AF PF undefined; we keep them).
        const std::uint64_t defined = form.kind == StoreKind::bit ? kCarryFlag : kArithFlags;
        ASSERT_EQ(got.rflags & defined, flags & defined) << "kind " << int(form.kind) << " op " << int(form.op) << " w " << width << " a " << a << " b " << b;
      }
    }
  }
}
