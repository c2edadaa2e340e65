// physdev_op (physdev.h, hypercall 33): the PHYSDEVOP_* numbers and the two structs a PV
// domU uses (virtual IOPL and I/O bitmap). A domU owns no real ports: granting IOPL only
// lets the guest kernel trap into our port filter, never reach hardware.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

inline constexpr unsigned PHYSDEVOP_irq_status_query = 5;
inline constexpr unsigned PHYSDEVOP_set_iopl = 6;     // physdev_set_iopl
inline constexpr unsigned PHYSDEVOP_set_iobitmap = 7; // physdev_set_iobitmap
inline constexpr unsigned PHYSDEVOP_apic_read = 8;
inline constexpr unsigned PHYSDEVOP_apic_write = 9;
inline constexpr unsigned PHYSDEVOP_alloc_irq_vector = 10;
inline constexpr unsigned PHYSDEVOP_free_irq_vector = 11;
inline constexpr unsigned PHYSDEVOP_eoi = 12;
inline constexpr unsigned PHYSDEVOP_map_pirq = 13;
inline constexpr unsigned PHYSDEVOP_unmap_pirq = 14;
inline constexpr unsigned PHYSDEVOP_manage_pci_add = 15;
inline constexpr unsigned PHYSDEVOP_manage_pci_remove = 16;
inline constexpr unsigned PHYSDEVOP_pirq_eoi_gmfn_v1 = 17;
inline constexpr unsigned PHYSDEVOP_restore_msi = 19;
inline constexpr unsigned PHYSDEVOP_manage_pci_add_ext = 20;
inline constexpr unsigned PHYSDEVOP_setup_gsi = 21;
inline constexpr unsigned PHYSDEVOP_get_free_pirq = 23;
inline constexpr unsigned PHYSDEVOP_pci_mmcfg_reserved = 24;
inline constexpr unsigned PHYSDEVOP_pci_device_add = 25;
inline constexpr unsigned PHYSDEVOP_pci_device_remove = 26;
inline constexpr unsigned PHYSDEVOP_restore_msi_ext = 27;
inline constexpr unsigned PHYSDEVOP_pirq_eoi_gmfn_v2 = 28; // probed by Linux; -ENOSYS is fine
inline constexpr unsigned PHYSDEVOP_dbgp_op = 29;
inline constexpr unsigned PHYSDEVOP_prepare_msix = 30;
inline constexpr unsigned PHYSDEVOP_release_msix = 31;
inline constexpr unsigned PHYSDEVOP_pci_device_reset = 32;

// Virtual I/O privilege level: the guest kernel counts as ring 1 (Linux asks for 1).
struct physdev_set_iopl {
    std::uint32_t iopl; // 0..3
};
static_assert(sizeof(physdev_set_iopl) == 4);

struct physdev_set_iobitmap {
    guest_handle<std::uint8_t> bitmap; // guest VA, one bit per port, 1 = denied (TSS IOPB)
    std::uint32_t nr_ports;            // like a TSS, Xen reads 2 bytes even past nr_ports
};
static_assert(sizeof(physdev_set_iobitmap) == 16);
static_assert(offsetof(physdev_set_iobitmap, nr_ports) == 8);

struct physdev_eoi {
    std::uint32_t irq;
};
static_assert(sizeof(physdev_eoi) == 4);

inline constexpr std::uint32_t XENIRQSTAT_needs_eoi = 1u << 0;
inline constexpr std::uint32_t XENIRQSTAT_shared = 1u << 1;

struct physdev_irq_status_query {
    std::uint32_t irq;   // in
    std::uint32_t flags; // out: XENIRQSTAT_*
};
static_assert(sizeof(physdev_irq_status_query) == 8);

struct physdev_pirq_eoi_gmfn {
    xen_pfn_t gmfn;
};
static_assert(sizeof(physdev_pirq_eoi_gmfn) == 8);

}  // namespace pv
