// spinlock: the relax hook (see spinlock.hpp).
#include "spinlock.hpp"

namespace hv {
namespace {

void pause_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

constinit std::atomic<SpinRelaxFn> relax_hook{pause_relax};

}  // namespace

void set_spin_relax(SpinRelaxFn fn) { relax_hook.store(fn != nullptr ? fn : pause_relax, std::memory_order_release); }

void spin_relax() { relax_hook.load(std::memory_order_relaxed)(); }

}  // namespace hv
