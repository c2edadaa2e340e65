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
  EXPECT_FALSE(decode({0xf0, 0x48, 0x0f, 0xb3, 0x07}));          // lock btr: unsupported
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
