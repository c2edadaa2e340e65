// StaticVector: a fixed-capacity vector for the kernel (no allocation). push_back reports
// failure instead of growing, so callers decide what overflowing a boot-time table means.
#pragma once
#include <cstddef>
#include <type_traits>

namespace hv {

template <typename T, std::size_t Capacity>
class StaticVector {
  static_assert(std::is_trivially_copyable_v<T>, "kernel tables hold plain records");

 public:
  [[nodiscard]] bool push_back(const T& value) {
    if (size_ == Capacity) return false;
    items_[size_++] = value;
    return true;
  }
  void erase(std::size_t index) {
    if (index >= size_) return;
    --size_;
    for (std::size_t i = index; i < size_ && i + 1 < Capacity; ++i) items_[i] = items_[i + 1];
  }
  [[nodiscard]] bool insert(std::size_t index, const T& value) {
    if (size_ >= Capacity || index > size_) return false;
    // (The redundant `i < Capacity` lets the compiler see every index is in bounds.)
    for (std::size_t i = size_; i > index && i < Capacity; --i) items_[i] = items_[i - 1];
    items_[index] = value;
    ++size_;
    return true;
  }
  void clear() { size_ = 0; }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  static constexpr std::size_t capacity() { return Capacity; }
  T& operator[](std::size_t i) { return items_[i]; }
  const T& operator[](std::size_t i) const { return items_[i]; }
  T* begin() { return items_; }
  T* end() { return items_ + size_; }
  const T* begin() const { return items_; }
  const T* end() const { return items_ + size_; }

 private:
  T items_[Capacity] = {};
  std::size_t size_ = 0;
};

}  // namespace hv
