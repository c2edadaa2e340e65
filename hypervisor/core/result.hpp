// result: errors as values. A hypercall path returns Status (0 or a negative Xen errno) or
// Result<T>; HV_TRY propagates a failure to the caller. Nothing changes state before every
// check has passed (decode -> validate -> commit), so an early return leaves no trace.
#pragma once
#include <type_traits>
#include <utility>

namespace hv {

// A negative Xen errno (pv/errno.hpp: -XEN_EINVAL, ...); 0 means success.
class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  static constexpr Status error(int negative_errno) { return Status(negative_errno); }
  constexpr bool ok() const { return code_ == 0; }
  constexpr explicit operator bool() const { return ok(); }
  constexpr int code() const { return code_; }  // 0 or negative errno: the hypercall return value
  constexpr bool operator==(const Status&) const = default;

 private:
  constexpr explicit Status(int code) : code_(code) {}
  int code_ = 0;
};

inline constexpr Status kOk{};

template <typename T>
class [[nodiscard]] Result {
  static_assert(std::is_trivially_destructible_v<T>, "kernel results hold plain values");

 public:
  constexpr Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  constexpr Result(Status status) : status_(status) {}     // NOLINT: must be an error
  constexpr bool ok() const { return status_.ok(); }
  constexpr explicit operator bool() const { return ok(); }
  constexpr Status status() const { return status_; }
  constexpr const T& value() const { return value_; }
  constexpr T& value() { return value_; }
  constexpr const T& operator*() const { return value_; }
  constexpr const T* operator->() const { return &value_; }

 private:
  T value_{};
  Status status_{};
};

}  // namespace hv

// Returns the failure of `expr` (a Status or Result) from the enclosing function.
#define HV_TRY(expr)                                      \
  do {                                                    \
    auto hv_try_result_ = (expr);                         \
    if (!hv_try_result_.ok()) return ::hv::detail_status(hv_try_result_); \
  } while (0)

namespace hv {
inline Status detail_status(Status s) { return s; }
template <typename T>
inline Status detail_status(const Result<T>& r) { return r.status(); }
}  // namespace hv
