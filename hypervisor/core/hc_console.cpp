// hc_console: console_io (hypercall 18), the hypervisor's debug console. Domains that may
// use it (dom0; others only by the guest_console_io boot option, as a debug Xen allows)
// write text to the hypervisor console; others get -EPERM, as in a release Xen.
#include <pv/console_io.hpp>
#include <pv/errno.hpp>

#include "format.hpp"
#include "hypercall.hpp"
#include "log.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kMaxWrite = 1u << 16;  // bound the work one hypercall can ask for

long console_write(HypercallContext& ctx, std::uint64_t count, std::uint64_t buffer) {
  if (count > kMaxWrite) count = kMaxWrite;
  const Domain& d = ctx.vcpu.domain();
  char prefix[16] = {};
  if (!d.privileged()) mx::format(prefix, sizeof prefix, "(d%u) ", d.id());
  char chunk[256];
  for (std::uint64_t done = 0; done < count;) {
    std::size_t n = count - done < sizeof chunk ? static_cast<std::size_t>(count - done) : sizeof chunk;
    if (!ctx.memory.copy_from_guest(chunk, buffer + done, n).ok()) return -pv::XEN_EFAULT;
    // Control characters other than newline and tab could forge log lines: replace them.
    for (std::size_t i = 0; i < n; ++i)
      if ((static_cast<unsigned char>(chunk[i]) < 0x20 && chunk[i] != '\n' && chunk[i] != '\t') || chunk[i] == 0x7f)
        chunk[i] = '.';
    log_raw(prefix, chunk, n);
    done += n;
  }
  return 0;
}

}  // namespace

long do_console_io(HypercallContext& ctx, const HypercallArgs& args) {
  if (!ctx.vcpu.domain().console_io_allowed) return -pv::XEN_EPERM;
  switch (args.a1) {
    case pv::CONSOLEIO_write:
      return console_write(ctx, args.a2, args.a3);
    case pv::CONSOLEIO_read:
      return 0;  // no console input is routed to the hypervisor console yet
    default:
      return -pv::XEN_ENOSYS;
  }
}

}  // namespace hv
