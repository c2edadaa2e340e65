// start: the first C++ the hypervisor runs (called from boot.S in long mode, upper half).
// It brings up the log, reports the machine (CPU, memory map, boot modules, ACPI), starts
// the other CPUs, and builds and runs the boot domains. Loader data is parsed by the portable core; this file only wires it up.
#include "core/acpi.hpp"
#include "core/boot_info.hpp"
#include "core/cmdline.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "context.hpp"
#include "cpu.hpp"
#include "ipi.hpp"
#include "boot_domains.hpp"
#include "io.hpp"
#include "layout.hpp"
#include "m2p.hpp"
#include "memory.hpp"
#include "mm.hpp"
#include "power.hpp"
#include "gdt.hpp"
#include "percpu.hpp"
#include "pv_cpu_platform.hpp"
#include "selftest.hpp"
#include "serial.hpp"
#include "smp.hpp"
#include "state.hpp"
#include "syscall.hpp"
#include "time.hpp"
#include "timer_irq.hpp"
#include "trap_frame.hpp"

namespace hv::x86 {
namespace {

// Reads machine memory through the boot direct map (the first 4 GiB).
class DirectMapMemory final : public PhysicalMemory {
 public:
  const void* view(std::uint64_t paddr, std::uint64_t size) const override {
    if (paddr >= HV_BOOT_DIRECTMAP_SIZE || size > HV_BOOT_DIRECTMAP_SIZE - paddr) return nullptr;
    return phys_to_virt(paddr);
  }
};

constinit DirectMapMemory direct_map;

void report_cpu() {
  CpuidSnapshot cpu = read_cpuid();
  CpuSignature sig = decode_signature(cpu.signature);
  HV_INFO(cpu, "CPU: %s \"%s\" family %#x model %#x stepping %u, %u-bit physical addresses",
          cpu.vendor, cpu.brand, sig.family, sig.model, sig.stepping, physical_address_bits(cpu));
  char features[512];
  format_features(cpu, features, sizeof features);
  HV_INFO(cpu, "CPU features: %s", features);
}

void report_memory(const MemoryMap& map) {
  HV_INFO(mm, "Memory map (%zu ranges):", map.ranges().size());
  for (const MemoryRange& r : map.ranges())
    HV_INFO(mm, " [%016lx, %016lx] (%s)", r.base, r.end() - 1, memory_type_name(r.type));
  HV_INFO(mm, "System RAM: %luMB (%lukB)", map.total(MemoryType::usable) >> 20,
          map.total(MemoryType::usable) >> 10);
}

void report_modules(const BootInfo& info) {
  HV_INFO(boot, "Boot modules: %zu", info.modules.size());
  for (std::size_t i = 0; i < info.modules.size(); ++i) {
    const BootModule& m = info.modules[i];
    HV_INFO(boot, " module %zu: [%016lx, %016lx] %lu bytes, cmdline \"%s\"", i, m.base,
            m.base + m.size, m.size, m.cmdline);
  }
}

acpi::PowerOff report_acpi(const BootInfo& info, acpi::Tables& tables) {
  if (!acpi::discover(direct_map, info, tables)) {
    HV_WARN(acpi, "ACPI: no valid RSDP found");
    return {};
  }
  HV_INFO(acpi, "ACPI: RSDP rev %u, %s at %#lx, %u tables, FADT %#lx, MADT %#lx, DSDT %#lx",
          tables.revision, tables.root_is_xsdt ? "XSDT" : "RSDT", tables.root, tables.table_count,
          tables.fadt, tables.madt, tables.dsdt);
  acpi::PowerOff off = acpi::find_poweroff(direct_map, tables);
  if (off.valid)
    HV_INFO(acpi, "ACPI: S5 via PM1a_CNT %#x SLP_TYP %u", off.pm1a_cnt, off.slp_typa);
  else
    HV_WARN(acpi, "ACPI: no S5 power-off information");
  return off;
}

// The legacy PICs are never used (the APICs are): mask every line so a stray PIT tick can
// never arrive on an exception vector.
void mask_legacy_pics() {
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);
}

}  // namespace
}  // namespace hv::x86

extern "C" [[noreturn]] void hv_start64(std::uint32_t protocol, std::uint32_t magic,
                                        std::uint32_t info_paddr) {
  using namespace hv;
  using namespace hv::x86;
  serial_init();
  (void)log_add_sink(serial_write);
  cpu_info_of(0)->cpu_id = 0;
  gdt_init(0);
  idt_init();
  syscall_init(0);
  mask_legacy_pics();
  fpu_init();
  BootInfo& boot_info = state().boot;
  HV_INFO(boot, "microxen hypervisor (Xen 4.17 x86-64 PV ABI), compiled " __DATE__ " " __TIME__);

  BootError error = BootError::malformed;
  if (protocol == static_cast<std::uint32_t>(BootProtocol::pvh))
    error = parse_pvh(direct_map, info_paddr, boot_info);
  else if (protocol == static_cast<std::uint32_t>(BootProtocol::multiboot2))
    error = parse_multiboot2(direct_map, magic, info_paddr, boot_info);
  if (error != BootError::none)
    HV_PANIC("boot information from the loader is unusable: %s", boot_error_name(error));

  Cmdline cmdline(boot_info.cmdline);
  state().info.cmdline = boot_info.cmdline;
  if (cmdline.flag("bench_floor")) {
    syscall_init(0, true);
    HV_WARN(boot, "bench_floor: hypercall 63 is an empty round trip (for benchmarks only)");
  }
  HV_INFO(boot, "Booted by %s%s%s, command line: \"%s\"", boot_protocol_name(boot_info.protocol),
          boot_info.loader_name[0] ? " from " : "", boot_info.loader_name, boot_info.cmdline);
  auto debug_port = cmdline.number("debug_exit");
  report_cpu();
  report_memory(boot_info.memory);
  report_modules(boot_info);
  acpi::Tables acpi_tables;
  power_init(report_acpi(boot_info, acpi_tables), static_cast<std::uint16_t>(debug_port.value_or(0)));
  time_init(direct_map, boot_info);
  timer_init();  // the local APIC timer, calibrated against the TSC
  set_spin_relax(IpiRelax::relax);  // before a second CPU can contend for a lock
  smp_init(direct_map, acpi_tables, boot_info, cmdline);  // the other CPUs wait in ap_schedule_loop

  if (auto which = cmdline.value("selftest")) run_selftest(*which);
  if (cmdline.flag("bench_ipi")) (void)report_ipi_round_trip();  // a benchmark's floor, same run
  if (boot_info.modules.empty()) {
    HV_INFO(boot, "no dom0 kernel among the boot modules: nothing to run, shutting down");
    power_off(ExitStatus::success);
  }
  memory_init(boot_info);
  m2p_init(frame_allocator());
  mm_init(boot_info.memory);
  state().info.max_page = m2p_entries();
  state().info.m2p_first_mfn = m2p_first_mfn();
  state().info.m2p_frames = m2p_frames();
  state().info.machine_map = &boot_info.memory;
  context_init();
  start_boot_domains(boot_info, cmdline);
}
