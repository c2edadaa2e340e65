// hc_console: console_io (hypercall 18), the hypervisor's debug console. Domains that may
// use it (dom0; boot-module domains by their `console_io` setting or the `console_io_domu`
// boot option) write text to the hypervisor console; others get -EPERM, as in a release Xen.
// As in Xen's guest_console_write: the privileged domain's text goes out as it comes (it may
// be interactive); an unprivileged domain's is stripped of unprintable characters and printed
// a whole line at a time behind "(dN) ", so it can neither forge nor split log lines.
#include <pv/console_io.hpp>
#include <pv/errno.hpp>

#include "format.hpp"
#include "hypercall.hpp"
#include "log.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kMaxWrite = 1u << 16;  // bound the work one hypercall can ask for

bool printable(char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; }

void write_privileged(char* chunk, std::size_t n) {
  // Control characters other than newline and tab could forge log lines: replace them.
  for (std::size_t i = 0; i < n; ++i)
    if (!printable(chunk[i]) && chunk[i] != '\n') chunk[i] = '.';
  log_raw("", chunk, n);
}

// Xen prints a held line when a newline comes or when the next piece would fill the buffer.
void write_unprivileged(Domain& d, const char* chunk, std::size_t n) {
  Domain::ConsoleLine& line = d.console_line;
  char prefix[16] = {};
  mx::format(prefix, sizeof prefix, "(d%u) ", d.id());
  for (std::size_t i = 0; i < n; ++i) {
    const bool newline = chunk[i] == '\n';
    if (!newline && printable(chunk[i])) line.text[line.length++] = chunk[i];
    if (newline || line.length == Domain::ConsoleLine::kSize - 1) {
      line.text[line.length++] = '\n';
      log_raw(prefix, line.text, line.length);
      line.length = 0;
    }
  }
}

long console_write(HypercallContext& ctx, std::uint64_t count, std::uint64_t buffer) {
  if (count > kMaxWrite) count = kMaxWrite;
  Domain& d = ctx.vcpu.domain();
  char chunk[256];
  for (std::uint64_t done = 0; done < count;) {
    std::size_t n = count - done < sizeof chunk ? static_cast<std::size_t>(count - done) : sizeof chunk;
    if (!ctx.memory.copy_from_guest(chunk, buffer + done, n).ok()) return -pv::XEN_EFAULT;
    if (d.privileged()) write_privileged(chunk, n);
    else write_unprivileged(d, chunk, n);
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
