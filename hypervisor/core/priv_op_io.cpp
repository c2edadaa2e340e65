// priv_op_io: in/out/ins/outs from a PV guest (Xen 4.17 pv/emul-priv-op.c guest_io_okay,
// admin_io_okay, guest_io_read/guest_io_write). The guest needs its virtual IOPL for any
// port; then ports granted to its domain go to the hardware, and the rest are emulated the
// way Xen does (RTC index latch, PCI CONFIG_ADDRESS, config data for the hardware domain)
// or read as all ones and swallow writes. The RTC and 0xcf8 (dword) are never direct.
#include <pv/mmu.hpp>

#include "priv_op.hpp"
#include "pv_cpu.hpp"

namespace hv::priv_op {
namespace {

constexpr unsigned kVectorPageFault = 14;
constexpr unsigned kRtcIndex = 0x70, kRtcData = 0x71, kPciAddress = 0xcf8, kPciData = 0xcfc;
constexpr std::uint64_t kRflagsDf = 1u << 10;
// ins/outs repetitions done per fault; the rest resume at the same rip (Xen instead checks
// for preemption between repetitions).
constexpr std::uint64_t kRepsPerEntry = 256;

bool admin_io_okay(const Domain& d, unsigned port, unsigned bytes) {
  if (port == kPciAddress && bytes == 4) return false;
  if (port <= kRtcData && port + bytes > kRtcIndex) return false;
  return d.io_ports.permitted(port, port + bytes - 1);
}

std::uint32_t width_mask(unsigned bytes) {
  return bytes >= 4 ? 0xffffffffu : (1u << (bytes * 8)) - 1;
}

std::uint32_t rtc_read(Domain& d, PrivOpPlatform& hw, unsigned port) {
  if (port == kRtcIndex) return d.cmos_index;
  if (!d.io_ports.permitted(kRtcIndex, kRtcData)) return ~0u;
  hw.port_out(kRtcIndex, 1, d.cmos_index & 0x7f);
  return hw.port_in(kRtcData, 1);
}

void rtc_write(Domain& d, PrivOpPlatform& hw, unsigned port, std::uint32_t value) {
  if (port == kRtcIndex) {
    d.cmos_index = static_cast<std::uint8_t>(value);
    return;
  }
  if (!d.io_ports.permitted(kRtcIndex, kRtcData)) return;
  hw.port_out(kRtcIndex, 1, d.cmos_index & 0x7f);
  hw.port_out(kRtcData, 1, value & 0xff);
}

// PCI config data: the hardware domain only, through its latched CONFIG_ADDRESS.
unsigned pci_data_size(unsigned port, unsigned bytes) {
  unsigned size = 4 - (port & 3);
  if (bytes < size) size = bytes;
  return size == 3 ? 2 : size;
}

std::uint32_t guest_io_read(Domain& d, PrivOpPlatform& hw, unsigned port, unsigned bytes) {
  if (admin_io_okay(d, port, bytes)) return hw.port_in(static_cast<std::uint16_t>(port), bytes);
  std::uint32_t data = 0;
  unsigned shift = 0;
  while (bytes != 0) {
    unsigned size = 1;
    std::uint32_t sub = ~0u;  // also the PIT ports: PV domains here have no virtual PIT
    if (port == kRtcIndex || port == kRtcData) {
      sub = rtc_read(d, hw, port);
    } else if (port == kPciAddress && bytes == 4) {
      return d.pci_cf8;
    } else if ((port & 0xfffc) == kPciData) {
      size = pci_data_size(port, bytes);
      if (d.privileged()) {
        hw.port_out(kPciAddress, 4, d.pci_cf8);
        sub = hw.port_in(static_cast<std::uint16_t>(port), size);
      }
    } else if (port != 0x42 && port != 0x43 && port != 0x61 && d.io_ports.permitted(port, port)) {
      if (bytes > 1 && !(port & 1) && d.io_ports.permitted(port, port + 1)) size = 2;
      sub = hw.port_in(static_cast<std::uint16_t>(port), size);
    }
    if (size == 4) return sub;
    data |= (sub & width_mask(size)) << shift;
    shift += size * 8;
    port += size;
    bytes -= size;
  }
  return data;
}

void guest_io_write(Domain& d, PrivOpPlatform& hw, unsigned port, unsigned bytes,
                    std::uint32_t data) {
  if (admin_io_okay(d, port, bytes)) return hw.port_out(static_cast<std::uint16_t>(port), bytes, data);
  while (bytes != 0) {
    unsigned size = 1;
    if (port == kRtcIndex || port == kRtcData) {
      rtc_write(d, hw, port, data);
    } else if (port == kPciAddress && bytes == 4) {
      d.pci_cf8 = data;
      return;
    } else if ((port & 0xfffc) == kPciData) {
      size = pci_data_size(port, bytes);
      if (d.privileged()) {
        hw.port_out(kPciAddress, 4, d.pci_cf8);
        hw.port_out(static_cast<std::uint16_t>(port), size, data & width_mask(size));
      }
    } else if (port != 0x42 && port != 0x43 && port != 0x61 && d.io_ports.permitted(port, port)) {
      if (bytes > 1 && !(port & 1) && d.io_ports.permitted(port, port + 1)) size = 2;
      hw.port_out(static_cast<std::uint16_t>(port), size, data & width_mask(size));
    }
    if (size == 4) return;
    port += size;
    bytes -= size;
    data >>= size * 8;
  }
}

void write_accumulator(GuestRegisters& r, unsigned bytes, std::uint32_t value) {
  if (bytes == 4) r.rax = value;  // a 32-bit destination zero-extends
  else r.rax = (r.rax & ~std::uint64_t{width_mask(bytes)}) | (value & width_mask(bytes));
}


IoStep string_io(HypercallContext& ctx, PrivOpPlatform& hw, const PrivOpInsn& insn, unsigned port) {
  GuestRegisters& r = ctx.regs;
  Domain& d = ctx.vcpu.domain();
  const std::uint64_t addr_mask = insn.addr32 ? 0xffffffffull : ~std::uint64_t{0};
  std::uint64_t& index = insn.kind == PrivOpKind::ins ? r.rdi : r.rsi;
  const std::uint64_t step = r.rflags & kRflagsDf ? -std::uint64_t{insn.io_bytes} : insn.io_bytes;
  std::uint64_t remaining = insn.rep ? r.rcx & addr_mask : 1;
  for (std::uint64_t done = 0; remaining != 0; ++done) {
    if (done == kRepsPerEntry) return IoStep::repeat;
    const std::uint64_t va = index & addr_mask;
    if (!guest_range_ok(va, insn.io_bytes)) return IoStep::raise_gp;
    std::uint32_t data = 0;
    if (insn.kind == PrivOpKind::ins) {
      data = guest_io_read(d, hw, port, insn.io_bytes);
      if (!ctx.memory.copy_to_guest(va, &data, insn.io_bytes).ok()) {
        deliver_exception(ctx, kVectorPageFault, true, 2, va);
        return IoStep::exception_delivered;
      }
    } else {
      if (!ctx.memory.copy_from_guest(&data, va, insn.io_bytes).ok()) {
        deliver_exception(ctx, kVectorPageFault, true, 0, va);
        return IoStep::exception_delivered;
      }
      guest_io_write(d, hw, port, insn.io_bytes, data);
    }
    index = (index & ~addr_mask) | ((index + step) & addr_mask);
    --remaining;
    if (insn.rep) r.rcx = (r.rcx & ~addr_mask) | remaining;
  }
  return IoStep::completed;
}

}  // namespace

bool iopl_ok(const Vcpu& vcpu) {
  const bool architectural =
      (vcpu.domain().memory.vm_assist >> pv::VMASST_TYPE_architectural_iopl) & 1;
  const unsigned cpl = vcpu.mm.kernel_mode ? (architectural ? 0 : 1) : 3;
  return cpl <= vcpu.pv.iopl;
}

IoStep emulate_port_io(HypercallContext& ctx, PrivOpPlatform& hw, const PrivOpInsn& insn) {
  GuestRegisters& r = ctx.regs;
  const unsigned port = insn.port_in_dx ? static_cast<std::uint16_t>(r.rdx) : insn.port;
  // Xen's guest_io_okay: the virtual IOPL (no per-guest I/O bitmap is supported here).
  if (!iopl_ok(ctx.vcpu)) return IoStep::raise_gp;
  Domain& d = ctx.vcpu.domain();
  switch (insn.kind) {
    case PrivOpKind::in:
      write_accumulator(r, insn.io_bytes, guest_io_read(d, hw, port, insn.io_bytes));
      return IoStep::completed;
    case PrivOpKind::out:
      guest_io_write(d, hw, port, insn.io_bytes,
                     static_cast<std::uint32_t>(r.rax) & width_mask(insn.io_bytes));
      return IoStep::completed;
    default:
      return string_io(ctx, hw, insn, port);
  }
}

}  // namespace hv::priv_op
