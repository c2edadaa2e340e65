// pte: x86-64 page-table entry bits and the masks Xen applies to a 64-bit PV guest's entries
// (mm.c base_disallow_mask, L*_DISALLOW_MASK, FASTPATH_*; pv/mm.h adjust_guest_l*e). These
// masks are the whole policy on flag bits: a guest-chosen entry never reaches a live table
// without passing them in page_type.cpp.
#pragma once
#include <cstdint>

namespace hv::pte {

using Pte = std::uint64_t;

inline constexpr unsigned kEntries = 512;  // entries per table at every level

inline constexpr Pte kPresent = Pte{1} << 0;
inline constexpr Pte kRw = Pte{1} << 1;
inline constexpr Pte kUser = Pte{1} << 2;
inline constexpr Pte kPwt = Pte{1} << 3;
inline constexpr Pte kPcd = Pte{1} << 4;
inline constexpr Pte kAccessed = Pte{1} << 5;
inline constexpr Pte kDirty = Pte{1} << 6;
inline constexpr Pte kPse = Pte{1} << 7;  // superpage in L2/L3
inline constexpr Pte kPat = Pte{1} << 7;  // PAT index bit 2 in L1
inline constexpr Pte kGlobal = Pte{1} << 8;
inline constexpr Pte kAvail = Pte{7} << 9;  // software bits 9-11
// Bit 52: Xen marks guest-kernel L1 mappings (they carry US=1 like user ones, since the
// kernel runs in ring 3); such mappings never get G.
inline constexpr Pte kGuestKernel = Pte{1} << 52;
// Bit 62: grant-mapping marker. Xen forbids it in guest L1 entries in debug builds and allows
// it in release builds; we forbid it (spec 4.2 recommendation) so it stays free for grants.
inline constexpr Pte kGnttab = Pte{1} << 62;
inline constexpr Pte kAvailHigh = Pte{0x7ff} << 52;  // bits 52-62
inline constexpr Pte kNx = Pte{1} << 63;

inline constexpr Pte kAddrMask = 0x000f'ffff'ffff'f000;  // bits 12-51 (PADDR_MASK & PAGE_MASK)
inline constexpr Pte kFlagsMask = ~kAddrMask;
inline constexpr Pte kCacheAttrs = kPat | kPcd | kPwt;
inline constexpr Pte kUncached = kPcd | kPwt;  // PAT index 3: UC under Xen's PAT layout
inline constexpr std::uint64_t kInvalidMfn = kAddrMask >> 12;  // all-ones frame field

// What a guest may set in a present entry at any level (Xen's base_disallow_mask is the
// complement): P, RW, US, A, D, AVAIL, AVAIL_HIGH, NX. So PWT, PCD, PSE/PAT and G are refused,
// which also refuses PV superpages (XSA-148).
inline constexpr Pte kBaseAllowed =
    kPresent | kRw | kUser | kAccessed | kDirty | kAvail | kAvailHigh | kNx;
inline constexpr Pte kBaseDisallow = kFlagsMask & ~kBaseAllowed;
// L1 additionally allows G (for user mappings) and refuses the grant marker; cache attributes
// (PWT, PCD, PAT) are allowed only to domains that may flush caches (here: privileged ones).
inline constexpr Pte kL1Disallow = (kBaseDisallow | kGnttab) & ~kGlobal;
inline constexpr Pte kL1DisallowCacheOk = kL1Disallow & ~kCacheAttrs;
inline constexpr Pte kL2Disallow = kBaseDisallow;
inline constexpr Pte kL3Disallow = kBaseDisallow;
inline constexpr Pte kL4Disallow = kBaseDisallow;

// Flags a guest may change in a validated entry without revalidation (Xen's
// FASTPATH_FLAG_WHITELIST, also used for L2-L4 since linear page tables are supported: RW is
// deliberately absent, XSA-182).
inline constexpr Pte kFastpathWhitelist = kNx | kAvailHigh | kAvail | kGlobal | kDirty |
                                          kAccessed | kUser;

// L4 slots the hypervisor owns in every 64-bit PV root (ROOT_PAGETABLE_{FIRST,LAST}_XEN_SLOT).
inline constexpr unsigned kFirstXenSlot = 256;
inline constexpr unsigned kLastXenSlot = 271;
inline constexpr unsigned kRoMptSlot = 256;  // read-only M2P (RO_MPT_VIRT_START)

constexpr std::uint64_t mfn_of(Pte e) { return (e & kAddrMask) >> 12; }
constexpr bool present(Pte e) { return (e & kPresent) != 0; }
constexpr Pte make(std::uint64_t mfn, Pte flags) { return (mfn << 12) | flags; }
constexpr bool is_guest_l4_slot(unsigned slot) {
  return slot < kFirstXenSlot || slot > kLastXenSlot;
}
// True if the frame or any flag outside `whitelist` differs (Xen's l?e_has_changed).
constexpr bool has_changed(Pte a, Pte b, Pte whitelist) {
  return ((a ^ b) & (kAddrMask | (kFlagsMask & ~whitelist))) != 0;
}
// PAT index (0-7) selected by an L1 entry's PAT/PCD/PWT bits.
constexpr unsigned cache_index(Pte e) {
  return static_cast<unsigned>(((e >> 5) & 4) | ((e >> 3) & 3));
}
// Xen's PAT: WB, WT, UC-, UC, WC, WP, UC, UC. Only WB, WT and WP cache.
constexpr bool cacheable(Pte e) {
  unsigned i = cache_index(e);
  return i == 0 || i == 1 || i == 5;
}

// Xen's adjust_guest_l1e for 64-bit PV: kernel mappings (no US) get US + the guest-kernel
// marker, user mappings get G (harmless: user/kernel switches reload CR3).
constexpr Pte adjust_guest_l1e(Pte e) {
  if (!present(e)) return e;
  if ((e & kUser) == 0) e |= kGuestKernel | kUser;
  if ((e & kGuestKernel) == 0) e |= kGlobal | kUser;
  return e;
}
// Present L2/L3 entries get US; L4 entries get US and A (Xen's adjust_guest_l[234]e).
constexpr Pte adjust_guest_l23e(Pte e) { return present(e) ? (e | kUser) : e; }
constexpr Pte adjust_guest_l4e(Pte e) { return present(e) ? (e | kUser | kAccessed) : e; }

// Virtual-address decomposition for a 4-level walk.
constexpr unsigned table_index(std::uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 0x1ff);
}

}  // namespace hv::pte
