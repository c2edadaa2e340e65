// runtime: how a fatal error in the freestanding C++ runtime ends in the hypervisor: a panic.
#include "core/panic.hpp"
#include "freestanding.hpp"

void freestanding_fatal(const char* what) { HV_PANIC("C++ runtime: %s", what); }
