// fault_fixup: a linear search of the exception table (it has a handful of entries).
#include "fault_fixup.hpp"

namespace hv::x86 {

struct FixupEntry {
  std::uint64_t fault_rip;
  std::uint64_t fixup_rip;
};

extern "C" const FixupEntry __ex_table_start[], __ex_table_end[];

std::uint64_t find_fixup(std::uint64_t rip) {
  for (const FixupEntry* e = __ex_table_start; e != __ex_table_end; ++e)
    if (e->fault_rip == rip) return e->fixup_rip;
  return 0;
}

}  // namespace hv::x86
