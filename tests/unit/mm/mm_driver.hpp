// mm_driver: turns a byte stream into a sequence of guest MM operations (mmu_update,
// mmuext_op, update_va_mapping, ptwr writes, domain rebuilds) on a FakeMachine, checking the
// frame table against the reference checker after every step. Used by the randomized unit
// tests (bytes from a seeded PRNG) and the fuzz target (bytes from the fuzzer).
#pragma once
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fake_machine.hpp"

namespace mmtest {

class ByteSource {
 public:
  ByteSource(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return u16() | (std::uint32_t{u16()} << 16); }
  std::uint64_t u64() { return u32() | (std::uint64_t{u32()} << 32); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

class MmDriver {
 public:
  explicit MmDriver(FakeMachine& m) : m_(m) {}
  // Runs operations until the input is exhausted or `max_ops` ran. Returns "" if every check
  // passed, else a description of the first violation (with the operation that caused it).
  std::string run(ByteSource& in, std::size_t max_ops);
  std::size_t ops_run() const { return ops_; }
  std::size_t ops_succeeded() const { return ok_; }
  // Per operation kind (0..15, see step()): how often it ran and how often it succeeded.
  std::size_t tried(unsigned kind) const { return tried_[kind]; }
  std::size_t succeeded(unsigned kind) const { return succeeded_[kind]; }
  // The most page tables validated at once during the run (how deep the states got).
  std::size_t max_tables() const { return max_tables_; }

 private:
  // What one step did, for the report if it breaks something.
  struct Step {
    hv::DomainMemory& d;
    unsigned vcpu;
    bool atomic;             // a failure must leave the frame table unchanged
    std::ostringstream what;
    std::string violation;   // set by an operation that saw something wrong itself
  };

  std::string step(ByteSource& in);
  hv::Status dispatch(ByteSource& in, Step& st, unsigned kind);
  hv::Status op_alloc(Step& st);
  hv::Status op_mmu_single(ByteSource& in, Step& st, bool preserve_ad);
  hv::Status op_mmu_batch(ByteSource& in, Step& st);
  hv::Status op_update_va(ByteSource& in, Step& st);
  hv::Status op_machphys(ByteSource& in, Step& st);
  hv::Status op_relinquish(ByteSource& in, Step& st);
  hv::Status op_batch_pins(ByteSource& in, Step& st);
  hv::DomainMemory& pick_domain(ByteSource& in);
  Mfn pick_frame(ByteSource& in, const hv::DomainMemory& d);
  Mfn pick_owned(ByteSource& in, const hv::DomainMemory& d);
  Pte make_entry(ByteSource& in, const hv::DomainMemory& d);
  std::uint64_t make_va(ByteSource& in);
  std::uint64_t guided_va(ByteSource& in, const hv::VcpuMm& v, bool want_table_view = false);
  hv::Status build_tree(ByteSource& in, hv::DomainMemory& d);
  hv::Status guest_write(ByteSource& in, hv::DomainMemory& d);
  hv::Status do_mmuext(ByteSource& in, hv::DomainMemory& d, bool& atomic);
  hv::Status do_ptwr(ByteSource& in, hv::DomainMemory& d);

  void refresh_owned();

  FakeMachine& m_;
  std::vector<Mfn> owned_[3];
  std::vector<std::uint64_t> tree_vas_;  // VAs mapped by built trees: walks that can succeed  // frames of dom0, d1, d2 as of the start of this step
  std::size_t ops_ = 0;
  std::size_t ok_ = 0;
  std::size_t tried_[16] = {};
  std::size_t succeeded_[16] = {};
  std::size_t max_tables_ = 0;
  std::string last_op_;
};

}  // namespace mmtest
