// console_io (xen.h, hypercall 18): the hypervisor debug console. Output from a domU is
// guest-controlled text: rate-limit it and prefix the domain id before it reaches COM1.
#pragma once

namespace pv {

inline constexpr unsigned CONSOLEIO_write = 0; // (cmd, count, buffer): print count bytes
inline constexpr unsigned CONSOLEIO_read = 1;  // (cmd, count, buffer): read input (dom0)

}  // namespace pv
