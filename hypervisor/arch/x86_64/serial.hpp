// serial: the 16550 UART on COM1, the hypervisor's log device (115200 8N1, polled).
#pragma once
#include <cstddef>

namespace hv::x86 {

void serial_init();
void serial_write(const char* text, std::size_t length);

}  // namespace hv::x86
