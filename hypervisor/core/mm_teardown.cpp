// Domain memory teardown (Xen domain_relinquish_resources / relinquish_memory for PV). After
// it, no page table of the domain holds a reference and every frame nobody else maps is back
// in the allocator; it must never free a frame another domain still maps.
#include "mm_ops.hpp"

#include "log.hpp"

namespace hv {

// Terminates because type references only point down the levels (or, for linear entries, at
// a table that holds none itself): once no pin and no vCPU root holds a table, dropping the
// top-level ones devalidates everything below. Cost: one pass over the frame table.
void MmOps::relinquish(DomainMemory& d, std::span<VcpuMm> vcpus) {
  FrameTable& frames = c_.frames;
  d.dying = true;
  for (VcpuMm& v : vcpus) {
    release_ldt_frames(v);
    drop_roots(v);
  }
  // Roots first, so the cascade runs top-down and every lower table is released by its parent
  // or its own pin (Xen also goes L4, L3, L2, then the rest).
  for (unsigned level = 4; level >= 1; --level) {
    for (Mfn m = 0; m < frames.nr_frames(); ++m) {
      const PageInfo& p = frames.page(m);
      if (p.owner != d.domid || p.type() != table_type(level)) continue;
      if (frames.test_and_clear_pinned(m)) frames.put_page_and_type(m);
    }
  }
  for (Mfn m = 0; m < frames.nr_frames(); ++m) {
    const PageInfo& p = frames.page(m);
    if (p.owner != d.domid) continue;
    // Hypervisor frames shared with the domain (shared_info) keep their permanent reference:
    // the hypervisor, which allocated them, takes them back itself.
    if ((p.count_info & PGC_xen_heap) != 0) continue;
    if (is_page_table(p.type()) && p.type_count() != 0) {
      // Only another domain's reference can keep a table alive now; leak rather than free.
      HV_WARN(mm, "d%u: frame %#llx still typed (%#llx) at teardown", d.domid,
              (unsigned long long)m, (unsigned long long)p.type_info);
    }
    frames.drop_allocation(m);  // frees it unless someone else still maps it
  }
  c_.tlb.flush_tlb(d.domid, nullptr, kFlushAllVas);
}

}  // namespace hv
