// io: the x86 instructions C++ needs (port I/O, CPUID, control registers, halting), each a
// one-line inline wrapper so no other file writes inline assembly.
#pragma once
#include <cstdint>

namespace hv::x86 {

inline void outb(std::uint16_t port, std::uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(std::uint16_t port, std::uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline void outl(std::uint16_t port, std::uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
inline std::uint8_t inb(std::uint16_t port) {
  std::uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

inline std::uint32_t inl(std::uint16_t port) {
  std::uint32_t v;
  asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

struct CpuidResult { std::uint32_t eax, ebx, ecx, edx; };
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}

inline std::uint64_t read_cr2() { std::uint64_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline std::uint64_t read_cr3() { std::uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline std::uint64_t read_cr4() { std::uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr4(std::uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (std::uint64_t{hi} << 32) | lo;
}

[[noreturn]] inline void halt_forever() {
  for (;;) asm volatile("cli; hlt");
}

}  // namespace hv::x86
