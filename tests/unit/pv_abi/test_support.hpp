// Helpers for the pv-abi tests: locate a field by writing it and looking for the first
// changed byte (a run-time check independent of offsetof), and compare named constants.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>

namespace pv_test {

template <class U>
void set_marker(U& x) {
    if constexpr (std::is_array_v<U>) {
        set_marker(x[0]);
    } else if constexpr (std::is_integral_v<U> || std::is_enum_v<U>) {
        x = static_cast<U>(1);
    } else {
        std::memset(static_cast<void*>(&x), 0xff, sizeof x);
    }
}

template <class T>
std::size_t first_set_byte(const T& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    for (std::size_t i = 0; i < sizeof v; ++i) {
        if (p[i] != 0) {
            return i;
        }
    }
    return sizeof v;
}

// Offset of `field` in T found at run time: zero a T, mark the field, find the byte.
#define PV_PROBE(T, field, expected)                                          \
    do {                                                                      \
        T probe_obj;                                                          \
        std::memset(static_cast<void*>(&probe_obj), 0, sizeof probe_obj);     \
        ::pv_test::set_marker(probe_obj.field);                               \
        EXPECT_EQ(::pv_test::first_set_byte(probe_obj), std::size_t{expected}) \
            << #T "." #field;                                                 \
    } while (0)

struct Named {
    const char* name;
    long long actual;
    long long expected;
};

inline void expect_all(std::initializer_list<Named> table) {
    for (const Named& n : table) {
        EXPECT_EQ(n.actual, n.expected) << n.name;
    }
}

// PV_K(pv::NAME, value): one row of an independently typed constant table.
#define PV_K(constant, value) ::pv_test::Named{#constant, static_cast<long long>(constant), value}

// Little-endian read of `n` bytes at `off` of an object's representation.
template <class T>
std::uint64_t read_le(const T& v, std::size_t off, std::size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    std::uint64_t r = 0;
    for (std::size_t i = 0; i < n; ++i) {
        r |= static_cast<std::uint64_t>(p[off + i]) << (8 * i);
    }
    return r;
}

}  // namespace pv_test
