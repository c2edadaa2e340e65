// hc_mm: the PV MMU hypercalls' guest interface: arguments are copied in from guest memory
// in bounded chunks and handed to MmOps (mm_ops.cpp), which does every check; the count of
// completed operations goes back through `pdone`.
#include <pv/errno.hpp>
#include <pv/mmu.hpp>

#include "hypercall.hpp"
#include "mm_ops.hpp"

namespace hv {
namespace {

constexpr std::uint64_t kPreempted = 1ull << 31;      // MMU_UPDATE_PREEMPTED in `count`
constexpr std::uint64_t kMaxBatch = 1u << 20;        // bound the work one call can ask for
constexpr unsigned kChunk = 32;

// Runs `op(span, done)` over `count` entries of T at guest address `list`, chunk by chunk.
template <typename T, typename Op>
long batched(HypercallContext& ctx, const HypercallArgs& args, Op op) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  const std::uint64_t count = args.a2 & ~kPreempted;
  if (count > kMaxBatch) return -pv::XEN_EINVAL;
  std::uint64_t total = 0;
  Status status = kOk;
  while (total < count && status.ok()) {
    T chunk[kChunk];
    const unsigned n = static_cast<unsigned>(count - total < kChunk ? count - total : kChunk);
    if (!ctx.memory.copy_from_guest(chunk, args.a1 + total * sizeof(T), n * sizeof(T)).ok()) {
      status = Status::error(-pv::XEN_EFAULT);
      break;
    }
    unsigned done = 0;
    status = op(std::span<const T>(chunk, n), done);
    total += done;
    if (ctx.vcpu.domain().is_shut_down()) break;
  }
  if (args.a3 != 0) {
    const std::uint32_t done32 = static_cast<std::uint32_t>(total);
    if (!ctx.memory.write(args.a3, done32).ok() && status.ok()) status = Status::error(-pv::XEN_EFAULT);
  }
  return status.code();
}

MmCaller caller_of(HypercallContext& ctx) { return MmCaller{ctx.vcpu.domain().memory, ctx.vcpu.mm}; }

}  // namespace

long do_mmu_update(HypercallContext& ctx, const HypercallArgs& args) {
  return batched<pv::mmu_update>(ctx, args, [&](std::span<const pv::mmu_update> reqs, unsigned& done) {
    return ctx.mm->mmu_update(caller_of(ctx), reqs, done, static_cast<std::uint32_t>(args.a4));
  });
}

long do_mmuext_op(HypercallContext& ctx, const HypercallArgs& args) {
  return batched<pv::mmuext_op>(ctx, args, [&](std::span<const pv::mmuext_op> ops, unsigned& done) {
    return ctx.mm->mmuext_op(caller_of(ctx), ops, done, static_cast<pv::domid_t>(args.a4));
  });
}

long do_update_va_mapping(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  return ctx.mm->update_va_mapping(caller_of(ctx), args.a1, args.a2, args.a3).code();
}

long do_update_va_mapping_otherdomain(HypercallContext& ctx, const HypercallArgs& args) {
  if (ctx.mm == nullptr) return -pv::XEN_ENOSYS;
  return ctx.mm
      ->update_va_mapping_otherdomain(caller_of(ctx), args.a1, args.a2, args.a3,
                                      static_cast<pv::domid_t>(args.a4))
      .code();
}

}  // namespace hv
