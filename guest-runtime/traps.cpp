// traps: the C++ side of traps.S — the virtual IDT, handler registration, the dispatcher
// and the record-and-resume catch handler that tests use to provoke one trap at a time.
#include "traps.hpp"

#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/hypercall.hpp>
#include <pv/sched.hpp>
#include <pv/shared_info.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"

extern "C" char guest_trap_entries[];
extern "C" char guest_syscall_entry[];
extern "C" char guest_event_entry[];

namespace guest {

TrapRecord last_trap;
unsigned trap_count;

namespace {
constexpr unsigned kEntryStride = 16;  // traps.S ENTRY_STRIDE
constexpr unsigned kPseudoVectors = 2;
TrapHandler handlers[256 + kPseudoVectors];

unsigned slot(unsigned vector) { return vector < 256 ? vector : 256 + (vector - kSyscallVector); }

unsigned armed_vector = ~0u;
std::uint64_t armed_resume;
}  // namespace

void catch_trap(TrapContext& ctx) {
  if (ctx.vector() != armed_vector && armed_vector != kAnyVector)
    fail("vector %u at rip %#lx: not armed (armed: %u)", ctx.vector(), ctx.rip(), armed_vector);
  TrapRecord& r = last_trap;
  r = TrapRecord{ctx.vector(), ctx.has_error(), ctx.error(), ctx.rip(), ctx.cs(), ctx.rflags(),
                 ctx.rsp(), ctx.ss(), ctx.frame_rcx(), ctx.frame_r11(), ctx.frame_va(),
                 ctx.rax, ctx.rbx, ctx.rdx, ctx.rsi, ctx.rdi, ctx.rbp, ctx.r8, ctx.r9, ctx.r10,
                 ctx.r12, ctx.r13, ctx.r14, ctx.r15};
  ++trap_count;
  ctx.rip() = armed_resume;
  armed_vector = ~0u;
}

std::uint64_t trap_entry(unsigned vector) {
  if (vector == kSyscallVector) return reinterpret_cast<std::uint64_t>(guest_syscall_entry);
  if (vector == kEventVector) return reinterpret_cast<std::uint64_t>(guest_event_entry);
  return reinterpret_cast<std::uint64_t>(guest_trap_entries) + vector * kEntryStride;
}

long set_trap_table(std::initializer_list<TrapGate> gates) {
  pv::trap_info table[257] = {};  // ends at the first zero address
  unsigned n = 0;
  for (const TrapGate& g : gates) {
    if (n == 256) break;
    table[n++] = pv::trap_info{g.vector, g.flags, pv::FLAT_KERNEL_CS, 0, trap_entry(g.vector)};
  }
  return hypercall<pv::hypercall::set_trap_table>(reinterpret_cast<std::uint64_t>(table));
}

void set_trap_handler(unsigned vector, TrapHandler handler) { handlers[slot(vector)] = handler; }

void expect_trap(unsigned vector, std::uint64_t resume) {
  armed_vector = vector;
  armed_resume = resume;
  if (vector != kAnyVector) set_trap_handler(vector, catch_trap);
}

long set_event_callback(TrapHandler handler) {
  set_trap_handler(kEventVector, handler);
  pv::callback_register cb{pv::CALLBACKTYPE_event, 0, 0, trap_entry(kEventVector)};
  return hypercall<pv::hypercall::callback_op>(pv::CALLBACKOP_register, reinterpret_cast<std::uint64_t>(&cb));
}

void block_until(const volatile unsigned& counter, unsigned target, unsigned max_wakeups) {
  std::uint8_t& mask = mm::vcpu0().evtchn_upcall_mask;
  for (unsigned wakeups = 0; counter < target; ++wakeups) {
    if (wakeups > max_wakeups) fail("no event after %u wakeups (have %u, want %u)", wakeups, counter + 0, target);
    __atomic_store_n(&mask, std::uint8_t{1}, __ATOMIC_SEQ_CST);
    if (counter >= target) break;
    const long rc = hypercall<pv::hypercall::sched_op>(pv::SCHEDOP_block, 0);
    if (rc != 0) fail("sched_op(block) returned %ld", rc);
  }
  __atomic_store_n(&mask, std::uint8_t{0}, __ATOMIC_SEQ_CST);
}

}  // namespace guest

extern "C" void guest_trap_dispatch(guest::TrapContext* ctx) {
  unsigned v = ctx->vector();
  guest::TrapHandler h = guest::handlers[guest::slot(v)];
  if (h == nullptr)
    guest::fail("unexpected trap: vector %u error %#lx rip %#lx cs %#lx rflags %#lx rsp %#lx", v,
                ctx->error(), ctx->rip(), ctx->cs(), ctx->rflags(), ctx->rsp());
  h(*ctx);
}

extern "C" void guest_failsafe(const std::uint64_t* frame) {
  guest::fail("failsafe callback: rcx %#lx r11 %#lx ds %#lx es %#lx fs %#lx gs %#lx rip %#lx",
              frame[0], frame[1], frame[2], frame[3], frame[4], frame[5], frame[6]);
}
