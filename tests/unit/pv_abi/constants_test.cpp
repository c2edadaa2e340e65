// Constant values checked against Xen's numbers, typed out independently of the headers:
// errno, hypercall numbers, domain ids, address-space and selector constants, start_info,
// shared_info, ELF notes and xenstore message types.
#include <pv/abi.hpp>

#include <cstring>

#include "test_support.hpp"

namespace {

using namespace pv;

TEST(pv_abi_constants, Errno) {
    pv_test::expect_all({
        PV_K(XEN_EPERM, 1), PV_K(XEN_ENOENT, 2), PV_K(XEN_ESRCH, 3), PV_K(XEN_EINTR, 4),
        PV_K(XEN_EIO, 5), PV_K(XEN_ENXIO, 6), PV_K(XEN_E2BIG, 7), PV_K(XEN_ENOEXEC, 8),
        PV_K(XEN_EBADF, 9), PV_K(XEN_ECHILD, 10), PV_K(XEN_EAGAIN, 11),
        PV_K(XEN_EWOULDBLOCK, 11), PV_K(XEN_ENOMEM, 12), PV_K(XEN_EACCES, 13),
        PV_K(XEN_EFAULT, 14), PV_K(XEN_EBUSY, 16), PV_K(XEN_EEXIST, 17), PV_K(XEN_EXDEV, 18),
        PV_K(XEN_ENODEV, 19), PV_K(XEN_ENOTDIR, 20), PV_K(XEN_EISDIR, 21),
        PV_K(XEN_EINVAL, 22), PV_K(XEN_ENFILE, 23), PV_K(XEN_EMFILE, 24),
        PV_K(XEN_ENOSPC, 28), PV_K(XEN_EROFS, 30), PV_K(XEN_EMLINK, 31), PV_K(XEN_EDOM, 33),
        PV_K(XEN_ERANGE, 34), PV_K(XEN_EDEADLK, 35), PV_K(XEN_EDEADLOCK, 35),
        PV_K(XEN_ENAMETOOLONG, 36), PV_K(XEN_ENOLCK, 37), PV_K(XEN_ENOSYS, 38),
        PV_K(XEN_ENOTEMPTY, 39), PV_K(XEN_ENODATA, 61), PV_K(XEN_ETIME, 62),
        PV_K(XEN_EBADMSG, 74), PV_K(XEN_EOVERFLOW, 75), PV_K(XEN_EILSEQ, 84),
        PV_K(XEN_ERESTART, 85), PV_K(XEN_ENOTSOCK, 88), PV_K(XEN_EMSGSIZE, 90),
        PV_K(XEN_EOPNOTSUPP, 95), PV_K(XEN_EADDRINUSE, 98), PV_K(XEN_EADDRNOTAVAIL, 99),
        PV_K(XEN_ENOBUFS, 105), PV_K(XEN_EISCONN, 106), PV_K(XEN_ENOTCONN, 107),
        PV_K(XEN_ETIMEDOUT, 110), PV_K(XEN_ECONNREFUSED, 111),
    });
}

TEST(pv_abi_constants, HypercallNumbers) {
    namespace h = pv::hypercall;
    pv_test::expect_all({
        PV_K(h::set_trap_table, 0), PV_K(h::mmu_update, 1), PV_K(h::set_gdt, 2),
        PV_K(h::stack_switch, 3), PV_K(h::set_callbacks, 4), PV_K(h::fpu_taskswitch, 5),
        PV_K(h::sched_op_compat, 6), PV_K(h::platform_op, 7), PV_K(h::set_debugreg, 8),
        PV_K(h::get_debugreg, 9), PV_K(h::update_descriptor, 10), PV_K(h::memory_op, 12),
        PV_K(h::multicall, 13), PV_K(h::update_va_mapping, 14), PV_K(h::set_timer_op, 15),
        PV_K(h::event_channel_op_compat, 16), PV_K(h::xen_version, 17),
        PV_K(h::console_io, 18), PV_K(h::physdev_op_compat, 19),
        PV_K(h::grant_table_op, 20), PV_K(h::vm_assist, 21),
        PV_K(h::update_va_mapping_otherdomain, 22), PV_K(h::iret, 23), PV_K(h::vcpu_op, 24),
        PV_K(h::set_segment_base, 25), PV_K(h::mmuext_op, 26), PV_K(h::xsm_op, 27),
        PV_K(h::nmi_op, 28), PV_K(h::sched_op, 29), PV_K(h::callback_op, 30),
        PV_K(h::xenoprof_op, 31), PV_K(h::event_channel_op, 32), PV_K(h::physdev_op, 33),
        PV_K(h::hvm_op, 34), PV_K(h::sysctl, 35), PV_K(h::domctl, 36), PV_K(h::kexec_op, 37),
        PV_K(h::tmem_op, 38), PV_K(h::argo_op, 39), PV_K(h::xenpmu_op, 40),
        PV_K(h::dm_op, 41), PV_K(h::hypfs_op, 42), PV_K(h::arch_0, 48), PV_K(h::mca, 48),
        PV_K(h::arch_1, 49), PV_K(h::arch_7, 55),
    });
}

TEST(pv_abi_constants, DomainIdsAndPages) {
    pv_test::expect_all({
        PV_K(DOMID_FIRST_RESERVED, 0x7FF0), PV_K(DOMID_SELF, 0x7FF0), PV_K(DOMID_IO, 0x7FF1),
        PV_K(DOMID_XEN, 0x7FF2), PV_K(DOMID_COW, 0x7FF3), PV_K(DOMID_INVALID, 0x7FF4),
        PV_K(DOMID_ANY, 0x7FF5), PV_K(DOMID_IDLE, 0x7FFF), PV_K(DOMID_MASK, 0x7FFF),
        PV_K(PAGE_SHIFT, 12), PV_K(PAGE_SIZE, 4096),
    });
    EXPECT_TRUE(is_real_domid(0));
    EXPECT_TRUE(is_real_domid(0x7FEF));
    EXPECT_FALSE(is_real_domid(DOMID_SELF));
    EXPECT_EQ(sizeof(domid_t), 2u);
    EXPECT_EQ(sizeof(evtchn_port_t), 4u);
    EXPECT_EQ(sizeof(grant_ref_t), 4u);
    EXPECT_EQ(sizeof(xen_pfn_t), 8u);
    EXPECT_EQ(sizeof(xen_ulong_t), 8u);
}

TEST(pv_abi_constants, AddressSpaceAndSelectors) {
    EXPECT_EQ(HYPERVISOR_VIRT_START, 0xFFFF800000000000u);
    EXPECT_EQ(HYPERVISOR_VIRT_END, 0xFFFF880000000000u);
    EXPECT_EQ(MACH2PHYS_VIRT_START, 0xFFFF800000000000u);
    EXPECT_EQ(MACH2PHYS_VIRT_END, 0xFFFF804000000000u);
    EXPECT_EQ(MACH2PHYS_NR_ENTRIES, std::uint64_t{1} << 35);
    // The hole is exactly L4 slots 256..271.
    EXPECT_EQ((HYPERVISOR_VIRT_START >> 39) & 511, 256u);
    EXPECT_EQ(((HYPERVISOR_VIRT_END - 1) >> 39) & 511, 271u);
    pv_test::expect_all({
        PV_K(FLAT_RING3_CS32, 0xe023), PV_K(FLAT_RING3_CS64, 0xe033),
        PV_K(FLAT_RING3_DS32, 0xe02b), PV_K(FLAT_RING3_DS64, 0), PV_K(FLAT_RING3_SS32, 0xe02b),
        PV_K(FLAT_RING3_SS64, 0xe02b), PV_K(FLAT_KERNEL_CS, 0xe033), PV_K(FLAT_KERNEL_DS, 0),
        PV_K(FLAT_KERNEL_SS, 0xe02b), PV_K(FLAT_USER_CS, 0xe033), PV_K(FLAT_USER_DS, 0),
        PV_K(FLAT_USER_SS, 0xe02b), PV_K(FLAT_USER_CS32, 0xe023), PV_K(FLAT_KERNEL_CS32, 0xe023),
        PV_K(FIRST_RESERVED_GDT_PAGE, 14), PV_K(FIRST_RESERVED_GDT_BYTE, 0xe000),
        PV_K(FIRST_RESERVED_GDT_ENTRY, 7168), PV_K(SEGBASE_FS, 0), PV_K(SEGBASE_GS_USER, 1),
        PV_K(SEGBASE_GS_KERNEL, 2), PV_K(SEGBASE_GS_USER_SEL, 3), PV_K(VGCF_in_syscall, 0x100),
        PV_K(VGCF_i387_valid, 1), PV_K(VGCF_in_kernel, 4), PV_K(VGCF_failsafe_disables_events, 8),
        PV_K(VGCF_syscall_disables_events, 16), PV_K(VGCF_online, 32),
        PV_K(XEN_HVM_DEBUGCONS_IOPORT, 0xe9),
    });
    EXPECT_EQ(xen_pfn_to_cr3(0x1234), 0x1234000u);
    EXPECT_EQ(xen_cr3_to_pfn(0x1234fff), 0x1234u);
    EXPECT_EQ(TI_GET_DPL(0x7), 3u);
    EXPECT_TRUE(TI_GET_IF(0x4));
    EXPECT_FALSE(TI_GET_IF(0x3));
    const unsigned char prefix[] = {0x0f, 0x0b, 'x', 'e', 'n'};
    EXPECT_EQ(std::memcmp(XEN_EMULATE_PREFIX.data(), prefix, 5), 0);
    EXPECT_EQ(XEN_CPUID[5], 0x0f);
    EXPECT_EQ(XEN_CPUID[6], 0xa2);
}

TEST(pv_abi_constants, StartAndSharedInfo) {
    pv_test::expect_all({
        PV_K(MAX_GUEST_CMDLINE, 1024), PV_K(SIF_PRIVILEGED, 1), PV_K(SIF_INITDOMAIN, 2),
        PV_K(SIF_MULTIBOOT_MOD, 4), PV_K(SIF_MOD_START_PFN, 8), PV_K(SIF_VIRT_P2M_4TOOLS, 16),
        PV_K(SIF_PM_MASK, 0xff00), PV_K(XEN_LEGACY_MAX_VCPUS, 32),
        PV_K(XEN_PVCLOCK_TSC_STABLE_BIT, 1), PV_K(XEN_PVCLOCK_GUEST_STOPPED, 2),
        PV_K(EVTCHN_2L_NR_CHANNELS, 4096), PV_K(NR_EVENT_CHANNELS, 4096),
    });
    EXPECT_STREQ(XEN_START_INFO_MAGIC_X86_64, "xen-3.0-x86_64");
    // Every 2-level port has a bit in both bitmaps.
    EXPECT_EQ(sizeof(shared_info::evtchn_pending) * 8, std::size_t{NR_EVENT_CHANNELS});
    EXPECT_EQ(sizeof(shared_info::evtchn_mask) * 8, std::size_t{NR_EVENT_CHANNELS});
}

TEST(pv_abi_constants, ElfNotes) {
    pv_test::expect_all({
        PV_K(XEN_ELFNOTE_INFO, 0), PV_K(XEN_ELFNOTE_ENTRY, 1), PV_K(XEN_ELFNOTE_HYPERCALL_PAGE, 2),
        PV_K(XEN_ELFNOTE_VIRT_BASE, 3), PV_K(XEN_ELFNOTE_PADDR_OFFSET, 4),
        PV_K(XEN_ELFNOTE_XEN_VERSION, 5), PV_K(XEN_ELFNOTE_GUEST_OS, 6),
        PV_K(XEN_ELFNOTE_GUEST_VERSION, 7), PV_K(XEN_ELFNOTE_LOADER, 8),
        PV_K(XEN_ELFNOTE_PAE_MODE, 9), PV_K(XEN_ELFNOTE_FEATURES, 10),
        PV_K(XEN_ELFNOTE_BSD_SYMTAB, 11), PV_K(XEN_ELFNOTE_HV_START_LOW, 12),
        PV_K(XEN_ELFNOTE_L1_MFN_VALID, 13), PV_K(XEN_ELFNOTE_SUSPEND_CANCEL, 14),
        PV_K(XEN_ELFNOTE_INIT_P2M, 15), PV_K(XEN_ELFNOTE_MOD_START_PFN, 16),
        PV_K(XEN_ELFNOTE_SUPPORTED_FEATURES, 17), PV_K(XEN_ELFNOTE_PHYS32_ENTRY, 18),
        PV_K(XEN_ELFNOTE_PHYS32_RELOC, 19), PV_K(XEN_ELFNOTE_MAX, 19),
        PV_K(XEN_ELFNOTE_CRASH_INFO, 0x1000001), PV_K(XEN_ELFNOTE_CRASH_REGS, 0x1000002),
        PV_K(XEN_ELFNOTE_DUMPCORE_NONE, 0x2000000),
        PV_K(XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION, 0x2000003),
    });
    EXPECT_EQ(sizeof(XEN_ELFNOTE_NAME), 4u);
}

TEST(pv_abi_constants, XenstoreWire) {
    pv_test::expect_all({
        PV_K(XS_CONTROL, 0), PV_K(XS_DEBUG, 0), PV_K(XS_DIRECTORY, 1), PV_K(XS_READ, 2),
        PV_K(XS_GET_PERMS, 3), PV_K(XS_WATCH, 4), PV_K(XS_UNWATCH, 5),
        PV_K(XS_TRANSACTION_START, 6), PV_K(XS_TRANSACTION_END, 7), PV_K(XS_INTRODUCE, 8),
        PV_K(XS_RELEASE, 9), PV_K(XS_GET_DOMAIN_PATH, 10), PV_K(XS_WRITE, 11),
        PV_K(XS_MKDIR, 12), PV_K(XS_RM, 13), PV_K(XS_SET_PERMS, 14), PV_K(XS_WATCH_EVENT, 15),
        PV_K(XS_ERROR, 16), PV_K(XS_IS_DOMAIN_INTRODUCED, 17), PV_K(XS_RESUME, 18),
        PV_K(XS_SET_TARGET, 19), PV_K(XS_RESET_WATCHES, 21), PV_K(XS_DIRECTORY_PART, 22),
        PV_K(XS_GET_FEATURE, 23), PV_K(XS_SET_FEATURE, 24), PV_K(XS_GET_QUOTA, 25),
        PV_K(XS_SET_QUOTA, 26), PV_K(XS_TYPE_COUNT, 27), PV_K(XS_INVALID, 0xffff),
        PV_K(XS_WATCH_PATH, 0), PV_K(XS_WATCH_TOKEN, 1),
        PV_K(XENSTORE_PAYLOAD_MAX, 4096), PV_K(XENSTORE_ABS_PATH_MAX, 3072),
        PV_K(XENSTORE_REL_PATH_MAX, 2048), PV_K(XENSTORE_RING_SIZE, 1024),
        PV_K(XENSTORE_SERVER_FEATURE_RECONNECTION, 1), PV_K(XENSTORE_SERVER_FEATURE_ERROR, 2),
        PV_K(XENSTORE_SERVER_FEATURE_WATCHDEPTH, 4), PV_K(XENSTORE_SERVER_FEATURE_DOMID_ANY, 8),
        PV_K(XENSTORE_CONNECTED, 0), PV_K(XENSTORE_RECONNECT, 1), PV_K(XENSTORE_ERROR_NONE, 0),
        PV_K(XENSTORE_ERROR_COMM, 1), PV_K(XENSTORE_ERROR_RINGIDX, 2),
        PV_K(XENSTORE_ERROR_PROTO, 3),
        PV_K(XenbusStateUnknown, 0), PV_K(XenbusStateInitialising, 1),
        PV_K(XenbusStateInitWait, 2), PV_K(XenbusStateInitialised, 3),
        PV_K(XenbusStateConnected, 4), PV_K(XenbusStateClosing, 5), PV_K(XenbusStateClosed, 6),
        PV_K(XenbusStateReconfiguring, 7), PV_K(XenbusStateReconfigured, 8),
    });
    // Xen's xsd_errors order; new names are only ever appended.
    const char* const order[] = {"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM",
                                 "ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY",
                                 "EAGAIN", "EISCONN", "E2BIG", "EPERM"};
    const int numbers[] = {22, 13, 17, 21, 2, 12, 28, 5, 39, 38, 30, 16, 11, 106, 7, 1};
    ASSERT_EQ(xsd_error_table.size(), 16u);
    for (std::size_t i = 0; i < xsd_error_table.size(); ++i) {
        EXPECT_STREQ(xsd_error_table[i].errstring, order[i]) << i;
        EXPECT_EQ(xsd_error_table[i].errnum, numbers[i]) << order[i];
    }
}

}  // namespace
