// IoPortRanges: rebuilds the range list into a scratch copy so a failed change leaves the
// original untouched.
#include "io_port_ranges.hpp"

namespace hv {

bool IoPortRanges::permit(std::uint16_t first, std::uint16_t last) {
  if (first > last) return false;
  Range out[kMaxRanges];
  unsigned n = 0;
  Range add{first, last};
  bool placed = false;
  for (unsigned i = 0; i < count_; ++i) {
    const Range r = ranges_[i];
    if (r.last + 1 < add.first) {  // wholly before, not adjacent
      out[n++] = r;
    } else if (add.last + 1 < r.first) {  // wholly after
      if (!placed) {
        if (n == kMaxRanges) return false;
        out[n++] = add;
        placed = true;
      }
      if (n == kMaxRanges) return false;
      out[n++] = r;
    } else {  // overlapping or adjacent: merge into `add`
      add.first = r.first < add.first ? r.first : add.first;
      add.last = r.last > add.last ? r.last : add.last;
    }
  }
  if (!placed) {
    if (n == kMaxRanges) return false;
    out[n++] = add;
  }
  for (unsigned i = 0; i < n; ++i) ranges_[i] = out[i];
  count_ = n;
  return true;
}

bool IoPortRanges::deny(std::uint16_t first, std::uint16_t last) {
  if (first > last) return false;
  Range out[kMaxRanges];
  unsigned n = 0;
  for (unsigned i = 0; i < count_; ++i) {
    const Range r = ranges_[i];
    if (r.last < first || r.first > last) {
      out[n++] = r;
      continue;
    }
    if (r.first < first) {
      if (n == kMaxRanges) return false;
      out[n++] = Range{r.first, std::uint32_t{first} - 1};
    }
    if (r.last > last) {
      if (n == kMaxRanges) return false;
      out[n++] = Range{std::uint32_t{last} + 1, r.last};
    }
  }
  for (unsigned i = 0; i < n; ++i) ranges_[i] = out[i];
  count_ = n;
  return true;
}

bool IoPortRanges::permitted(unsigned first, unsigned last) const {
  if (first > last) return false;
  for (unsigned i = 0; i < count_; ++i)
    if (ranges_[i].first <= first && last <= ranges_[i].last) return true;
  return false;
}

bool grant_hardware_domain_ports(IoPortRanges& ports, std::uint16_t pm_timer_port,
                                 std::uint16_t serial_base) {
  bool ok = ports.permit(0, 0xffff);
  ok = ok && ports.deny(0x20, 0x21) && ports.deny(0xa0, 0xa1);  // PICs
  ok = ok && ports.deny(0x40, 0x43) && ports.deny(0x61, 0x61);  // PIT, speaker/channel 2
  ok = ok && ports.deny(0xcfc, 0xcff);                          // PCI config data
  if (pm_timer_port != 0 && pm_timer_port <= 0xfffc)
    ok = ok && ports.deny(pm_timer_port, static_cast<std::uint16_t>(pm_timer_port + 3));
  if (serial_base != 0 && serial_base <= 0xfff8)
    ok = ok && ports.deny(serial_base, static_cast<std::uint16_t>(serial_base + 7));
  return ok;
}

}  // namespace hv
