// fake_machine: the hosted machine and the reference checker. The checker trusts nothing the
// frame table says: it recounts every reference from the tables' contents, pins and roots.
#include "fake_machine.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/log.hpp"
#include "pv/errno.hpp"

namespace mmtest {

using hv::DomainMemory;
using hv::PageInfo;
using hv::PageType;
namespace pte = hv::pte;

FakeMachine::FakeMachine()
    : mem(kFrames),
      dirty(kFrames),
      alloc_slots(kFrames),
      pages(kFrames),
      m2p(kFrames, ~std::uint64_t{0}),
      validator(frames, *this, *this, *this),
      ops(hv::MmContext{frames, validator, *this, *this, *this, *this, *this}),
      vcpus0(2),
      vcpus1(2),
      vcpus2(1) {
  if (!map.add(0, kFrames * 4096, hv::MemoryType::usable)) std::abort();
  map.normalize();
  frames.set_hooks(&validator);
  frames.set_m2p(this);
  if (!frames.attach_domain(dom0) || !frames.attach_domain(d1) || !frames.attach_domain(d2))
    std::abort();
  reset();
}

void FakeMachine::reset() {
  for (Mfn f = 0; f < kFrames; ++f)
    if (dirty[f]) {
      mem[f].fill(0);
      dirty[f] = false;
    }
  m2p.assign(kFrames, ~std::uint64_t{0});
  allocator.init(alloc_slots);
  const hv::ReservedRange reserved[] = {{0, 1u << 20},
                                        {kXenImageFirst * 4096, (kXenImageEnd - kXenImageFirst) * 4096}};
  allocator.add_usable(map, reserved);
  frames.init(pages, allocator, map);
  for (Mfn m = kM2pFirst; m < kM2pFirst + kM2pFrames; ++m)
    frames.share_xen_frame(m, pv::DOMID_XEN, false);
  dom0 = hv::DomainMemory{0, true, false, 0, 1024, 0};
  d1 = hv::DomainMemory{1, false, false, 0, 512, 0};
  d2 = hv::DomainMemory{2, false, false, 0, 256, 0};
  for (auto* v : {&vcpus0, &vcpus1, &vcpus2})
    for (unsigned i = 0; i < v->size(); ++i) {
      (*v)[i] = hv::VcpuMm{};
      (*v)[i].vcpu_id = i;
    }
  guest_masks.clear();
  flush_local_count = invlpg_local_count = flush_multi_count = invlpg_multi_count = 0;
  flush_domain_count = invlpg_domain_count = cache_flush_count = xen_slot_inits = 0;
}

std::uint64_t* FakeMachine::frame(Mfn mfn) {
  if (mfn >= kFrames) {
    std::fprintf(stderr, "core touched frame %#llx outside RAM\n", (unsigned long long)mfn);
    std::abort();
  }
  dirty[mfn] = true;
  return mem[mfn].data();
}

void FakeMachine::init_xen_l4_slots(std::uint64_t* l4, Mfn, pv::domid_t, bool ro_mpt) {
  ++xen_slot_inits;
  for (unsigned s = pte::kFirstXenSlot; s <= pte::kLastXenSlot; ++s) l4[s] = xen_slot_value(s);
  if (!ro_mpt) l4[pte::kRoMptSlot] = 0;
}

hv::Status FakeMachine::read(std::uint64_t guest_va, hv::VcpuSet& out) {
  auto it = guest_masks.find(guest_va);
  if (it == guest_masks.end()) return hv::Status::error(-pv::XEN_EFAULT);
  out = it->second;
  return hv::kOk;
}

std::vector<hv::VcpuMm>& FakeMachine::vcpus_of(const DomainMemory& d) {
  if (&d == &dom0) return vcpus0;
  if (&d == &d1) return vcpus1;
  return vcpus2;
}

hv::MmCaller FakeMachine::caller(DomainMemory& d, unsigned vcpu) {
  return hv::MmCaller{d, vcpus_of(d).at(vcpu)};
}

Mfn FakeMachine::new_frame(DomainMemory& d) {
  hv::Result<Mfn> r = frames.alloc_domain_frames(d, 0);
  if (!r) {
    std::fprintf(stderr, "new_frame: d%u out of frames (%d)\n", d.domid, r.status().code());
    std::abort();
  }
  word(*r, 0) = 0;
  mem[*r].fill(0);
  return *r;
}

void FakeMachine::recreate(DomainMemory& d) {
  auto& v = vcpus_of(d);
  ops.relinquish(d, v);
  d.dying = false;
  d.vm_assist = 0;
  for (auto& vc : v) {
    const unsigned id = vc.vcpu_id;
    vc = hv::VcpuMm{};
    vc.vcpu_id = id;
  }
}

void log_to_stderr() {
  static bool done = false;
  if (done) return;
  done = hv::log_add_sink([](const char* text, std::size_t length) {
    std::fwrite(text, 1, length, stderr);
  });
}

namespace {

// Reused between calls: the checker runs after every step of long randomized runs.
struct Expected {
  std::vector<long> general, type, linear;
  void reset(std::size_t n) {
    general.assign(n, 0);
    type.assign(n, 0);
    linear.assign(n, 0);
  }
};

bool is_io(const FakeMachine& m, Mfn t) {
  return t >= kFrames || m.pages[t].owner == pv::DOMID_IO;
}

// Accounts one validated table's entries, checking each against the rules.
void account_table(FakeMachine& m, Mfn t, Expected& e, std::ostringstream& err) {
  const PageInfo& p = m.pages[t];
  const unsigned level = static_cast<unsigned>(p.type());
  const DomainMemory* d = m.frames.domain(p.owner);
  if (d == nullptr) {
    err << "table " << t << " owned by non-domain " << p.owner << "\n";
    return;
  }
  for (unsigned i = 0; i < 512; ++i) {
    const Pte x = m.mem[t][i];
    if (level == 4 && !pte::is_guest_l4_slot(i)) {
      const bool ok = x == xen_slot_value(i) || (i == pte::kRoMptSlot && x == 0);
      if (!ok) err << "L4 " << t << " xen slot " << i << " = " << std::hex << x << std::dec << "\n";
      continue;
    }
    if (!pte::present(x)) continue;
    const Mfn target = pte::mfn_of(x);
    if ((x & pte::kUser) == 0) err << "table " << t << "[" << i << "] lacks US\n";
    if (level == 1) {
      const Pte bad = d->privileged ? pte::kL1DisallowCacheOk : pte::kL1Disallow;
      if ((x & bad) != 0) err << "L1 " << t << "[" << i << "] has disallowed bits\n";
      if (is_io(m, target)) {
        if (!d->privileged) err << "unprivileged L1 " << t << " maps MMIO " << target << "\n";
        continue;
      }
      if (m.pages[target].owner != d->domid && !d->privileged)
        err << "L1 " << t << "[" << i << "] maps foreign frame " << target << "\n";
      ++e.general[target];
      if ((x & pte::kRw) != 0) {
        ++e.type[target];
        if (m.pages[target].type() != PageType::writable)
          err << "RW mapping of non-writable-typed frame " << target << "\n";
      }
      continue;
    }
    if ((x & pte::kBaseDisallow) != 0) err << "L" << level << " " << t << " bad flags\n";
    if (target == t) continue;  // self-linear: no reference
    if (target >= kFrames || m.pages[target].owner != d->domid) {
      err << "L" << level << " " << t << "[" << i << "] names foreign " << target << "\n";
      continue;
    }
    ++e.general[target];
    ++e.type[target];
    const auto tt = static_cast<unsigned>(m.pages[target].type());
    if (tt == level) {
      if ((x & pte::kRw) != 0) err << "writable linear entry in " << t << "\n";
      ++e.linear[t];
      --e.linear[target];
    } else if (tt != level - 1) {
      err << "L" << level << " " << t << "[" << i << "] names type " << tt << "\n";
    }
  }
}

void add_root(FakeMachine& m, Mfn r, Expected& e, std::ostringstream& err) {
  if (r == 0) return;
  ++e.general[r];
  ++e.type[r];
  if (m.pages[r].type() != PageType::l4) err << "root " << r << " is not an L4\n";
}

}  // namespace

std::string check_consistency(FakeMachine& m) {
  std::ostringstream err;
  static thread_local Expected e;
  e.reset(kFrames);
  for (Mfn t = 0; t < kFrames; ++t) {
    const PageInfo& p = m.pages[t];
    if ((p.count_info & hv::PGC_allocated) != 0) ++e.general[t];
    // I/O and shared hypervisor frames carry a permanent type reference.
    if (p.owner == pv::DOMID_IO || (p.count_info & hv::PGC_xen_heap) != 0) ++e.type[t];
    if (p.pinned()) {
      ++e.general[t];
      ++e.type[t];
      if (!hv::is_page_table(p.type())) err << "pinned non-table " << t << "\n";
    }
    if (hv::is_page_table(p.type()) && p.type_count() != 0) {
      if (!p.validated()) err << "typed table " << t << " not validated\n";
      account_table(m, t, e, err);
    }
  }
  for (auto* vs : {&m.vcpus0, &m.vcpus1, &m.vcpus2})
    for (const hv::VcpuMm& v : *vs) {
      add_root(m, v.guest_table, e, err);
      add_root(m, v.guest_table_user, e, err);
      for (Mfn f : v.ldt_frames) {  // the loaded LDT's seg_desc references
        if (f == 0) continue;
        ++e.general[f];
        ++e.type[f];
        if (m.pages[f].type() != PageType::seg_desc) err << "LDT frame " << f << " is not seg_desc\n";
      }
    }
  std::uint64_t owned[3] = {0, 0, 0};
  std::uint64_t free_frames = 0;
  for (Mfn t = 0; t < kFrames; ++t) {
    const PageInfo& p = m.pages[t];
    if (static_cast<long>(p.count()) != e.general[t] ||
        static_cast<long>(p.type_count()) != e.type[t] || p.linear_pt_count != e.linear[t]) {
      err << "frame " << t << " owner " << p.owner << " type " << int(p.type()) << ": count "
          << p.count() << "/" << e.general[t] << " typecount " << p.type_count() << "/"
          << e.type[t] << " linear " << p.linear_pt_count << "/" << e.linear[t] << "\n";
    }
    if (p.owner < 3 && (p.count_info & hv::PGC_xen_heap) == 0) ++owned[p.owner];
    if (p.owner == hv::FrameTable::kNoOwner && t >= kXenImageEnd) ++free_frames;
  }
  const DomainMemory* doms[] = {&m.dom0, &m.d1, &m.d2};
  for (const DomainMemory* d : doms) {
    if (d->tot_pages != owned[d->domid])
      err << "d" << d->domid << " tot_pages " << d->tot_pages << " but owns " << owned[d->domid] << "\n";
    if (d->tot_pages > d->max_pages) err << "d" << d->domid << " over max_pages\n";
  }
  if (m.allocator.free_frames() != free_frames)
    err << "allocator has " << m.allocator.free_frames() << " free, table " << free_frames << "\n";
  std::string s = err.str();
  if (s.size() > 4000) s.resize(4000);
  return s;
}

void snapshot_into(const FakeMachine& m, FrameSnapshot& out) {
  out.rows.resize(m.pages.size());
  for (std::size_t i = 0; i < m.pages.size(); ++i) {
    const PageInfo& p = m.pages[i];
    const std::uint64_t type = p.type_count() != 0 ? p.type_info : (p.type_info & hv::PGT_pinned);
    out.rows[i] = {p.count_info, type, p.owner, static_cast<std::uint64_t>(p.linear_pt_count)};
  }
}

FrameSnapshot snapshot(const FakeMachine& m) {
  FrameSnapshot s;
  snapshot_into(m, s);
  return s;
}

}  // namespace mmtest
