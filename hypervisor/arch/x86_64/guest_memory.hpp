// guest_memory (arch): GuestMemory over the current guest address space. The guest's page
// tables are live in CR3 while the hypervisor handles its hypercall (our own slots are in
// every guest L4), so a copy is a checked range plus a fault-tolerant memcpy.
#pragma once
#include "core/guest_memory.hpp"

namespace hv::x86 {

class CurrentGuestMemory final : public GuestMemory {
 public:
  Status copy_from_guest(void* dst, std::uint64_t guest_va, std::size_t size) override;
  Status copy_to_guest(std::uint64_t guest_va, const void* src, std::size_t size) override;
};

}  // namespace hv::x86
