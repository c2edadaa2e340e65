// start: C++ entry of a guest-runtime kernel, called from head.S with the start_info the
// builder prepared. Hands it to the image's guest_main; returning from it means PASS.
#include <pv/start_info.hpp>

#include "console.hpp"

void guest_main(const pv::start_info& info);

extern "C" [[noreturn]] void guest_start(const pv::start_info* info) {
  guest_main(*info);
  guest::pass();
}
