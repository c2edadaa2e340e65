// builder_error: what the PV domain builder (elf64, xen_elfnotes, domain_builder) reports
// when it refuses an image or a layout. Kernel images are untrusted (a domU kernel comes
// from a user), so every refusal is a value naming what is wrong, never undefined behaviour.
#pragma once
#include <cstdint>

#include "result.hpp"

namespace hv::builder {

enum class BuildError : std::uint8_t {
  ok = 0,
  // ELF container (elf64)
  elf_truncated,         // file shorter than an ELF header
  elf_bad_magic,         // not "\x7fELF"
  elf_not_x86_64,        // not ELFCLASS64 / little-endian / EM_X86_64
  elf_bad_phdr_table,    // program header table out of the file or wrong entry size
  elf_bad_shdr_table,    // section header table out of the file or wrong entry size
  elf_segment_bounds,    // p_offset + p_filesz outside the file
  elf_segment_memsz,     // p_memsz < p_filesz
  elf_segment_wraps,     // p_paddr + p_memsz overflows
  elf_segments_overlap,  // two loadable segments share physical bytes
  elf_too_many_segments, // more loadable segments than we are willing to check
  elf_no_loadable,       // no PT_LOAD segment with R, W or X
  // Xen notes (xen_elfnotes)
  note_malformed,        // note header/name/desc runs past its segment, or a bad value size
  note_too_many,         // more notes than libelf accepts (65536)
  not_xen_image,         // no Xen notes and no __xen_guest section
  bad_loader,            // LOADER is not "generic" and GUEST_OS is not "linux"
  bad_xen_version,       // XEN_VERSION does not start with "xen-3.0"
  unknown_required_feature,     // '!name' in FEATURES that Xen does not know
  unsupported_required_feature, // a required feature this kind of domain cannot have
  no_dom0_support,       // SUPPORTED_FEATURES present without XENFEAT_dom0 (dom0 build)
  paddr_offset_without_virt_base,
  kernel_range_invalid,  // virt_kstart > virt_kend or virt_base > virt_kstart
  entry_out_of_range,    // entry point outside [virt_kstart, virt_kend]
  p2m_base_invalid,      // INIT_P2M inside the kernel, misaligned or overlapping the mapping
  address_overflow,      // virtual address arithmetic wraps
  address_noncanonical,  // a range crosses the non-canonical hole
  hypervisor_overlap,    // a range touches the hypervisor's reserved L4 slots
  misaligned,            // virt_kstart not page aligned (domU loader needs it)
  // layout and writing (domain_builder)
  invalid_argument,      // caller parameters are inconsistent (nr_pages 0, ...)
  out_of_memory,         // the image, module or tables do not fit in nr_pages
  hypercall_page_invalid, // HYPERCALL_PAGE outside the mapping or not page aligned
  target_failure,        // BuilderTarget::frame_of_pfn/map_frame failed
};

// Stable short name ("elf_segment_bounds") for logs and tests.
const char* build_error_name(BuildError error);
// The negative Xen errno a hypercall/domctl reports for this error (-EINVAL, -ENOMEM, ...).
int build_error_errno(BuildError error);

// A refusal: the kind of error and a short, static reason string (never owned memory).
class [[nodiscard]] BuildStatus {
 public:
  constexpr BuildStatus() = default;
  constexpr BuildStatus(BuildError error, const char* reason) : error_(error), reason_(reason) {}
  constexpr bool ok() const { return error_ == BuildError::ok; }
  constexpr explicit operator bool() const { return ok(); }
  constexpr BuildError error() const { return error_; }
  constexpr const char* reason() const { return reason_; }
  // The same failure as a plain Status (negative errno) for HV_TRY callers.
  Status status() const { return ok() ? kOk : Status::error(build_error_errno(error_)); }

 private:
  BuildError error_ = BuildError::ok;
  const char* reason_ = "";
};

inline constexpr BuildStatus kBuildOk{};

constexpr BuildStatus build_fail(BuildError error, const char* reason) { return {error, reason}; }

// A value or a BuildStatus. Holds plain values only (kernel-safe: nothing to destroy).
template <typename T>
class [[nodiscard]] BuildResult {
  static_assert(std::is_trivially_destructible_v<T>, "builder results hold plain values");

 public:
  constexpr BuildResult(T value) : value_(value) {}            // NOLINT: implicit by design
  constexpr BuildResult(BuildStatus status) : status_(status) {} // NOLINT: must be a failure
  constexpr bool ok() const { return status_.ok(); }
  constexpr explicit operator bool() const { return ok(); }
  constexpr BuildStatus status() const { return status_; }
  constexpr BuildError error() const { return status_.error(); }
  constexpr const T& value() const { return value_; }
  constexpr T& value() { return value_; }
  constexpr const T& operator*() const { return value_; }
  constexpr const T* operator->() const { return &value_; }

 private:
  T value_{};
  BuildStatus status_{};
};

namespace detail {
constexpr BuildStatus to_build_status(BuildStatus s) { return s; }
template <typename T>
constexpr BuildStatus to_build_status(const BuildResult<T>& r) { return r.status(); }
}  // namespace detail

}  // namespace hv::builder

// Returns the failure of `expr` (a BuildStatus or BuildResult) from the enclosing function.
#define BUILDER_TRY(expr)                                                              \
  do {                                                                                 \
    auto builder_try_result_ = (expr);                                                 \
    if (!builder_try_result_.ok())                                                     \
      return ::hv::builder::detail::to_build_status(builder_try_result_);              \
  } while (0)
