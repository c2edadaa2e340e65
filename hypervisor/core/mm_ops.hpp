// MmOps: the PV memory-management hypercalls (mmu_update, mmuext_op, update_va_mapping,
// vm_assist), writable-page-table emulation and domain teardown, over already-copied-in
// arguments. Every change goes through PageTableValidator and FrameTable; nothing here may
// write a page-table entry, change a frame's type or drop a reference any other way.
#pragma once
#include <cstdint>
#include <span>

#include "frame_table.hpp"
#include "mm_platform.hpp"
#include "page_type.hpp"
#include "pv/errno.hpp"
#include "pv/mmu.hpp"
#include "result.hpp"
#include "spinlock.hpp"
#include "x86_decode.hpp"

namespace hv {

// The guest registers an emulated page-table store reads and changes (x86 numbering).
struct PtwrRegisters {
  std::uint64_t gpr[16];
  std::uint64_t rflags;
};
// emulated: memory and registers updated, advance rip. retry: a locked update lost a race,
// nothing changed, re-execute. refused: not emulated, forward the #PF.
enum class PtwrOutcome : std::uint8_t { emulated, retry, refused };

// Everything the operations work on; the kernel builds one at boot, tests over a fake machine.
struct MmContext {
  FrameTable& frames;
  PageTableValidator& validator;
  MachineMemory& memory;
  TlbFlusher& tlb;
  M2PTable& m2p;
  XenL4Slots& xen;
  VcpuMaskReader& vcpumask;
};

// The calling vCPU and its domain.
struct MmCaller {
  DomainMemory& domain;
  VcpuMm& vcpu;
};

class MmOps {
 public:
  explicit MmOps(const MmContext& ctx) : c_(ctx) {}
  // The frame table and machine memory, for the descriptor-table hypercalls.
  const MmContext& context() const { return c_; }

  // The memory lock (spinlock.hpp, level 2): the frame table, the frame allocator, the M2P
  // and every domain's DomainMemory. One for the whole machine, because frames are
  // referenced across domains (a privileged domain's mappings of another's frames, later
  // grants): dropping such a mapping changes the other domain's frame. Every operation here,
  // and every use of context()'s objects, runs with it held; the callers take it
  // (dispatch_hypercall for the memory hypercalls, the arch for page faults, #GP emulation,
  // LDT loads and teardown). Xen instead makes each frame's counts atomic and locks single
  // page tables; that finer scheme can replace this lock without changing the callers.
  SpinLock& lock() { return lock_; }

  // mmu_update: processes `reqs` in order, stopping at the first failure; `done` = number
  // that succeeded. `foreigndom`: DOMID_SELF, or (privileged) the domain whose frames L1
  // entries may name / whose M2P entries may be set. Returns 0 or the failing request's errno.
  Status mmu_update(MmCaller caller, std::span<const pv::mmu_update> reqs, unsigned& done,
                    std::uint32_t foreigndom);
  // mmuext_op: same batching rules.
  Status mmuext_op(MmCaller caller, std::span<const pv::mmuext_op> ops, unsigned& done,
                   pv::domid_t foreigndom);
  // update_va_mapping: replaces the L1 entry mapping `va` in the caller's current kernel
  // tables, then flushes per `flags` (UVMF_*; a vCPU bitmap pointer is OR-ed in for MULTI).
  Status update_va_mapping(MmCaller caller, std::uint64_t va, std::uint64_t new_pte,
                           std::uint64_t flags) {
    return update_va_mapping_for(caller, va, new_pte, flags, caller.domain.domid);
  }
  // update_va_mapping_otherdomain: the same, the new entry naming frames of `domid` (Xen's
  // get_pg_owner: the caller's own id -ESRCH, DOMID_SELF is the caller, DOMID_IO/DOMID_XEN
  // exist, an unknown id -ESRCH; then XSM_TARGET: another domain needs privilege, -EPERM).
  Status update_va_mapping_otherdomain(MmCaller caller, std::uint64_t va, std::uint64_t new_pte,
                                       std::uint64_t flags, pv::domid_t domid);
  // vm_assist(cmd, type).
  static Status vm_assist(DomainMemory& d, unsigned cmd, unsigned type);

  // Writable page tables. ptwr_target: for a write fault at `va` in guest kernel mode, the
  // machine address the write would hit if it is one to emulate (VMASST writable_pagetables
  // on; the kernel-table L1 entry for va present and read-only; its frame an L1 table of the
  // caller). Any error: not ours, forward the #PF.
  Result<std::uint64_t> ptwr_target(MmCaller caller, std::uint64_t va);
  // One decoded store of `width` (1, 2, 4, 8) bytes at machine address `maddr` inside an L1
  // table of the caller, naturally aligned: validated like an mmu_update of the whole entry.
  // An error means the instruction is not emulated (forward the #PF).
  Status ptwr_emulated_write(MmCaller caller, std::uint64_t maddr, std::uint64_t value,
                             unsigned width);
  // A locked cmpxchg: the entry is replaced only if it still holds `expected`; `observed`
  // receives what was there (the caller compares, as the instruction does).
  Status ptwr_emulated_cmpxchg(MmCaller caller, std::uint64_t maddr, std::uint64_t expected,
                               std::uint64_t desired, unsigned width, std::uint64_t& observed);
  // The whole instruction, as Xen's x86_emulate drives the two above: `s` (decoded at the
  // faulting rip) has its memory operand at `maddr`, naturally aligned (the caller checked
  // it lies in the faulting page). Read-modify-writes read the entry, compute, and store
  // with a cmpxchg when locked (a lost race retries) or a plain write otherwise; an
  // unchanged value is not stored at all, as x86_emulate's writeback skips it.
  PtwrOutcome ptwr_emulate(MmCaller caller, const x86dec::DecodedStore& s, std::uint64_t maddr,
                           PtwrRegisters& regs);

  // Reservation changes, one extent at a time (memory_reservation below walks the list).
  // reservation_alloc: 2^order zeroed frames for `d` below machine frame `below` (0: any);
  // populate_extent also points their M2P entries at gpfn, gpfn + 1, ...; remove_page gives
  // back `d`'s frame `gmfn` (a machine frame for PV), freed once no mapping references it.
  Result<Mfn> reservation_alloc(DomainMemory& d, unsigned order, Mfn below);
  Result<Mfn> populate_extent(DomainMemory& d, std::uint64_t gpfn, unsigned order, Mfn below);
  Status remove_page(DomainMemory& d, std::uint64_t gmfn);

  // Domain destruction: drops every vCPU's roots, unpins everything, lets the devalidation
  // cascade drop every reference the domain's tables hold, and releases the allocation
  // reference of each frame (frames still mapped elsewhere are freed when that ends).
  void relinquish(DomainMemory& d, std::span<VcpuMm> vcpus);

  // The LDT after SET_LDT (or update_descriptor on one of its pages): finds the frames the
  // guest maps at ldt_base.. in its kernel tables, takes a seg_desc type reference on each
  // (which validates its descriptors and keeps it from being mapped writable), then drops
  // the references of the frames loaded before. Pages that are unmapped, foreign or not
  // valid descriptor pages stay 0, so using their selectors faults in the guest.
  void load_ldt_frames(MmCaller caller);
  // Drops every LDT frame reference of the vCPU (teardown).
  void release_ldt_frames(VcpuMm& v);

  // Installs a root for a vCPU outside a hypercall (domain builder / VCPUOP_initialise):
  // validates `mfn` as an L4 (taking the references) and makes it the kernel root.
  Status set_initial_root(MmCaller caller, Mfn mfn) { return new_guest_cr3(caller, mfn); }
  // The same for the user root (VCPUOP_initialise's ctrlreg[1]; MMUEXT_NEW_USER_BASEPTR).
  Status set_initial_user_root(MmCaller caller, Mfn mfn) { return new_user_baseptr(caller, mfn); }
  // Drops both roots of a vCPU and their references (a failed VCPUOP_initialise, teardown).
  void drop_roots(VcpuMm& v);
  // MMUEXT_SET_LDT's argument rules: at most 8192 entries; with any, a page-aligned guest base.
  static bool ldt_ok(std::uint64_t base, std::uint64_t ents);
  // Pins a table the domain builder wrote into `d`'s frames as an L`level` (1..4) table:
  // validates it (and everything below it) exactly as MMUEXT_PIN_L<level>_TABLE would.
  Status pin_table(const DomainMemory& d, Mfn mfn, unsigned level) {
    if (level < 1 || level > 4) return Status::error(-pv::XEN_EINVAL);
    return pin(d.domid, mfn, table_type(level));
  }

 private:
  Status update_va_mapping_for(MmCaller caller, std::uint64_t va, std::uint64_t new_pte,
                               std::uint64_t flags, pv::domid_t pg_owner);
  Status normal_pt_update(MmCaller caller, const pv::mmu_update& req, pv::domid_t pg_owner,
                          bool& flush_linear);
  Status machphys_update(MmCaller caller, const pv::mmu_update& req, pv::domid_t pg_owner);
  Status resolve_pg_owner(const DomainMemory& d, std::uint32_t foreigndom, pv::domid_t& out);
  Status one_mmuext(MmCaller caller, const pv::mmuext_op& op, pv::domid_t pg_owner);
  Status pin(pv::domid_t pg_owner, Mfn mfn, PageType type);
  Status unpin(pv::domid_t pg_owner, Mfn mfn);
  Status new_guest_cr3(MmCaller caller, Mfn mfn);
  Status new_user_baseptr(MmCaller caller, Mfn mfn);
  Status flush_op(MmCaller caller, const pv::mmuext_op& op);
  Status set_ldt(MmCaller caller, const pv::mmuext_op& op);
  Status clear_page(pv::domid_t pg_owner, Mfn mfn);
  Status copy_page(pv::domid_t pg_owner, Mfn dst, Mfn src);
  Result<Mfn> guest_l1_table(const VcpuMm& v, std::uint64_t va);
  Status ptwr_update(MmCaller caller, std::uint64_t maddr, const std::uint64_t* expected,
                     std::uint64_t value, unsigned width, std::uint64_t& observed);
  Result<std::uint64_t> ptwr_read(MmCaller caller, std::uint64_t maddr, unsigned width);
  PtwrOutcome ptwr_store(MmCaller caller, const x86dec::DecodedStore& s, std::uint64_t maddr,
                         std::uint64_t old, std::uint64_t value);
  bool table_locked(Mfn mfn) const;
  bool ram(Mfn mfn) const;

  MmContext c_;
  SpinLock lock_;
};

class GuestMemory;
// memory_op XENMEM_increase_reservation / XENMEM_decrease_reservation /
// XENMEM_populate_physmap (`cmd`) with the xen_memory_reservation at guest address `arg`,
// resuming at `start_extent`: the number of extents done (Xen returns no errno for these).
// `max_page`: the highest machine frame + 1 (address_bits below it restrict allocations).
long memory_reservation(MmOps& ops, GuestMemory& memory, DomainMemory& caller, unsigned cmd,
                        std::uint64_t start_extent, std::uint64_t arg, std::uint64_t max_page);

// Xen's __addr_ok for 64-bit PV: a guest linear address below the canonical hole's start or
// at/above the end of the hypervisor range.
bool guest_addr_ok(std::uint64_t va);

}  // namespace hv
