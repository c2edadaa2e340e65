// cxx_support: what libstdc++'s headers and the C++ ABI may call in an image without
// exceptions. Each can only mean a bug in the image, so each ends in the image's own
// freestanding_fatal() (the hypervisor panics; a guest reports and shuts down).
#include "freestanding.hpp"

extern "C" void __cxa_pure_virtual() { freestanding_fatal("pure virtual call"); }

namespace std {
[[noreturn]] void __throw_out_of_range_fmt(const char*, ...) { freestanding_fatal("out of range"); }
[[noreturn]] void __throw_out_of_range(const char*) { freestanding_fatal("out of range"); }
[[noreturn]] void __throw_bad_optional_access() { freestanding_fatal("bad optional access"); }
[[noreturn]] void __throw_length_error(const char*) { freestanding_fatal("length error"); }
[[noreturn]] void __throw_logic_error(const char*) { freestanding_fatal("logic error"); }
}  // namespace std
