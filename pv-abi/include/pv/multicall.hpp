// multicall_entry (xen.h): one element of a multicall batch. `op` and the arguments are
// guest input; a nested multicall must be refused and an iret ends the batch.
#pragma once

#include <cstddef>
#include <cstdint>

#include "types.hpp"

namespace pv {

struct multicall_entry {
    xen_ulong_t op;      // hypercall number
    xen_ulong_t result;  // written back: the call's return value (negative errno on error)
    xen_ulong_t args[6]; // Xen reads only the first 5
};
static_assert(sizeof(multicall_entry) == 64 && alignof(multicall_entry) == 8);
static_assert(offsetof(multicall_entry, result) == 8);
static_assert(offsetof(multicall_entry, args) == 16);

}  // namespace pv
