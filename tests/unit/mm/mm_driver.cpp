// mm_driver: byte-driven MM operation sequences with a consistency check after every step.
// Inputs are biased towards the caller's own frames and small table indices so that real
// hierarchies form, with a steady share of hostile values (foreign, hypervisor, M2P and MMIO
// frames, reserved flag bits, hypervisor L4 slots, misaligned writes).
#include "mm_driver.hpp"

#include <sstream>
#include <vector>

#include "pv/errno.hpp"
#include "pv/mmu.hpp"

namespace mmtest {

using hv::DomainMemory;
using hv::PageType;
using hv::Status;
namespace pte = hv::pte;

namespace {

constexpr std::size_t kFramesPerDomain = 32;  // keeps the reference recount cheap


// What a failed operation must leave as it was: everything in the frame table except the
// type bits of a frame without type references (a failed validation resets those, as Xen's
// does). A 64-bit mix of it is compared before and after.
std::uint64_t fingerprint(const std::vector<hv::PageInfo>& pages) {
  std::uint64_t h = 0x9e3779b97f4a7c15;
  auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 0xff51afd7ed558ccd; h ^= h >> 29; };
  for (const hv::PageInfo& p : pages) {
    mix(p.count_info);
    mix(p.type_count() != 0 ? p.type_info : 0);
    mix((std::uint64_t{p.owner} << 16) | static_cast<std::uint16_t>(p.linear_pt_count));
  }
  return h;
}

std::uint64_t canonical(std::uint64_t va) {
  return (va & (std::uint64_t{1} << 47)) != 0 ? (va | 0xffff'0000'0000'0000) : va;
}

}  // namespace

void MmDriver::refresh_owned() {
  for (auto& v : owned_) v.clear();
  for (Mfn t = 0; t < kFrames; ++t) {
    const hv::PageInfo& p = m_.pages[t];
    if (p.owner < 3 && (p.count_info & hv::PGC_xen_heap) == 0) owned_[p.owner].push_back(t);
  }
}

DomainMemory& MmDriver::pick_domain(ByteSource& in) {
  const std::uint8_t r = in.u8() % 8;
  return r < 4 ? m_.d1 : r < 6 ? m_.d2 : m_.dom0;
}

Mfn MmDriver::pick_owned(ByteSource& in, const DomainMemory& d) {
  const std::vector<Mfn>& own = owned_[d.domid];
  if (own.empty()) return 0;
  return own[in.u16() % own.size()];
}

Mfn MmDriver::pick_frame(ByteSource& in, const DomainMemory& d) {
  const std::uint8_t r = in.u8();
  if (r < 200) return pick_owned(in, d);
  if (r < 215) return pick_owned(in, &d == &m_.d1 ? m_.d2 : m_.d1);
  if (r < 225) return kM2pFirst + in.u8() % kM2pFrames;
  if (r < 235) return in.u8();                                   // low-memory MMIO
  if (r < 245) return kXenImageFirst + in.u8();                  // hypervisor-private
  return in.u16();                                               // anything, even beyond RAM
}

Pte MmDriver::make_entry(ByteSource& in, const DomainMemory& d) {
  if (in.u8() < 25) return in.u64() & ~pte::kPresent;
  const Mfn target = pick_frame(in, d);
  const std::uint8_t f = in.u8();
  Pte flags = pte::kPresent;
  if (f & 1) flags |= pte::kRw;
  if (f & 2) flags |= pte::kUser;
  if (f & 4) flags |= pte::kAccessed;
  if (f & 8) flags |= pte::kDirty;
  if (f & 16) flags |= pte::kNx;
  const std::uint8_t bad = in.u8();
  if (bad < 12) flags |= pte::kPse;
  else if (bad < 20) flags |= pte::kPcd;
  else if (bad < 30) flags |= pte::kGlobal;
  else if (bad < 34) flags |= pte::kGnttab;
  else if (bad < 40) flags |= pte::kAvail;
  else if (bad < 44) flags |= pte::kGuestKernel;
  return pte::make(target, flags);
}

std::uint64_t MmDriver::make_va(ByteSource& in) {
  static constexpr unsigned kL4[] = {0, 1, 2, 3, 255, 256, 272, 511};
  const std::uint8_t shape = in.u8();
  if (shape < 150 && !tree_vas_.empty()) {  // a page a built tree maps, or one of its views
    const std::uint64_t base = tree_vas_[in.u8() % tree_vas_.size()];
    return base + (in.u8() % 4) * 4 * 0x1000 + (in.u8() % 16) * 8;
  }
  const std::uint64_t l4 = kL4[shape % 8];
  auto idx = [&](bool small) -> std::uint64_t { return small ? in.u8() % 4 : in.u16() % 512; };
  const std::uint64_t l3 = idx(shape < 200), l2 = idx(shape < 220), l1 = idx(shape < 230);
  const std::uint64_t off = (in.u8() % 8) * 8 + ((shape & 0x80) != 0 ? in.u8() % 8 : 0);
  return canonical((l4 << 39) | (l3 << 30) | (l2 << 21) | (l1 << 12) | off);
}

// A well-formed four-level chain written as a domain builder would, then pinned (and maybe
// loaded), with read-only self-mappings of the tables as Linux keeps them.
Status MmDriver::build_tree(ByteSource& in, DomainMemory& d) {
  if (owned_[d.domid].size() + 5 > kFramesPerDomain || d.tot_pages + 5 > d.max_pages)
    return Status::error(-pv::XEN_ENOMEM);
  const Mfn l4 = m_.new_frame(d), l3 = m_.new_frame(d), l2 = m_.new_frame(d);
  const Mfn l1 = m_.new_frame(d), data = m_.new_frame(d);
  const unsigned i4 = in.u8() % 4, i3 = in.u8() % 4, i2 = in.u8() % 4, i1 = in.u8() % 4;
  const Pte up = pte::kPresent | pte::kRw | pte::kUser | pte::kAccessed;
  m_.word(l4, i4) = pte::make(l3, up);
  m_.word(l3, i3) = pte::make(l2, up);
  m_.word(l2, i2) = pte::make(l1, up);
  m_.word(l1, i1) = pte::make(data, pte::kPresent | pte::kRw);
  m_.word(l1, i1 + 4) = pte::make(l1, pte::kPresent);  // RO view of the tables themselves
  m_.word(l1, i1 + 8) = pte::make(l2, pte::kPresent);
  m_.word(l1, i1 + 12) = pte::make(l4, pte::kPresent);
  if ((in.u8() & 1) != 0) m_.word(l4, 300 + i4) = pte::make(l4, pte::kPresent);  // linear
  tree_vas_.push_back((std::uint64_t{i4} << 39) | (std::uint64_t{i3} << 30) |
                      (std::uint64_t{i2} << 21) | (std::uint64_t{i1} << 12));
  if (tree_vas_.size() > 16) tree_vas_.erase(tree_vas_.begin());
  pv::mmuext_op op{};
  op.cmd = pv::MMUEXT_PIN_L4_TABLE;
  op.arg1.mfn = l4;
  unsigned done = 0;
  HV_TRY(m_.ops.mmuext_op(m_.caller(d), {&op, 1}, done, pv::DOMID_SELF));
  if ((in.u8() & 1) != 0) {
    op.cmd = pv::MMUEXT_NEW_BASEPTR;
    HV_TRY(m_.ops.mmuext_op(m_.caller(d, in.u8() % 2 % m_.vcpus_of(d).size()), {&op, 1}, done,
                            pv::DOMID_SELF));
  }
  return hv::kOk;
}

// A store by the "guest" into one of its frames through a writable mapping it could have:
// only frames not in use as page tables (which is exactly what the core must guarantee).
Status MmDriver::guest_write(ByteSource& in, DomainMemory& d) {
  const Mfn t = pick_owned(in, d);
  const hv::PageInfo& p = m_.pages[t];
  if (t == 0 || (p.type_count() != 0 && p.type() != PageType::writable))
    return Status::error(-pv::XEN_EPERM);
  const unsigned index = in.u8() < 200 ? in.u8() % 16 : in.u16() % 512;
  m_.word(t, index) = make_entry(in, d);
  return hv::kOk;
}

Status MmDriver::do_mmuext(ByteSource& in, DomainMemory& d, bool& atomic) {
  pv::mmuext_op op{};
  op.cmd = in.u8() % 22;
  atomic = op.cmd <= pv::MMUEXT_NEW_BASEPTR || op.cmd == pv::MMUEXT_NEW_USER_BASEPTR ||
           op.cmd == pv::MMUEXT_CLEAR_PAGE || op.cmd == pv::MMUEXT_COPY_PAGE;
  op.arg1.mfn = pick_frame(in, d);
  if (op.cmd == pv::MMUEXT_NEW_USER_BASEPTR && in.u8() < 40) op.arg1.mfn = 0;
  if (op.cmd == pv::MMUEXT_INVLPG_LOCAL || op.cmd == pv::MMUEXT_SET_LDT) op.arg1.linear_addr = make_va(in);
  op.arg2.src_mfn = pick_frame(in, d);
  if (op.cmd == pv::MMUEXT_SET_LDT) op.arg2.nr_ents = in.u16();
  if (op.cmd == pv::MMUEXT_TLB_FLUSH_MULTI || op.cmd == pv::MMUEXT_INVLPG_MULTI)
    op.arg2.vcpumask.p = in.u8() < 128 ? 0x1000 : in.u64();
  pv::domid_t foreign = pv::DOMID_SELF;
  if (&d == &m_.dom0 && in.u8() < 64) foreign = static_cast<pv::domid_t>(1 + in.u8() % 2);
  unsigned done = 0;
  return m_.ops.mmuext_op(m_.caller(d, in.u8() % m_.vcpus_of(d).size()), {&op, 1}, done, foreign);
}

// A VA whose walk through the vCPU's current kernel root follows present entries as far as
// they go (the first 16 slots of each table are looked at), so walks often reach an L1.
std::uint64_t MmDriver::guided_va(ByteSource& in, const hv::VcpuMm& v, bool want_table_view) {
  if (v.guest_table == 0 || in.u8() < 60) return make_va(in);
  std::uint64_t va = 0;
  Mfn table = v.guest_table;
  for (unsigned level = 4; level >= 1; --level) {
    unsigned present[16];
    unsigned n = 0;
    for (unsigned i = 0; i < 16; ++i) {
      if (table >= kFrames || !pte::present(m_.mem[table][i])) continue;
      const Mfn target = pte::mfn_of(m_.mem[table][i]);
      // For ptwr, prefer L1 entries that show an L1 table (the guest's read-only view).
      if (level == 1 && want_table_view && target < kFrames &&
          m_.pages[target].type() != PageType::l1)
        continue;
      present[n++] = i;
    }
    const unsigned index = n != 0 && in.u8() < 230 ? present[in.u8() % n] : in.u8() % 16;
    va |= std::uint64_t{index} << (12 + 9 * (level - 1));
    table = table < kFrames ? pte::mfn_of(m_.mem[table][index]) : kFrames;
  }
  return canonical(va | (in.u8() % 64) * 8);
}

Status MmDriver::do_ptwr(ByteSource& in, DomainMemory& d) {
  if (in.u8() < 192) d.vm_assist |= std::uint64_t{1} << pv::VMASST_TYPE_writable_pagetables;
  hv::MmCaller c = m_.caller(d, in.u8() % m_.vcpus_of(d).size());
  hv::Result<std::uint64_t> target = m_.ops.ptwr_target(c, guided_va(in, c.vcpu, true));
  if (!target) return target.status();
  const unsigned width = 1u << (in.u8() % 4);
  std::uint64_t maddr = *target & ~std::uint64_t{width - 1};
  if (in.u8() < 10) maddr += 1;  // misaligned: must be refused
  // Half the stores edit the current entry the way Linux does (flip RW/A/D, clear it).
  const std::uint64_t current = m_.word(maddr >> 12, (maddr & 0xfff) >> 3);
  static constexpr Pte kEdits[] = {pte::kRw, pte::kAccessed, pte::kDirty, pte::kPresent};
  const std::uint64_t entry = in.u8() < 128 ? current ^ kEdits[in.u8() % 4] : make_entry(in, d);
  const std::uint64_t value = entry >> ((maddr & 7) * 8);
  if (in.u8() < 80) {
    std::uint64_t observed = 0;
    const std::uint64_t expected = in.u8() < 200 ? (m_.word(maddr >> 12, (maddr & 0xfff) >> 3) >> ((maddr & 7) * 8)) : in.u64();
    return m_.ops.ptwr_emulated_cmpxchg(c, maddr, expected, value, width, observed);
  }
  return m_.ops.ptwr_emulated_write(c, maddr, value, width);
}

Status MmDriver::op_alloc(Step& st) {
  if (owned_[st.d.domid].size() >= kFramesPerDomain) return hv::kOk;
  hv::Result<Mfn> r = m_.frames.alloc_domain_frames(st.d, 0);
  if (r) {
    m_.word(*r, 0) = 0;  // marks it for reset()
    m_.mem[*r].fill(0);
  }
  return r.status();
}

// One mmu_update request; dom0 sometimes names another domain, DOMID_XEN or DOMID_IO.
Status MmDriver::op_mmu_single(ByteSource& in, Step& st, bool preserve_ad) {
  const Mfn table = pick_frame(in, st.d);
  const unsigned index = in.u8() < 200 ? in.u8() % 16 : in.u16() % 512;
  std::uint64_t cmd = preserve_ad ? pv::MMU_PT_UPDATE_PRESERVE_AD : pv::MMU_NORMAL_PT_UPDATE;
  if (in.u8() < 8) cmd = in.u8() % 8;
  pv::mmu_update req{(table << 12) | (index * 8) | cmd, make_entry(in, st.d)};
  std::uint32_t foreign = pv::DOMID_SELF;
  if (&st.d == &m_.dom0 && in.u8() < 80) {
    static constexpr pv::domid_t kIds[] = {1, 2, pv::DOMID_XEN, pv::DOMID_IO};
    foreign = kIds[in.u8() % 4];
    const Mfn target = foreign == pv::DOMID_XEN ? kM2pFirst + in.u8() % kM2pFrames
                       : foreign == pv::DOMID_IO ? Mfn{in.u8()}
                                                 : pick_owned(in, foreign == 2 ? m_.d2 : m_.d1);
    req.val = pte::make(target, pte::kPresent | (in.u8() & pte::kRw));
  }
  st.what << " mmu_update ptr " << std::hex << req.ptr << " val " << req.val << std::dec;
  st.atomic = true;
  unsigned done = 0;
  return m_.ops.mmu_update(m_.caller(st.d, st.vcpu), {&req, 1}, done, foreign);
}

Status MmDriver::op_mmu_batch(ByteSource& in, Step& st) {
  pv::mmu_update reqs[4];
  const unsigned n = 2 + in.u8() % 3;
  for (unsigned i = 0; i < n; ++i)
    reqs[i] = {(pick_frame(in, st.d) << 12) | ((in.u8() % 16) * 8), make_entry(in, st.d)};
  unsigned done = 0;
  Status rc = m_.ops.mmu_update(m_.caller(st.d, st.vcpu), {reqs, n}, done, pv::DOMID_SELF);
  if (done > n || (rc.ok() && done != n)) st.violation = "bad done count";
  return rc;
}

Status MmDriver::op_update_va(ByteSource& in, Step& st) {
  const std::uint64_t va = guided_va(in, m_.vcpus_of(st.d)[st.vcpu]);
  static constexpr std::uint64_t kFlags[] = {0, 1, 2, 3, 5, 6, 0x1000 | 1, 0x2000 | 2};
  st.what << " update_va_mapping va " << std::hex << va << std::dec;
  Status rc = m_.ops.update_va_mapping(m_.caller(st.d, st.vcpu), va, make_entry(in, st.d),
                                       kFlags[in.u8() % 8]);
  st.atomic = rc.code() != -pv::XEN_EFAULT;  // a bad bitmap is reported after the write
  return rc;
}

Status MmDriver::op_machphys(ByteSource& in, Step& st) {
  pv::mmu_update req{(pick_frame(in, st.d) << 12) | pv::MMU_MACHPHYS_UPDATE, in.u32()};
  st.atomic = true;
  unsigned done = 0;
  return m_.ops.mmu_update(m_.caller(st.d, st.vcpu), {&req, 1}, done, pv::DOMID_SELF);
}

// Domain destruction (rarely): afterwards no table of the domain may hold a reference.
Status MmDriver::op_relinquish(ByteSource& in, Step& st) {
  if (in.u8() >= 24) return hv::kOk;
  st.what << " relinquish";
  m_.recreate(st.d);
  refresh_owned();
  for (Mfn t = 0; t < kFrames; ++t) {
    const hv::PageInfo& p = m_.pages[t];
    if (p.owner == st.d.domid &&
        (p.pinned() || (hv::is_page_table(p.type()) && p.type_count() != 0)))
      st.violation = "table survived relinquish";
  }
  return hv::kOk;
}

Status MmDriver::op_batch_pins(ByteSource& in, Step& st) {
  pv::mmuext_op ops[3] = {};
  for (auto& op : ops) {
    op.cmd = in.u8() % 5;
    op.arg1.mfn = pick_owned(in, st.d);
  }
  unsigned done = 0;
  return m_.ops.mmuext_op(m_.caller(st.d, st.vcpu), {ops, 3}, done, pv::DOMID_SELF);
}

Status MmDriver::dispatch(ByteSource& in, Step& st, unsigned kind) {
  switch (kind) {
    case 0: return op_alloc(st);
    case 1: return guest_write(in, st.d);
    case 2:
    case 3: return op_mmu_single(in, st, kind == 3);
    case 4: return op_mmu_batch(in, st);
    case 5:
    case 6: return do_mmuext(in, st.d, st.atomic);
    case 7: return op_update_va(in, st);
    case 8: st.atomic = true; return do_ptwr(in, st.d);
    case 9:
    case 14: return build_tree(in, st.d);
    case 10: return op_machphys(in, st);
    case 11: return m_.ops.vm_assist(st.d, in.u8() % 3, in.u8() % 40);
    case 13: return op_relinquish(in, st);
    default: return op_batch_pins(in, st);  // 12, 15
  }
}

std::string MmDriver::step(ByteSource& in) {
  Step st{pick_domain(in), 0, false, {}, {}};
  st.vcpu = in.u8() % m_.vcpus_of(st.d).size();
  const unsigned kind = in.u8() % 16;
  refresh_owned();
  const std::uint64_t before = fingerprint(m_.pages);
  st.what << "op " << ops_ << " kind " << kind << " d" << st.d.domid;
  const Status rc = dispatch(in, st, kind);
  ++ops_;
  ++tried_[kind];
  if (rc.ok()) {
    ++ok_;
    ++succeeded_[kind];
  }
  std::size_t tables = 0;
  for (const hv::PageInfo& p : m_.pages) tables += hv::is_page_table(p.type()) && p.type_count() != 0;
  if (tables > max_tables_) max_tables_ = tables;
  const std::string what = st.what.str() + " rc " + std::to_string(rc.code());
  if (!st.violation.empty()) return what + ": " + st.violation;
  if (st.atomic && !rc.ok() && fingerprint(m_.pages) != before)
    return what + ": failed but changed the frame table";
  std::string err = check_consistency(m_);
  return err.empty() ? err : what + ":\n" + err;
}

std::string MmDriver::run(ByteSource& in, std::size_t max_ops) {
  while (!in.empty() && ops_ < max_ops) {
    std::string err = step(in);
    if (!err.empty()) return err;
  }
  return {};
}

}  // namespace mmtest
