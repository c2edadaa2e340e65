// serial: polled COM1 output. Polling keeps it usable from any context, including panic.
#include "serial.hpp"

#include "io.hpp"

namespace hv::x86 {
namespace {

constexpr std::uint16_t kCom1 = 0x3F8;
constexpr std::uint8_t kLsrTxEmpty = 0x20;

void put(char c) {
  // Bounded wait: a missing UART must not hang the hypervisor.
  for (int i = 0; i < 100000 && (inb(kCom1 + 5) & kLsrTxEmpty) == 0; ++i) {
  }
  outb(kCom1, static_cast<std::uint8_t>(c));
}

}  // namespace

void serial_init() {
  outb(kCom1 + 1, 0x00);  // no interrupts
  outb(kCom1 + 3, 0x80);  // DLAB on
  outb(kCom1 + 0, 0x01);  // divisor 1: 115200 baud
  outb(kCom1 + 1, 0x00);
  outb(kCom1 + 3, 0x03);  // 8N1, DLAB off
  outb(kCom1 + 2, 0xC7);  // FIFO on, cleared
  outb(kCom1 + 4, 0x03);  // DTR, RTS
}

void serial_write(const char* text, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    if (text[i] == '\n') put('\r');
    put(text[i]);
  }
}

}  // namespace hv::x86
