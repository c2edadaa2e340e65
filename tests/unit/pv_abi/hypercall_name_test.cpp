// pv::hypercall::name(): every number Xen assigns has its name, everything else reads
// "unknown" (never null), and the lookup works at compile time.
#include <pv/hypercall.hpp>

#include <climits>
#include <cstring>
#include <set>
#include <string>

#include "test_support.hpp"

namespace {

namespace h = pv::hypercall;

static_assert(std::char_traits<char>::compare(h::name(h::iret), "iret", 5) == 0);
static_assert(!h::is_assigned(11));

TEST(pv_abi_hypercall_name, KnownNumbers) {
    struct Row {
        unsigned nr;
        const char* name;
    };
    const Row rows[] = {{0, "set_trap_table"},  {1, "mmu_update"},      {2, "set_gdt"},
                        {3, "stack_switch"},    {12, "memory_op"},      {13, "multicall"},
                        {14, "update_va_mapping"}, {17, "xen_version"}, {18, "console_io"},
                        {20, "grant_table_op"}, {21, "vm_assist"},      {23, "iret"},
                        {24, "vcpu_op"},        {25, "set_segment_base"}, {26, "mmuext_op"},
                        {29, "sched_op"},       {30, "callback_op"},    {32, "event_channel_op"},
                        {33, "physdev_op"},     {38, "tmem_op"},        {41, "dm_op"},
                        {42, "hypfs_op"},       {48, "mca"},            {55, "arch_7"}};
    for (const Row& r : rows) {
        EXPECT_STREQ(h::name(r.nr), r.name) << r.nr;
        EXPECT_TRUE(h::is_assigned(r.nr)) << r.nr;
    }
}

TEST(pv_abi_hypercall_name, UnassignedNumbersAreUnknown) {
    for (unsigned nr : {11u, 43u, 47u, 56u, 63u, 64u, 1000u, UINT_MAX}) {
        ASSERT_NE(h::name(nr), nullptr) << nr;
        EXPECT_STREQ(h::name(nr), "unknown") << nr;
        EXPECT_FALSE(h::is_assigned(nr)) << nr;
    }
}

TEST(pv_abi_hypercall_name, NamesAreUniqueAndCoverXensRange) {
    std::set<std::string> seen;
    unsigned assigned = 0;
    for (unsigned nr = 0; nr < h::count; ++nr) {
        if (!h::is_assigned(nr)) {
            continue;
        }
        ++assigned;
        EXPECT_TRUE(seen.insert(h::name(nr)).second) << "duplicate name for " << nr;
    }
    // 0..42 without 11, plus arch_0..arch_7.
    EXPECT_EQ(assigned, 42u + 8u);
    EXPECT_EQ(h::page_slots * h::page_slot_bytes, 4096u);
}

}  // namespace
