// mmuext_op (Xen mm.c do_mmuext_op, new_guest_cr3): pinning, base pointers, TLB and cache
// maintenance, SET_LDT, CLEAR/COPY_PAGE. A pin or base pointer must never hold a table that
// failed validation, and an old root's references are dropped only after the switch.
#include "mm_ops.hpp"

#include "pv/errno.hpp"

namespace hv {
namespace {

Status error(int negative_errno) { return Status::error(negative_errno); }

bool m2p_strict(const DomainMemory& d) {
  return (d.vm_assist >> pv::VMASST_TYPE_m2p_strict) & 1;
}

constexpr std::uint32_t kMaxLdtEntries = 8192;

}  // namespace

Status MmOps::pin(pv::domid_t pg_owner, Mfn mfn, PageType type) {
  if (!c_.frames.get_page(mfn, pg_owner)) return error(-pv::XEN_EINVAL);
  Status rc = c_.frames.get_page_type(mfn, type);
  if (!rc.ok()) {
    c_.frames.put_page(mfn);
    return rc;
  }
  if (c_.frames.test_and_set_pinned(mfn)) {  // already pinned: Xen refuses a second pin
    c_.frames.put_page_and_type(mfn);
    return error(-pv::XEN_EINVAL);
  }
  // The pin now owns the references just taken. A foreign owner may be dying concurrently;
  // its teardown would not see this new pin.
  const DomainMemory* owner = c_.frames.domain(pg_owner);
  if (owner != nullptr && owner->dying && c_.frames.test_and_clear_pinned(mfn))
    c_.frames.put_page_and_type(mfn);
  return kOk;
}

Status MmOps::unpin(pv::domid_t pg_owner, Mfn mfn) {
  if (!c_.frames.get_page(mfn, pg_owner)) return error(-pv::XEN_EINVAL);
  if (!c_.frames.test_and_clear_pinned(mfn)) {
    c_.frames.put_page(mfn);
    return error(-pv::XEN_EINVAL);
  }
  c_.frames.put_page_and_type(mfn);  // the pin's references; may devalidate the table
  c_.frames.put_page(mfn);
  return kOk;
}

Status MmOps::new_guest_cr3(MmCaller caller, Mfn mfn) {
  DomainMemory& d = caller.domain;
  VcpuMm& v = caller.vcpu;
  const Mfn old = v.guest_table;
  if (old == mfn) {
    v.reload_cr3 = true;
    return kOk;
  }
  HV_TRY(c_.frames.get_page_and_type(mfn, d.domid, PageType::l4));
  if (!m2p_strict(d)) {  // kernel roots show the read-only M2P (Xen fill_ro_mpt)
    std::uint64_t* slot = c_.memory.frame(mfn) + pte::kRoMptSlot;
    if (*slot == 0) *slot = c_.xen.ro_mpt_l4e();
  }
  v.guest_table = mfn;
  v.reload_cr3 = true;  // CR3 load flushes the non-global TLB
  if (v.ldt_ents != 0) v.ldt_dirty = true;  // the LDT is found again through the new tables (Xen)
  if (old != 0) c_.frames.put_page_and_type(old);
  return kOk;
}

Status MmOps::new_user_baseptr(MmCaller caller, Mfn mfn) {
  DomainMemory& d = caller.domain;
  VcpuMm& v = caller.vcpu;
  const Mfn old = v.guest_table_user;
  if (old == mfn) return kOk;
  if (mfn != 0) {
    HV_TRY(c_.frames.get_page_and_type(mfn, d.domid, PageType::l4));
    if (m2p_strict(d)) c_.memory.frame(mfn)[pte::kRoMptSlot] = 0;  // Xen zap_ro_mpt
  }
  v.guest_table_user = mfn;
  if (!v.kernel_mode) v.reload_cr3 = true;
  if (old != 0) c_.frames.put_page_and_type(old);
  return kOk;
}

Status MmOps::flush_op(MmCaller caller, const pv::mmuext_op& op) {
  const pv::domid_t id = caller.domain.domid;
  const std::uint64_t va = op.arg1.linear_addr;
  switch (op.cmd) {
    case pv::MMUEXT_TLB_FLUSH_LOCAL: c_.tlb.flush_local(); return kOk;
    case pv::MMUEXT_INVLPG_LOCAL: c_.tlb.invlpg_local(va); return kOk;
    case pv::MMUEXT_TLB_FLUSH_ALL: c_.tlb.flush_tlb(id, nullptr, kFlushAllVas); return kOk;
    case pv::MMUEXT_INVLPG_ALL:
      if (guest_addr_ok(va)) c_.tlb.flush_tlb(id, nullptr, va);
      return kOk;
    default: break;  // the *_MULTI forms
  }
  VcpuSet set;
  if (!c_.vcpumask.read(op.arg2.vcpumask.p, set).ok()) return error(-pv::XEN_EINVAL);
  if (op.cmd == pv::MMUEXT_TLB_FLUSH_MULTI) c_.tlb.flush_tlb(id, &set, kFlushAllVas);
  else if (guest_addr_ok(va)) c_.tlb.flush_tlb(id, &set, va);
  return kOk;
}

bool MmOps::ldt_ok(std::uint64_t base, std::uint64_t ents) {
  return ents <= kMaxLdtEntries && (ents == 0 || ((base & 0xfff) == 0 && guest_addr_ok(base)));
}

void MmOps::drop_roots(VcpuMm& v) {
  if (v.guest_table != 0) c_.frames.put_page_and_type(v.guest_table);
  if (v.guest_table_user != 0) c_.frames.put_page_and_type(v.guest_table_user);
  v.guest_table = v.guest_table_user = 0;
  v.reload_cr3 = true;
}

Status MmOps::set_ldt(MmCaller caller, const pv::mmuext_op& op) {
  VcpuMm& v = caller.vcpu;
  const std::uint32_t ents = op.arg2.nr_ents;
  const std::uint64_t base = ents != 0 ? op.arg1.linear_addr : 0;
  if (!ldt_ok(base, ents)) return error(-pv::XEN_EINVAL);
  if (v.ldt_ents != ents || v.ldt_base != base) {
    if (v.ldt_ents != 0) c_.tlb.flush_local();  // the old LDT's shadow mappings go
    v.ldt_base = base;
    v.ldt_ents = ents;
    v.ldt_dirty = true;
  }
  return kOk;
}

void MmOps::load_ldt_frames(MmCaller caller) {
  VcpuMm& v = caller.vcpu;
  Mfn loaded[16] = {};
  const std::uint64_t pages = (std::uint64_t{v.ldt_ents} * 8 + 4095) / 4096;
  for (std::uint64_t i = 0; i < pages && i < 16; ++i) {
    const std::uint64_t va = v.ldt_base + i * 4096;
    Result<Mfn> l1 = guest_l1_table(v, va);
    if (!l1) continue;
    const pte::Pte e = c_.memory.frame(*l1)[pte::table_index(va, 1)];
    const Mfn mfn = pte::mfn_of(e);
    if ((e & pte::kPresent) == 0 || !ram(mfn)) continue;
    if (c_.frames.get_page_and_type(mfn, caller.domain.domid, PageType::seg_desc).ok()) loaded[i] = mfn;
  }
  release_ldt_frames(v);
  for (unsigned i = 0; i < 16; ++i) v.ldt_frames[i] = loaded[i];
}

void MmOps::release_ldt_frames(VcpuMm& v) {
  for (Mfn& f : v.ldt_frames) {
    if (f != 0) c_.frames.put_page_and_type(f);
    f = 0;
  }
}

// CLEAR_PAGE / COPY_PAGE work on RAM only: Xen's p2m lookup types DOMID_IO frames as MMIO.
Status MmOps::clear_page(pv::domid_t pg_owner, Mfn mfn) {
  if (pg_owner == pv::DOMID_IO || !c_.frames.get_page(mfn, pg_owner))
    return error(-pv::XEN_EINVAL);
  if (!c_.frames.get_page_type(mfn, PageType::writable).ok()) {
    c_.frames.put_page(mfn);
    return error(-pv::XEN_EINVAL);
  }
  std::uint64_t* words = c_.memory.frame(mfn);
  for (unsigned i = 0; i < pte::kEntries; ++i) words[i] = 0;
  c_.frames.put_page_and_type(mfn);
  return kOk;
}

Status MmOps::copy_page(pv::domid_t pg_owner, Mfn dst, Mfn src) {
  if (pg_owner == pv::DOMID_IO || !c_.frames.get_page(src, pg_owner))
    return error(-pv::XEN_EINVAL);
  if (!c_.frames.get_page(dst, pg_owner)) {
    c_.frames.put_page(src);
    return error(-pv::XEN_EINVAL);
  }
  if (!c_.frames.get_page_type(dst, PageType::writable).ok()) {
    c_.frames.put_page(dst);
    c_.frames.put_page(src);
    return error(-pv::XEN_EINVAL);
  }
  const std::uint64_t* from = c_.memory.frame(src);
  std::uint64_t* to = c_.memory.frame(dst);
  for (unsigned i = 0; i < pte::kEntries; ++i) to[i] = from[i];
  c_.frames.put_page_and_type(dst);
  c_.frames.put_page(src);
  return kOk;
}

Status MmOps::one_mmuext(MmCaller caller, const pv::mmuext_op& op, pv::domid_t pg_owner) {
  const bool self = pg_owner == caller.domain.domid;
  switch (op.cmd) {
    case pv::MMUEXT_PIN_L1_TABLE:
    case pv::MMUEXT_PIN_L2_TABLE:
    case pv::MMUEXT_PIN_L3_TABLE:
    case pv::MMUEXT_PIN_L4_TABLE:
      return pin(pg_owner, op.arg1.mfn, table_type(op.cmd - pv::MMUEXT_PIN_L1_TABLE + 1));
    case pv::MMUEXT_UNPIN_TABLE: return unpin(pg_owner, op.arg1.mfn);
    case pv::MMUEXT_NEW_BASEPTR:
      return self ? new_guest_cr3(caller, op.arg1.mfn) : error(-pv::XEN_EPERM);
    case pv::MMUEXT_NEW_USER_BASEPTR:
      return self ? new_user_baseptr(caller, op.arg1.mfn) : error(-pv::XEN_EPERM);
    case pv::MMUEXT_TLB_FLUSH_LOCAL:
    case pv::MMUEXT_INVLPG_LOCAL:
    case pv::MMUEXT_TLB_FLUSH_MULTI:
    case pv::MMUEXT_INVLPG_MULTI:
    case pv::MMUEXT_TLB_FLUSH_ALL:
    case pv::MMUEXT_INVLPG_ALL: return self ? flush_op(caller, op) : error(-pv::XEN_EPERM);
    case pv::MMUEXT_FLUSH_CACHE:
    case pv::MMUEXT_FLUSH_CACHE_GLOBAL:
      if (!self) return error(-pv::XEN_EPERM);
      if (!caller.domain.privileged) return error(-pv::XEN_EACCES);
      c_.tlb.flush_cache_all();
      return kOk;
    case pv::MMUEXT_SET_LDT: return self ? set_ldt(caller, op) : error(-pv::XEN_EPERM);
    case pv::MMUEXT_CLEAR_PAGE: return clear_page(pg_owner, op.arg1.mfn);
    case pv::MMUEXT_COPY_PAGE: return copy_page(pg_owner, op.arg1.mfn, op.arg2.src_mfn);
    case pv::MMUEXT_MARK_SUPER:
    case pv::MMUEXT_UNMARK_SUPER: return error(-pv::XEN_EOPNOTSUPP);
    default: return error(-pv::XEN_ENOSYS);
  }
}

Status MmOps::mmuext_op(MmCaller caller, std::span<const pv::mmuext_op> ops, unsigned& done,
                        pv::domid_t foreigndom) {
  done = 0;
  pv::domid_t pg_owner = 0;
  HV_TRY(resolve_pg_owner(caller.domain, foreigndom, pg_owner));
  // Xen's XSM "target" check: anything but yourself (DOMID_IO and DOMID_XEN included, which
  // Xen counts as PV domains) needs privilege; the operations then check ownership per frame.
  if (pg_owner != caller.domain.domid && !caller.domain.privileged) return error(-pv::XEN_EPERM);
  for (const pv::mmuext_op& op : ops) {
    HV_TRY(one_mmuext(caller, op, pg_owner));
    ++done;
  }
  return kOk;
}

}  // namespace hv
