// traps: exceptions and callbacks of a guest-runtime kernel. traps.S has one entry stub per
// vector; set_trap_table() points the virtual IDT at them, and each delivery reaches the C++
// handler registered for its vector with a TrapContext: the GPRs as the stub found them
// plus the bounce frame exactly as the hypervisor wrote it. A handler may edit the frame
// (rip, rcx, r11, rflags, ...); the stub returns through the iret hypercall with it.
// A delivery nobody handles fails the test with the frame's contents.
#pragma once
#include <cstdint>
#include <initializer_list>

namespace guest {

// Pseudo-vectors of the callback entries (callback_op), beside the 256 exception vectors.
inline constexpr unsigned kSyscallVector = 0x200;
inline constexpr unsigned kEventVector = 0x201;

struct TrapContext {
  // GPRs at stub entry (rcx/r11 there are clobbered by the delivery; see frame_rcx()).
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  std::uint64_t vector_word;  // vector | has_error << 8
  std::uint64_t frame[8];     // RCX, R11, [error], RIP, CS, RFLAGS, RSP, SS

  unsigned vector() const { return static_cast<unsigned>(vector_word & ~0x100ull); }
  bool has_error() const { return (vector_word & 0x100) != 0; }
  // Index of RIP in frame[]: the words above it are the hardware-style frame.
  unsigned rip_index() const { return has_error() ? 3 : 2; }
  std::uint64_t& frame_rcx() { return frame[0]; }
  std::uint64_t& frame_r11() { return frame[1]; }
  std::uint64_t error() const { return has_error() ? frame[2] : 0; }
  std::uint64_t& rip() { return frame[rip_index()]; }
  std::uint64_t& cs() { return frame[rip_index() + 1]; }  // bits 32-39: saved upcall mask
  std::uint64_t& rflags() { return frame[rip_index() + 2]; }
  std::uint64_t& rsp() { return frame[rip_index() + 3]; }
  std::uint64_t& ss() { return frame[rip_index() + 4]; }
  // Guest VA of the bounce frame (the handler's %rsp at entry).
  std::uint64_t frame_va() const { return reinterpret_cast<std::uint64_t>(frame); }
};

using TrapHandler = void (*)(TrapContext&);

// Address of the stub for `vector` (0..255) or a pseudo-vector (kSyscallVector, ...).
std::uint64_t trap_entry(unsigned vector);

struct TrapGate {
  std::uint8_t vector;
  std::uint8_t flags;  // pv::trap_info flags: DPL in bits 0-1, TI_IF_FLAG
};
// Installs stubs for the listed vectors with set_trap_table; returns its result.
long set_trap_table(std::initializer_list<TrapGate> gates);

void set_trap_handler(unsigned vector, TrapHandler handler);

// Routes event upcalls to `handler` and registers the event callback (CALLBACKOP_register,
// CALLBACKTYPE_event); returns the hypercall's result.
long set_event_callback(TrapHandler handler);

// Blocks vCPU 0 until the event callback has raised `counter` to `target` (Linux's pattern:
// mask, re-check, SCHEDOP_block, which unmasks and sleeps only if nothing is pending; the
// event is delivered on the way out). Fails the guest after `max_wakeups` wake-ups without it.
// Leaves upcalls unmasked.
void block_until(const volatile unsigned& counter, unsigned target, unsigned max_wakeups);

// A copy of the last delivery taken by the catch handler (expect_trap).
struct TrapRecord {
  unsigned vector;
  bool has_error;
  std::uint64_t error, rip, cs, rflags, rsp, ss, frame_rcx, frame_r11, frame_va;
  std::uint64_t rax, rbx, rdx, rsi, rdi, rbp, r8, r9, r10, r12, r13, r14, r15;
};
extern TrapRecord last_trap;
extern unsigned trap_count;  // deliveries taken by the catch handler

inline constexpr unsigned kAnyVector = ~1u;
// Arms the catch handler for `vector` (kAnyVector: whichever vector routed to it next): the next delivery there is recorded in last_trap
// and resumes at `resume` (the frame's rip is replaced). A second delivery before re-arming
// fails the test.
void expect_trap(unsigned vector, std::uint64_t resume);
// The catch handler itself, for handlers that look at something first and then record.
void catch_trap(TrapContext& ctx);

}  // namespace guest
