// Writable page tables (Xen pv/ro-page-fault.c ptwr_emulated_update): a guest kernel store into
// one of its own read-only mapped L1 tables becomes a validated entry update; ptwr_emulate
// carries out the whole decoded instruction the way x86_emulate would. It must never
// install an entry that mmu_update would refuse, and never write outside the faulting entry.
#include "mm_ops.hpp"

#include "pv/errno.hpp"

namespace hv {
namespace {

Status error(int negative_errno) { return Status::error(negative_errno); }

// Bits of the 8-byte entry a `width`-byte store at `offset_bits` covers.
std::uint64_t lane_mask(unsigned width, unsigned offset_bits) {
  const std::uint64_t low = width == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (width * 8)) - 1;
  return low << offset_bits;
}

}  // namespace

Status MmOps::ptwr_update(MmCaller caller, std::uint64_t maddr, const std::uint64_t* expected,
                          std::uint64_t value, unsigned width, std::uint64_t& observed) {
  DomainMemory& d = caller.domain;
  // Only naturally aligned stores of 1, 2, 4 or 8 bytes (Xen refuses anything else).
  if (width == 0 || width > 8 || (width & (width - 1)) != 0 || (maddr & (width - 1)) != 0)
    return error(-pv::XEN_EINVAL);
  const Mfn mfn = maddr >> 12;
  if (!c_.frames.get_page(mfn, d.domid)) return error(-pv::XEN_EINVAL);
  if (!table_locked(mfn) || c_.frames.page(mfn).type() != PageType::l1) {
    c_.frames.put_page(mfn);
    return error(-pv::XEN_EINVAL);
  }
  std::uint64_t* slot = c_.memory.frame(mfn) + ((maddr & 0xfff) >> 3);
  const unsigned offset_bits = static_cast<unsigned>(maddr & 7) * 8;
  const std::uint64_t lanes = lane_mask(width, offset_bits);
  // A partial store is merged into the full current entry, then the whole entry is checked.
  const std::uint64_t full = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  pte::Pte next = (full & ~lanes) | ((value << offset_bits) & lanes);
  const std::uint64_t old =
      expected == nullptr ? full : (full & ~lanes) | ((*expected << offset_bits) & lanes);
  if (pte::present(next)) {
    Result<pte::Pte> flip = c_.validator.get_page_from_l1e(next, d, d.domid);
    if (!flip) {
      c_.frames.put_page(mfn);
      return flip.status();
    }
    next ^= *flip;
  }
  next = pte::adjust_guest_l1e(next);
  std::uint64_t seen = old;
  if (expected != nullptr) {
    if (!__atomic_compare_exchange_n(slot, &seen, next, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      c_.validator.put_page_from_l1e(next);  // lost the race: undo the new references
      observed = (seen & lanes) >> offset_bits;
      c_.frames.put_page(mfn);
      return kOk;
    }
  } else {
    __atomic_store_n(slot, next, __ATOMIC_RELEASE);
  }
  observed = (old & lanes) >> offset_bits;
  c_.validator.put_page_from_l1e(old);
  c_.frames.put_page(mfn);
  return kOk;
}

// The current `width`-byte value at `maddr` in one of the caller's L1 tables (Xen reads it
// through the guest's read-only mapping; the frame is the same).
Result<std::uint64_t> MmOps::ptwr_read(MmCaller caller, std::uint64_t maddr, unsigned width) {
  const Mfn mfn = maddr >> 12;
  if (!c_.frames.valid(mfn) || !c_.frames.get_page(mfn, caller.domain.domid))
    return error(-pv::XEN_EINVAL);
  const bool l1 = table_locked(mfn) && c_.frames.page(mfn).type() == PageType::l1;
  std::uint64_t value = 0;
  if (l1) {
    const std::uint64_t full = __atomic_load_n(c_.memory.frame(mfn) + ((maddr & 0xfff) >> 3),
                                               __ATOMIC_ACQUIRE);
    value = (full >> ((maddr & 7) * 8)) & lane_mask(width, 0);
  }
  c_.frames.put_page(mfn);
  if (!l1) return error(-pv::XEN_EINVAL);
  return value;
}

// Writes back a computed value: skipped when unchanged, a cmpxchg against `old` when locked.
PtwrOutcome MmOps::ptwr_store(MmCaller caller, const x86dec::DecodedStore& s, std::uint64_t maddr,
                              std::uint64_t old, std::uint64_t value) {
  if (value == old) return PtwrOutcome::emulated;
  if (!s.lock)
    return ptwr_emulated_write(caller, maddr, value, s.width).ok() ? PtwrOutcome::emulated
                                                                   : PtwrOutcome::refused;
  std::uint64_t observed = 0;
  if (!ptwr_emulated_cmpxchg(caller, maddr, old, value, s.width, observed).ok())
    return PtwrOutcome::refused;
  return observed == old ? PtwrOutcome::emulated : PtwrOutcome::retry;
}

PtwrOutcome MmOps::ptwr_emulate(MmCaller caller, const x86dec::DecodedStore& s,
                                std::uint64_t maddr, PtwrRegisters& regs) {
  using x86dec::StoreKind;
  const std::uint64_t src = x86dec::source_value(s, regs.gpr);
  if (s.kind == StoreKind::mov)  // a plain write, even of the value already there
    return ptwr_emulated_write(caller, maddr, src, s.width).ok() ? PtwrOutcome::emulated
                                                                 : PtwrOutcome::refused;
  Result<std::uint64_t> cur = ptwr_read(caller, maddr, s.width);
  if (!cur) return PtwrOutcome::refused;
  if (s.kind == StoreKind::cmpxchg) {
    // Compare with rAX; on a match store the source, else load what was seen into rAX.
    const std::uint64_t acc = regs.gpr[0] & lane_mask(s.width, 0);
    std::uint64_t seen = *cur;
    if (seen == acc) {
      std::uint64_t observed = 0;
      if (!ptwr_emulated_cmpxchg(caller, maddr, acc, src, s.width, observed).ok())
        return PtwrOutcome::refused;
      seen = observed;
    }
    regs.rflags = (regs.rflags & ~x86dec::kArithFlags) | x86dec::cmp_flags(acc, seen, s.width);
    if (seen != acc) regs.gpr[0] = x86dec::merge_register(regs.gpr[0], seen, s.width, false);
    return PtwrOutcome::emulated;
  }
  const x86dec::RmwResult r = x86dec::read_modify_write(s, *cur, src, regs.rflags);
  const PtwrOutcome out = ptwr_store(caller, s, maddr, *cur, r.value);
  if (out != PtwrOutcome::emulated) return out;
  regs.rflags = r.rflags;
  if (s.kind == StoreKind::xchg || s.kind == StoreKind::xadd) {  // the register gets the old value
    const unsigned reg = (s.src_high_byte ? s.src_reg - 4u : s.src_reg) & 15;
    regs.gpr[reg] = x86dec::merge_register(regs.gpr[reg], *cur, s.width, s.src_high_byte);
  }
  return PtwrOutcome::emulated;
}

Status MmOps::ptwr_emulated_write(MmCaller caller, std::uint64_t maddr, std::uint64_t value,
                                  unsigned width) {
  std::uint64_t unused = 0;
  return ptwr_update(caller, maddr, nullptr, value, width, unused);
}

Status MmOps::ptwr_emulated_cmpxchg(MmCaller caller, std::uint64_t maddr, std::uint64_t expected,
                                    std::uint64_t desired, unsigned width,
                                    std::uint64_t& observed) {
  return ptwr_update(caller, maddr, &expected, desired, width, observed);
}

}  // namespace hv
