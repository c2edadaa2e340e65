// smp: a PV kernel with 4 vCPUs (dom0_max_vcpus=4) as Xen 4.17 runs one. vCPU 0 checks the
// life-cycle rules (is_up, up before initialise, a context with a bad root, initialise
// twice), brings vCPUs 1-3 up on their own stacks and the same page tables, then: 100 IPI
// round trips with each (both sides blocking in SCHEDOP_block between events); a TLB
// shootdown where every other vCPU reads a page until vCPU 0 unmaps it with
// UVMF_INVLPG|UVMF_ALL, after which each read must fault; the same with MMUEXT_INVLPG_MULTI
// naming vCPUs 1-2 and then MMUEXT_TLB_FLUSH_MULTI naming vCPU 3; finally vCPUs 1-3 take
// themselves down. Written for true parallelism: shared state is atomic, no step assumes an
// order between vCPUs, and every wait has a deadline that fails the test naming what it was.
#include <pv/errno.hpp>
#include <pv/event_channel.hpp>
#include <pv/hypercall.hpp>
#include <pv/mmu.hpp>
#include <pv/sched.hpp>
#include <pv/vcpu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "smp.hpp"
#include "traps.hpp"

namespace {

using guest::hypercall;
using guest::smp::current_vcpu;
namespace hc = pv::hypercall;

constexpr unsigned kVcpus = 4;
constexpr unsigned kRounds = 100;
constexpr unsigned kReads = 3;                                  // reads before an unmap
constexpr std::uint64_t kTimeoutNs = 60'000'000'000ull;         // any one wait (TCG is slow)
constexpr std::uint64_t kBlockSliceNs = 20'000'000;             // a block's timer bound
constexpr std::uint64_t kMagic = 0x5350'4d54'4553'5431ull;
const std::initializer_list<guest::TrapGate> kGates = {{6, 0}, {13, 0}, {14, 0}};

// Phases vCPU 0 announces; the other vCPUs follow.
enum Phase : unsigned {
  kStart, kReadAll, kUnmappedAll, kReadMulti, kUnmappedMulti, kFlushedMulti, kDone
};

unsigned phase = kStart;
std::uint64_t test_va = 0;
std::uint32_t ipi_port[kVcpus] = {};
std::uint64_t own_ports[kVcpus] = {};   // ports (all < 64) whose events go to each vCPU
unsigned ready[kVcpus] = {};            // vCPU n bound its ports
unsigned ipis[kVcpus] = {};             // IPIs vCPU n's handler took
unsigned replies[kVcpus] = {};          // the last round vCPU n answered
unsigned reads[kVcpus] = {};            // successful reads of test_va in the current phase
unsigned acks[kVcpus] = {};             // the last phase vCPU n finished checking
unsigned long vcpumask = 0;             // for the *_MULTI operations

template <typename T> T load(const T& x) { return __atomic_load_n(&x, __ATOMIC_ACQUIRE); }
template <typename T> void store(T& x, T v) { __atomic_store_n(&x, v, __ATOMIC_RELEASE); }

// A read of `va` that may fault: the #PF handler resumes at smp_try_read_resume with
// faulted = 1 (rdx) when the fault is at smp_try_read_insn on test_va.
struct ReadResult {
  std::uint64_t value, faulted;
};
extern "C" ReadResult smp_try_read(std::uint64_t va);
extern "C" char smp_try_read_insn[], smp_try_read_resume[];
asm(R"(
        .pushsection .text
        .globl smp_try_read, smp_try_read_insn, smp_try_read_resume
smp_try_read:
        xor     %edx, %edx
smp_try_read_insn:
        mov     (%rdi), %rax
smp_try_read_resume:
        ret
        .popsection
)");

void on_page_fault(guest::TrapContext& ctx) {
  const unsigned id = current_vcpu();
  const std::uint64_t cr2 = guest::smp::vcpu_info(id).arch.cr2;
  if (ctx.rip() != reinterpret_cast<std::uint64_t>(smp_try_read_insn) || cr2 != load(test_va))
    guest::fail("vCPU %u: unexpected #PF at rip %#lx, cr2 %#lx, error %#lx", id, ctx.rip(), cr2, ctx.error());
  ctx.rdx = 1;
  ctx.rip() = reinterpret_cast<std::uint64_t>(smp_try_read_resume);
}

// The 2-level upcall for this vCPU: only its own ports are taken (another vCPU's pending
// bits in the same word are left for it).
void on_event(guest::TrapContext&) {
  const unsigned id = current_vcpu();
  pv::vcpu_info& vi = guest::smp::vcpu_info(id);
  pv::shared_info& si = guest::mm::shared_info();
  __atomic_store_n(&vi.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  const std::uint64_t sel = __atomic_exchange_n(&vi.evtchn_pending_sel, std::uint64_t{0}, __ATOMIC_SEQ_CST);
  if ((sel & 1) == 0) return;  // our ports are all in word 0
  const std::uint64_t mine = load(own_ports[id]) & ~__atomic_load_n(&si.evtchn_mask[0], __ATOMIC_SEQ_CST);
  const std::uint64_t taken = __atomic_fetch_and(&si.evtchn_pending[0], ~mine, __ATOMIC_SEQ_CST) & mine;
  if ((taken >> ipi_port[id]) & 1) __atomic_fetch_add(&ipis[id], 1u, __ATOMIC_SEQ_CST);
}

long evtchn_op(unsigned cmd, void* arg) { return hypercall<hc::event_channel_op>(cmd, reinterpret_cast<std::uint64_t>(arg)); }

void expect_rc(const char* what, long got, long want) {
  if (got != want) guest::fail("vCPU %u: %s returned %ld, expected %ld", current_vcpu(), what, got, want);
}

// Binds this vCPU's timer VIRQ (to bound its blocks) and its IPI port.
void bind_ports(unsigned id) {
  pv::evtchn_bind_virq timer{pv::VIRQ_TIMER, id, 0};
  expect_rc("EVTCHNOP_bind_virq(VIRQ_TIMER)", evtchn_op(pv::EVTCHNOP_bind_virq, &timer), 0);
  pv::evtchn_bind_ipi ipi{id, 0};
  expect_rc("EVTCHNOP_bind_ipi", evtchn_op(pv::EVTCHNOP_bind_ipi, &ipi), 0);
  if (timer.port >= 64 || ipi.port >= 64) guest::fail("vCPU %u: ports %u/%u beyond word 0", id, timer.port, ipi.port);
  store(ipi_port[id], ipi.port);
  store(own_ports[id], (std::uint64_t{1} << timer.port) | (std::uint64_t{1} << ipi.port));
  store(ready[id], 1u);
}

void send(std::uint32_t port) {
  pv::evtchn_send s{port};
  expect_rc("EVTCHNOP_send", evtchn_op(pv::EVTCHNOP_send, &s), 0);
}

// Waits for done() with this vCPU's events masked while checking and enabled while blocked
// (SCHEDOP_block returns at once if an event came in between); a one-shot timer bounds
// each block so the deadline is always seen.
template <typename F> void wait_blocking(const char* what, F done) {
  const unsigned id = current_vcpu();
  std::uint8_t& mask = guest::smp::vcpu_info(id).evtchn_upcall_mask;
  const std::uint64_t deadline = guest::smp::now_ns(id) + kTimeoutNs;
  for (;;) {
    __atomic_store_n(&mask, std::uint8_t{1}, __ATOMIC_SEQ_CST);
    if (done()) break;
    const std::uint64_t now = guest::smp::now_ns(id);
    if (now > deadline) guest::fail("vCPU %u: timed out waiting for %s", id, what);
    expect_rc("set_timer_op", hypercall<hc::set_timer_op>(now + kBlockSliceNs), 0);
    expect_rc("SCHEDOP_block", hypercall<hc::sched_op>(pv::SCHEDOP_block, 0), 0);
  }
  __atomic_store_n(&mask, std::uint8_t{0}, __ATOMIC_SEQ_CST);
}

// Waits for done(), yielding the CPU in between (vCPUs may share one pCPU).
template <typename F> void wait_yielding(const char* what, F done) {
  const unsigned id = current_vcpu();
  const std::uint64_t deadline = guest::smp::now_ns(id) + kTimeoutNs;
  while (!done()) {
    if (guest::smp::now_ns(id) > deadline) guest::fail("vCPU %u: timed out waiting for %s", id, what);
    (void)hypercall<hc::sched_op>(pv::SCHEDOP_yield, 0);
  }
}

// One TLB round on vCPU `id`: read test_va until vCPU 0 announces `unmapped` (a read that
// faults before is fine: the unmap raced with it), then one read that must fault, unless
// `must_fault` is false (a vCPU the flush did not name: either outcome is allowed).
void tlb_round(unsigned id, Phase reading, Phase unmapped, bool must_fault) {
  wait_yielding("the page to be mapped", [&] { return load(phase) >= reading; });
  for (;;) {
    const bool announced = load(phase) >= unmapped;
    const ReadResult r = smp_try_read(load(test_va));
    if (announced) {
      if (must_fault && r.faulted == 0)
        guest::fail("vCPU %u: read %#lx at %#lx after the flush (stale TLB entry)", id, r.value, load(test_va));
      break;
    }
    if (r.faulted == 0) {
      if (r.value != kMagic) guest::fail("vCPU %u: read %#lx instead of the page's %#lx", id, r.value, kMagic);
      __atomic_fetch_add(&reads[id], 1u, __ATOMIC_SEQ_CST);
    }
    (void)hypercall<hc::sched_op>(pv::SCHEDOP_yield, 0);
  }
  store(acks[id], static_cast<unsigned>(unmapped));
}

extern "C" [[noreturn]] void secondary_main(unsigned id) {
  if (current_vcpu() != id) guest::fail("vCPU %u started on the stack of vCPU %u", id, current_vcpu());
  bind_ports(id);
  wait_yielding("vCPU 0's IPI port", [] { return load(ready[0]) != 0; });
  for (unsigned r = 1; r <= kRounds; ++r) {
    wait_blocking("an IPI from vCPU 0", [&] { return load(ipis[id]) >= r; });
    store(replies[id], r);
    send(load(ipi_port[0]));
  }
  tlb_round(id, kReadAll, kUnmappedAll, true);
  tlb_round(id, kReadMulti, kUnmappedMulti, id == 1 || id == 2);
  if (id == 3) tlb_round(id, kUnmappedMulti, kFlushedMulti, true);
  wait_yielding("the end of the test", [] { return load(phase) >= kDone; });
  guest::smp::vcpu_op(pv::VCPUOP_down, id);
  guest::fail("vCPU %u: VCPUOP_down on itself returned", id);
}

void secondary_entry(unsigned id) { secondary_main(id); }

void check_life_cycle() {
  expect_rc("is_up(0)", guest::smp::vcpu_op(pv::VCPUOP_is_up, 0), 1);
  for (unsigned id = 1; id < kVcpus; ++id) expect_rc("is_up(1..3)", guest::smp::vcpu_op(pv::VCPUOP_is_up, id), 0);
  expect_rc("is_up(4)", guest::smp::vcpu_op(pv::VCPUOP_is_up, kVcpus), -pv::XEN_ENOENT);
  expect_rc("up(1) before initialise", guest::smp::vcpu_op(pv::VCPUOP_up, 1), -pv::XEN_EINVAL);
  static pv::vcpu_guest_context ctx;
  // A root that is no L4 of ours: a data page mapped writable (Xen: get_page_type fails).
  alignas(4096) static std::uint64_t data_page[512];
  data_page[0] = 1;
  guest::smp::make_context(ctx, 1, secondary_entry, kGates);
  ctx.ctrlreg[3] = guest::mm::virt_to_mfn(data_page) << 12;
  expect_rc("initialise(1) with a data page as root", guest::smp::vcpu_op(pv::VCPUOP_initialise, 1, &ctx), -pv::XEN_EINVAL);
  guest::smp::make_context(ctx, 1, secondary_entry, kGates);
  ctx.user_regs.rip = 0x0000800000000000ull;
  expect_rc("initialise(1) with a non-canonical rip", guest::smp::vcpu_op(pv::VCPUOP_initialise, 1, &ctx), -pv::XEN_EINVAL);
  expect_rc("is_up(1) after refused contexts", guest::smp::vcpu_op(pv::VCPUOP_is_up, 1), 0);
  for (unsigned id = 1; id < kVcpus; ++id) {
    guest::smp::make_context(ctx, id, secondary_entry, kGates);
    expect_rc("initialise", guest::smp::vcpu_op(pv::VCPUOP_initialise, id, &ctx), 0);
  }
  expect_rc("initialise(2) again", guest::smp::vcpu_op(pv::VCPUOP_initialise, 2, &ctx), -pv::XEN_EEXIST);
  expect_rc("is_up(3) before up", guest::smp::vcpu_op(pv::VCPUOP_is_up, 3), 0);
  guest::print("life cycle: is_up, up before initialise (-EINVAL), bad root (-EINVAL), -EEXIST: ok\n");
}

void ipi_round_trips() {
  for (unsigned r = 1; r <= kRounds; ++r) {
    for (unsigned id = 1; id < kVcpus; ++id) send(load(ipi_port[id]));
    wait_blocking("IPI replies", [&] {
      for (unsigned id = 1; id < kVcpus; ++id)
        if (load(replies[id]) < r) return false;
      return true;
    });
  }
  for (unsigned id = 1; id < kVcpus; ++id)
    if (load(ipis[id]) != kRounds) guest::fail("vCPU %u took %u IPIs, expected %u", id, load(ipis[id]), kRounds);
  if (load(ipis[0]) == 0) guest::fail("vCPU 0 took no reply IPI");
  guest::print("IPIs: %u round trips with each of vCPUs 1-3 (vCPU 0 took %u upcalls for replies)\n", kRounds, load(ipis[0]));
}

// Announces `reading` with the page mapped, waits until vCPUs `readers` read it, unmaps it
// with `unmap` (which flushes as it must), announces `unmapped` and waits for the checks.
template <typename Unmap>
void shootdown(Phase reading, Phase unmapped, std::uint64_t pte, std::initializer_list<unsigned> readers, Unmap unmap) {
  for (unsigned id = 1; id < kVcpus; ++id) store(reads[id], 0u);
  expect_rc("map the test page", guest::mm::update_va(load(test_va), pte, pv::UVMF_INVLPG), 0);
  store(phase, static_cast<unsigned>(reading));
  wait_yielding("every vCPU to read the page", [&] {
    for (unsigned id : readers)
      if (load(reads[id]) < kReads) return false;
    return true;
  });
  unmap();
  store(phase, static_cast<unsigned>(unmapped));
  wait_yielding("every vCPU to check the unmapped page", [&] {
    for (unsigned id : readers)
      if (load(acks[id]) < static_cast<unsigned>(unmapped)) return false;
    return true;
  });
}

long mmuext_multi(unsigned cmd, std::uint64_t va, unsigned long mask) {
  store(vcpumask, mask);
  pv::mmuext_op op{};
  op.cmd = cmd;
  op.arg1.linear_addr = va;
  op.arg2.vcpumask.p = reinterpret_cast<std::uint64_t>(&vcpumask);
  return hypercall<hc::mmuext_op>(reinterpret_cast<std::uint64_t>(&op), 1, 0, pv::DOMID_SELF);
}

void tlb_shootdowns() {
  const std::uint64_t frame = guest::mm::alloc_frame();
  guest::mm::write_frame(frame, 0, kMagic);
  void* window = guest::mm::map_window(frame, guest::mm::PTE_P);
  if (window == nullptr) guest::fail("cannot map the test page");
  const std::uint64_t va = reinterpret_cast<std::uint64_t>(window);
  const std::uint64_t pte = guest::mm::entry_value(va, 1);
  store(test_va, va);
  shootdown(kReadAll, kUnmappedAll, pte, {1, 2, 3}, [&] {
    expect_rc("update_va_mapping(va, 0, UVMF_INVLPG|UVMF_ALL)", guest::mm::update_va(va, 0, pv::UVMF_INVLPG | pv::UVMF_ALL), 0);
  });
  guest::print("TLB: UVMF_INVLPG|UVMF_ALL: vCPUs 1-3 fault on the unmapped page\n");
  shootdown(kReadMulti, kUnmappedMulti, pte, {1, 2, 3}, [&] {
    expect_rc("update_va_mapping(va, 0, UVMF_NONE)", guest::mm::update_va(va, 0, pv::UVMF_NONE), 0);
    expect_rc("MMUEXT_INVLPG_MULTI {1,2}", mmuext_multi(pv::MMUEXT_INVLPG_MULTI, va, 0b110), 0);
  });
  // vCPU 3 was not named: now a full flush of vCPU 3 alone must end its translation too.
  expect_rc("MMUEXT_TLB_FLUSH_MULTI {3}", mmuext_multi(pv::MMUEXT_TLB_FLUSH_MULTI, 0, 0b1000), 0);
  store(phase, static_cast<unsigned>(kFlushedMulti));
  wait_yielding("vCPU 3 to check after TLB_FLUSH_MULTI", [] { return load(acks[3]) >= kFlushedMulti; });
  guest::print("TLB: MMUEXT_INVLPG_MULTI {1,2} and MMUEXT_TLB_FLUSH_MULTI {3}: the named vCPUs fault\n");
  guest::mm::unmap_window(window);
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);
  expect_rc("set_trap_table", guest::set_trap_table(kGates), 0);
  guest::set_trap_handler(14, on_page_fault);
  expect_rc("set_event_callback", guest::set_event_callback(on_event), 0);
  bind_ports(0);
  check_life_cycle();
  for (unsigned id = 1; id < kVcpus; ++id) expect_rc("VCPUOP_up", guest::smp::vcpu_op(pv::VCPUOP_up, id), 0);
  for (unsigned id = 1; id < kVcpus; ++id) expect_rc("is_up after up", guest::smp::vcpu_op(pv::VCPUOP_is_up, id), 1);
  wait_yielding("vCPUs 1-3 to bind their ports", [] { return load(ready[1]) && load(ready[2]) && load(ready[3]); });
  ipi_round_trips();
  tlb_shootdowns();
  store(phase, static_cast<unsigned>(kDone));
  wait_yielding("vCPUs 1-3 to go down", [] {
    for (unsigned id = 1; id < kVcpus; ++id)
      if (guest::smp::vcpu_op(pv::VCPUOP_is_up, id) != 0) return false;
    return true;
  });
  guest::print("vCPUs 1-3 took themselves down (VCPUOP_down); vCPU 0 is the last one up\n");
}
