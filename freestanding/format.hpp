// format: a small, allocation-free printf for freestanding images (the hypervisor log, guest
// consoles) and their hosted unit tests. Never writes past the buffer it is given.
#pragma once
#include <cstdarg>
#include <cstddef>

namespace mx {

// Formats like vsnprintf: supports %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#',
// width and precision (also '*'), and length modifiers hh h l ll z t j.
// Always NUL-terminates when size > 0; returns the length the full output would have had.
int format_v(char* buf, std::size_t size, const char* fmt, va_list args);

int format(char* buf, std::size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace mx
