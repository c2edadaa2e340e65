// MmOps: mmu_update, update_va_mapping, vm_assist and writable-page-table emulation (Xen mm.c
// do_mmu_update/__do_update_va_mapping, pv/ro-page-fault.c). No request may touch a frame the
// caller does not own except through the privileged foreign rules in PageTableValidator.
#include "mm_ops.hpp"

#include "pv/arch_x86_64.hpp"
#include "pv/errno.hpp"

namespace hv {
namespace {

Status error(int negative_errno) { return Status::error(negative_errno); }

// Xen's PV64_VM_ASSIST_MASK: everything 32-bit guests had (accepted, if meaningless, for
// 64-bit ones) plus m2p_strict.
constexpr std::uint64_t kVmAssistValid =
    (std::uint64_t{1} << pv::VMASST_TYPE_4gb_segments) |
    (std::uint64_t{1} << pv::VMASST_TYPE_4gb_segments_notify) |
    (std::uint64_t{1} << pv::VMASST_TYPE_writable_pagetables) |
    (std::uint64_t{1} << pv::VMASST_TYPE_pae_extended_cr3) |
    (std::uint64_t{1} << pv::VMASST_TYPE_architectural_iopl) |
    (std::uint64_t{1} << pv::VMASST_TYPE_runstate_update_flag) |
    (std::uint64_t{1} << pv::VMASST_TYPE_m2p_strict);

}  // namespace

bool guest_addr_ok(std::uint64_t va) {
  return va < (std::uint64_t{1} << 47) || va >= pv::HYPERVISOR_VIRT_END;
}

bool MmOps::ram(Mfn mfn) const {
  return c_.frames.valid(mfn) && c_.frames.page(mfn).owner != pv::DOMID_IO;
}

// Xen's page_lock() precondition: the frame holds a validated type with references, so its
// type cannot change while we edit it.
bool MmOps::table_locked(Mfn mfn) const {
  const PageInfo& p = c_.frames.page(mfn);
  return p.type_count() != 0 && p.validated();
}

// Xen's get_pg_owner plus the XSM "target" check: naming yourself by number is refused, any
// other domain (or DOMID_XEN) needs privilege; DOMID_IO is open to all (its mappings still
// need I/O permission, checked per entry).
Status MmOps::resolve_pg_owner(const DomainMemory& d, std::uint32_t foreigndom,
                               pv::domid_t& out) {
  const auto id = static_cast<pv::domid_t>(foreigndom);
  if (id == d.domid) return error(-pv::XEN_ESRCH);
  if (id == pv::DOMID_SELF) {
    out = d.domid;
    return kOk;
  }
  if (id != pv::DOMID_IO && id != pv::DOMID_XEN && c_.frames.domain(id) == nullptr)
    return error(-pv::XEN_ESRCH);
  out = id;
  return kOk;
}

Status MmOps::normal_pt_update(MmCaller caller, const pv::mmu_update& req, pv::domid_t pg_owner,
                               bool& flush_linear) {
  DomainMemory& d = caller.domain;
  if (pg_owner != d.domid && pg_owner != pv::DOMID_IO && !d.privileged)
    return error(-pv::XEN_EPERM);
  const std::uint64_t cmd = req.ptr & 7;
  const Mfn mfn = req.ptr >> 12;
  const unsigned index = static_cast<unsigned>((req.ptr & 0xfff) >> 3);
  if (!c_.frames.get_page(mfn, d.domid)) return error(-pv::XEN_EINVAL);
  Status rc = error(-pv::XEN_EINVAL);
  if (table_locked(mfn)) {
    const PageType type = c_.frames.page(mfn).type();
    if (type == PageType::l1) {
      rc = c_.validator.mod_l1_entry(mfn, index, req.val, d, pg_owner,
                                     cmd == pv::MMU_PT_UPDATE_PRESERVE_AD);
    } else if (is_page_table(type)) {
      if (pg_owner == d.domid) {  // upper levels never name foreign frames
        rc = c_.validator.mod_lN_entry(static_cast<unsigned>(type), mfn, index, req.val, d,
                                       cmd == pv::MMU_PT_UPDATE_PRESERVE_AD);
        if (rc.ok()) flush_linear = true;
      }
    } else if (type == PageType::writable) {
      __atomic_store_n(c_.memory.frame(mfn) + index, req.val, __ATOMIC_RELEASE);
      rc = kOk;
    }
  } else if (c_.frames.get_page_type(mfn, PageType::writable).ok()) {
    // An untyped frame: an ordinary checked write to guest memory.
    __atomic_store_n(c_.memory.frame(mfn) + index, req.val, __ATOMIC_RELEASE);
    c_.frames.put_page_type(mfn);
    rc = kOk;
  }
  c_.frames.put_page(mfn);
  return rc;
}

Status MmOps::machphys_update(MmCaller caller, const pv::mmu_update& req, pv::domid_t pg_owner) {
  if (pg_owner != caller.domain.domid && pg_owner != pv::DOMID_IO && !caller.domain.privileged)
    return error(-pv::XEN_EPERM);
  const Mfn mfn = req.ptr >> 12;
  if (!c_.frames.get_page(mfn, pg_owner)) return error(-pv::XEN_EINVAL);
  c_.m2p.set(mfn, req.val);
  c_.frames.put_page(mfn);
  return kOk;
}

Status MmOps::mmu_update(MmCaller caller, std::span<const pv::mmu_update> reqs, unsigned& done,
                         std::uint32_t foreigndom) {
  done = 0;
  // foreigndom >> 16, if set, is 1 + the domain owning the page tables. Naming yourself that
  // way is fine; another domain's tables (Xen: toolstacks building 32-bit guests) we refuse.
  const std::uint32_t pt_dom = foreigndom >> 16;
  if (pt_dom != 0 && pt_dom - 1 != caller.domain.domid) {
    if (pt_dom - 1 > 0xffff || c_.frames.domain(static_cast<pv::domid_t>(pt_dom - 1)) == nullptr)
      return error(-pv::XEN_ESRCH);
    return error(-pv::XEN_EINVAL);
  }
  pv::domid_t pg_owner = 0;
  HV_TRY(resolve_pg_owner(caller.domain, foreigndom, pg_owner));
  bool flush_linear = false;
  Status rc = kOk;
  for (const pv::mmu_update& req : reqs) {
    switch (req.ptr & 7) {  // Xen decodes 3 bits: 4..7 are unknown commands
      case pv::MMU_NORMAL_PT_UPDATE:
      case pv::MMU_PT_UPDATE_PRESERVE_AD:
      case pv::MMU_PT_UPDATE_NO_TRANSLATE:  // a PV guest is untranslated: same as NORMAL
        rc = normal_pt_update(caller, req, pg_owner, flush_linear);
        break;
      case pv::MMU_MACHPHYS_UPDATE: rc = machphys_update(caller, req, pg_owner); break;
      default: rc = error(-pv::XEN_ENOSYS); break;
    }
    if (!rc.ok()) break;
    ++done;
  }
  // A changed L2-L4 entry may be cached in any pCPU's paging-structure caches.
  if (flush_linear) c_.tlb.flush_tlb(caller.domain.domid, nullptr, kFlushAllVas);
  return rc;
}

// Xen's map_guest_l1e: the L1 table mapping `va` in the caller's current kernel tables.
Result<Mfn> MmOps::guest_l1_table(const VcpuMm& v, std::uint64_t va) {
  if (!guest_addr_ok(va) || v.guest_table == 0) return error(-pv::XEN_EINVAL);
  Mfn table = v.guest_table;
  for (unsigned level = 4; level >= 2; --level) {
    if (!ram(table)) return error(-pv::XEN_EINVAL);
    const pte::Pte e = c_.memory.frame(table)[pte::table_index(va, level)];
    if ((e & (pte::kPresent | pte::kPse)) != pte::kPresent) return error(-pv::XEN_EINVAL);
    table = pte::mfn_of(e);
  }
  return table;
}

Status MmOps::update_va_mapping_otherdomain(MmCaller caller, std::uint64_t va,
                                            std::uint64_t new_pte, std::uint64_t flags,
                                            pv::domid_t domid) {
  pv::domid_t pg_owner = 0;
  HV_TRY(resolve_pg_owner(caller.domain, domid, pg_owner));
  if (pg_owner != caller.domain.domid && !caller.domain.privileged) return error(-pv::XEN_EPERM);
  return update_va_mapping_for(caller, va, new_pte, flags, pg_owner);
}

Status MmOps::update_va_mapping_for(MmCaller caller, std::uint64_t va, std::uint64_t new_pte,
                                    std::uint64_t flags, pv::domid_t pg_owner) {
  DomainMemory& d = caller.domain;
  Result<Mfn> l1 = guest_l1_table(caller.vcpu, va);
  if (!l1 || !c_.frames.get_page(*l1, d.domid)) return error(-pv::XEN_EINVAL);
  Status rc = error(-pv::XEN_EINVAL);
  if (table_locked(*l1) && c_.frames.page(*l1).type() == PageType::l1)
    rc = c_.validator.mod_l1_entry(*l1, pte::table_index(va, 1), new_pte, d, pg_owner, false);
  c_.frames.put_page(*l1);
  if (!rc.ok()) return rc;  // nothing changed: no flush (va is not audited yet)

  const std::uint64_t type = flags & pv::UVMF_FLUSHTYPE_MASK;
  if (type != pv::UVMF_TLB_FLUSH && type != pv::UVMF_INVLPG) return kOk;
  const std::uint64_t what = type == pv::UVMF_INVLPG ? va : kFlushAllVas;
  const std::uint64_t scope = flags & ~pv::UVMF_FLUSHTYPE_MASK;
  if (scope == pv::UVMF_LOCAL) {
    if (what == kFlushAllVas) c_.tlb.flush_local();
    else c_.tlb.invlpg_local(va);
  } else if (scope == pv::UVMF_ALL) {
    c_.tlb.flush_tlb(d.domid, nullptr, what);
  } else {
    VcpuSet set;
    rc = c_.vcpumask.read(scope, set);  // the entry is written; a bad bitmap still reports
    if (rc.ok()) c_.tlb.flush_tlb(d.domid, &set, what);
  }
  return rc;
}

Status MmOps::vm_assist(DomainMemory& d, unsigned cmd, unsigned type) {
  if (type >= 64 || ((kVmAssistValid >> type) & 1) == 0) return error(-pv::XEN_EINVAL);
  const std::uint64_t bit = std::uint64_t{1} << type;
  switch (cmd) {
    case pv::VMASST_CMD_enable: d.vm_assist |= bit; return kOk;
    case pv::VMASST_CMD_disable: d.vm_assist &= ~bit; return kOk;
    default: return error(-pv::XEN_ENOSYS);
  }
}

Result<std::uint64_t> MmOps::ptwr_target(MmCaller caller, std::uint64_t va) {
  const DomainMemory& d = caller.domain;
  if (((d.vm_assist >> pv::VMASST_TYPE_writable_pagetables) & 1) == 0)
    return error(-pv::XEN_EPERM);
  Result<Mfn> l1 = guest_l1_table(caller.vcpu, va);
  if (!l1 || !ram(*l1)) return error(-pv::XEN_EINVAL);
  const pte::Pte e = c_.memory.frame(*l1)[pte::table_index(va, 1)];
  if ((e & (pte::kPresent | pte::kRw)) != pte::kPresent) return error(-pv::XEN_EINVAL);
  const Mfn target = pte::mfn_of(e);
  if (!ram(target) || c_.frames.page(target).owner != d.domid) return error(-pv::XEN_EINVAL);
  if (!table_locked(target) || c_.frames.page(target).type() != PageType::l1)
    return error(-pv::XEN_EINVAL);
  return (target << 12) | (va & 0xfff);
}

}  // namespace hv
