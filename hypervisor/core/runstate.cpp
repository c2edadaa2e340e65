#include "runstate.hpp"

#include "guest_memory.hpp"

namespace hv {

void runstate_change(VcpuRunstate& r, int state, std::uint64_t now) {
  if (now > r.info.state_entry_time) r.info.time[r.info.state & 3] += now - r.info.state_entry_time;
  r.info.state = state;
  r.info.state_entry_time = now;
}

pv::vcpu_runstate_info runstate_snapshot(const VcpuRunstate& r, std::uint64_t now) {
  VcpuRunstate copy = r;
  runstate_change(copy, r.info.state, now);
  return copy.info;
}

void update_runstate_area(const VcpuRunstate& r, GuestMemory& memory, bool update_flag) {
  if (r.guest_area == 0) return;
  constexpr std::uint64_t kEntryTimeAt = offsetof(pv::vcpu_runstate_info, state_entry_time);
  pv::vcpu_runstate_info copy = r.info;
  if (update_flag) {
    std::uint64_t marked = copy.state_entry_time | pv::XEN_RUNSTATE_UPDATE;
    if (!memory.copy_to_guest(r.guest_area + kEntryTimeAt, &marked, sizeof marked).ok()) return;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    copy.state_entry_time = marked;
  }
  if (!memory.copy_to_guest(r.guest_area, &copy, sizeof copy).ok()) return;
  if (update_flag) {
    __atomic_thread_fence(__ATOMIC_RELEASE);
    std::uint64_t done = r.info.state_entry_time;
    (void)memory.copy_to_guest(r.guest_area + kEntryTimeAt, &done, sizeof done);
  }
}

}  // namespace hv
