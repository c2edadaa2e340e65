// nmi: virtual NMIs (VCPUOP_send_nmi and the NMI callback, Xen's process_nmi). Without a
// callback an NMI is accepted and dropped; with one (registered as Linux does, through
// CALLBACKOP_register) it is bounced on the way out of the send_nmi hypercall with a plain
// exception frame (no error code) and events masked; an NMI sent from inside the callback
// waits until the callback's HYPERVISOR_iret and then interrupts the same place again.
// Errors: an unknown vCPU is -ENOENT, a non-null argument -EINVAL.
#include <pv/arch_x86_64.hpp>
#include <pv/callback.hpp>
#include <pv/errno.hpp>
#include <pv/hypercall.hpp>
#include <pv/shared_info.hpp>
#include <pv/start_info.hpp>
#include <pv/vcpu.hpp>

#include "console.hpp"
#include "hypercall.hpp"
#include "mm.hpp"
#include "traps.hpp"

namespace {
using guest::fail;

constexpr std::uint64_t kRflagsIF = 1u << 9;
constexpr std::uint64_t kKernelCs = pv::FLAT_KERNEL_CS & ~3u;  // RPL 0: "from kernel"

struct NmiSeen {
  std::uint64_t rip, cs, rflags, ss, rax;
  std::uint8_t mask_inside;  // evtchn_upcall_mask while the callback ran
  bool has_error;
};

volatile unsigned nmi_count;
NmiSeen seen[4];
volatile bool send_from_callback;
volatile long nested_rc = 1;
volatile unsigned count_after_nested_send;

long send_nmi(std::uint64_t vcpu, std::uint64_t arg = 0) {
  return guest::hypercall<pv::hypercall::vcpu_op>(pv::VCPUOP_send_nmi, vcpu, arg);
}

void nmi_handler(guest::TrapContext& ctx) {
  const unsigned n = nmi_count;
  if (n < 4)
    seen[n] = NmiSeen{ctx.rip(), ctx.cs(), ctx.rflags(), ctx.ss(), ctx.rax,
                      guest::mm::vcpu0().evtchn_upcall_mask, ctx.has_error()};
  nmi_count = n + 1;
  if (send_from_callback) {
    send_from_callback = false;
    nested_rc = send_nmi(0);
    count_after_nested_send = nmi_count;  // must still be n + 1: NMIs are masked in here
  }
}

std::uint64_t page_entry(unsigned number) {
  return reinterpret_cast<std::uint64_t>(hypercall_page) + number * 32;
}

void check_frame(const char* what, const NmiSeen& s, std::uint8_t mask_before) {
  const std::uint64_t entry = page_entry(pv::hypercall::vcpu_op);
  if (s.rip < entry || s.rip >= entry + 32)
    fail("%s: frame rip %#lx is not in the vcpu_op hypercall stub (%#lx)", what, s.rip, entry);
  if (s.has_error) fail("%s: the NMI frame has an error code", what);
  if (s.cs != (kKernelCs | std::uint64_t{mask_before} << 32))
    fail("%s: frame cs %#lx, expected %#lx", what, s.cs, kKernelCs | std::uint64_t{mask_before} << 32);
  if ((s.rflags & kRflagsIF) != (mask_before ? 0 : kRflagsIF))
    fail("%s: frame rflags %#lx: IF must be !mask (%u)", what, s.rflags, mask_before);
  if (s.ss != pv::FLAT_KERNEL_SS) fail("%s: frame ss %#lx", what, s.ss);
  if (s.rax != 0) fail("%s: the interrupted rax (send_nmi's result) is %#lx, expected 0", what, s.rax);
  if (s.mask_inside != 1) fail("%s: events not masked in the NMI callback", what);
}

long register_nmi_callback(std::uint64_t address) {
  pv::callback_register reg{pv::CALLBACKTYPE_nmi, pv::CALLBACKF_mask_events, 0, address};
  return guest::hypercall<pv::hypercall::callback_op>(pv::CALLBACKOP_register,
                                                       reinterpret_cast<std::uint64_t>(&reg));
}

}  // namespace

void guest_main(const pv::start_info& info) {
  guest::mm::init(info);  // maps shared_info, where vcpu_info[0] is
  guest::set_trap_handler(2, nmi_handler);
  pv::vcpu_info& vi = guest::mm::vcpu0();

  // No callback: accepted, and the NMI is gone (registering later does not bring it back).
  GUEST_CHECK(send_nmi(0) == 0);
  GUEST_CHECK(nmi_count == 0);
  GUEST_CHECK(register_nmi_callback(guest::trap_entry(2)) == 0);
  GUEST_CHECK(guest::hypercall<pv::hypercall::xen_version>(0, 0) > 0);
  if (nmi_count != 0) fail("an NMI sent without a callback was delivered later");

  // Refusals, nothing delivered.
  if (long rc = send_nmi(64); rc != -pv::XEN_ENOENT) fail("send_nmi to vCPU 64: %ld, expected -ENOENT", rc);
  std::uint64_t dummy = 0;
  if (long rc = send_nmi(0, reinterpret_cast<std::uint64_t>(&dummy)); rc != -pv::XEN_EINVAL)
    fail("send_nmi with an argument: %ld, expected -EINVAL", rc);
  if (nmi_count != 0) fail("a refused send_nmi delivered an NMI");

  // One NMI, delivered on the way out of the hypercall, once.
  const std::uint8_t mask = vi.evtchn_upcall_mask;
  if (long rc = send_nmi(0); rc != 0) fail("send_nmi: %ld", rc);
  if (nmi_count != 1) fail("send_nmi: the callback ran %u times, expected once", nmi_count);
  check_frame("first NMI", seen[0], mask);
  if (vi.evtchn_upcall_mask != mask) fail("the upcall mask was not restored by the iret");

  // An NMI sent from inside the callback waits for its iret, then interrupts the same place.
  send_from_callback = true;
  if (long rc = send_nmi(0); rc != 0) fail("send_nmi (nesting): %ld", rc);
  if (nested_rc != 0) fail("send_nmi from the callback: %ld", nested_rc);
  if (count_after_nested_send != 2) fail("the NMI sent from the callback nested into it");
  if (nmi_count != 3) fail("nesting: the callback ran %u times, expected 3", nmi_count);
  check_frame("NMI before nesting", seen[1], mask);
  check_frame("NMI deferred to the iret", seen[2], mask);
  if (seen[2].rip != seen[1].rip) fail("the deferred NMI interrupted %#lx, not %#lx", seen[2].rip, seen[1].rip);

  // Unregistered again: accepted and dropped.
  pv::callback_unregister unreg{pv::CALLBACKTYPE_nmi, 0};
  GUEST_CHECK(guest::hypercall<pv::hypercall::callback_op>(pv::CALLBACKOP_unregister,
                                                           reinterpret_cast<std::uint64_t>(&unreg)) == 0);
  GUEST_CHECK(send_nmi(0) == 0);
  if (nmi_count != 3) fail("an NMI was delivered after the callback was unregistered");
  guest::print("nmi: %u NMIs delivered, frames as Xen's process_nmi\n", nmi_count);
}
