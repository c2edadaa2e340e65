// Sub-op numbers, flags and status codes of the individual hypercalls and split-driver
// protocols, checked against Xen's numbers typed out independently of the headers.
#include <pv/abi.hpp>

#include "test_support.hpp"

namespace {

using namespace pv;

TEST(pv_abi_ops, MmuAndVmAssist) {
    pv_test::expect_all({
        PV_K(MMU_NORMAL_PT_UPDATE, 0), PV_K(MMU_MACHPHYS_UPDATE, 1),
        PV_K(MMU_PT_UPDATE_PRESERVE_AD, 2), PV_K(MMU_PT_UPDATE_NO_TRANSLATE, 3),
        PV_K(MMUEXT_PIN_L1_TABLE, 0), PV_K(MMUEXT_PIN_L2_TABLE, 1), PV_K(MMUEXT_PIN_L3_TABLE, 2),
        PV_K(MMUEXT_PIN_L4_TABLE, 3), PV_K(MMUEXT_UNPIN_TABLE, 4), PV_K(MMUEXT_NEW_BASEPTR, 5),
        PV_K(MMUEXT_TLB_FLUSH_LOCAL, 6), PV_K(MMUEXT_INVLPG_LOCAL, 7),
        PV_K(MMUEXT_TLB_FLUSH_MULTI, 8), PV_K(MMUEXT_INVLPG_MULTI, 9),
        PV_K(MMUEXT_TLB_FLUSH_ALL, 10), PV_K(MMUEXT_INVLPG_ALL, 11), PV_K(MMUEXT_FLUSH_CACHE, 12),
        PV_K(MMUEXT_SET_LDT, 13), PV_K(MMUEXT_NEW_USER_BASEPTR, 15), PV_K(MMUEXT_CLEAR_PAGE, 16),
        PV_K(MMUEXT_COPY_PAGE, 17), PV_K(MMUEXT_FLUSH_CACHE_GLOBAL, 18),
        PV_K(MMUEXT_MARK_SUPER, 19), PV_K(MMUEXT_UNMARK_SUPER, 20),
        PV_K(UVMF_NONE, 0), PV_K(UVMF_TLB_FLUSH, 1), PV_K(UVMF_INVLPG, 2),
        PV_K(UVMF_FLUSHTYPE_MASK, 3), PV_K(UVMF_MULTI, 0), PV_K(UVMF_LOCAL, 0), PV_K(UVMF_ALL, 4),
        PV_K(VMASST_CMD_enable, 0), PV_K(VMASST_CMD_disable, 1),
        PV_K(VMASST_TYPE_4gb_segments, 0), PV_K(VMASST_TYPE_4gb_segments_notify, 1),
        PV_K(VMASST_TYPE_writable_pagetables, 2), PV_K(VMASST_TYPE_pae_extended_cr3, 3),
        PV_K(VMASST_TYPE_architectural_iopl, 4), PV_K(VMASST_TYPE_runstate_update_flag, 5),
        PV_K(VMASST_TYPE_m2p_strict, 32),
    });
}

TEST(pv_abi_ops, EventChannels) {
    pv_test::expect_all({
        PV_K(EVTCHNOP_bind_interdomain, 0), PV_K(EVTCHNOP_bind_virq, 1),
        PV_K(EVTCHNOP_bind_pirq, 2), PV_K(EVTCHNOP_close, 3), PV_K(EVTCHNOP_send, 4),
        PV_K(EVTCHNOP_status, 5), PV_K(EVTCHNOP_alloc_unbound, 6), PV_K(EVTCHNOP_bind_ipi, 7),
        PV_K(EVTCHNOP_bind_vcpu, 8), PV_K(EVTCHNOP_unmask, 9), PV_K(EVTCHNOP_reset, 10),
        PV_K(EVTCHNOP_init_control, 11), PV_K(EVTCHNOP_expand_array, 12),
        PV_K(EVTCHNOP_set_priority, 13), PV_K(EVTCHNSTAT_closed, 0), PV_K(EVTCHNSTAT_unbound, 1),
        PV_K(EVTCHNSTAT_interdomain, 2), PV_K(EVTCHNSTAT_pirq, 3), PV_K(EVTCHNSTAT_virq, 4),
        PV_K(EVTCHNSTAT_ipi, 5), PV_K(BIND_PIRQ__WILL_SHARE, 1),
        PV_K(VIRQ_TIMER, 0), PV_K(VIRQ_DEBUG, 1), PV_K(VIRQ_CONSOLE, 2), PV_K(VIRQ_DOM_EXC, 3),
        PV_K(VIRQ_TBUF, 4), PV_K(VIRQ_DEBUGGER, 6), PV_K(VIRQ_XENOPROF, 7),
        PV_K(VIRQ_CON_RING, 8), PV_K(VIRQ_PCPU_STATE, 9), PV_K(VIRQ_MEM_EVENT, 10),
        PV_K(VIRQ_ARGO, 11), PV_K(VIRQ_ENOMEM, 12), PV_K(VIRQ_XENPMU, 13), PV_K(VIRQ_ARCH_0, 16),
        PV_K(VIRQ_MCA, 16), PV_K(VIRQ_ARCH_7, 23), PV_K(NR_VIRQS, 24),
        PV_K(EVTCHN_FIFO_PRIORITY_MAX, 0), PV_K(EVTCHN_FIFO_PRIORITY_DEFAULT, 7),
        PV_K(EVTCHN_FIFO_PRIORITY_MIN, 15),
    });
}

TEST(pv_abi_ops, GrantTables) {
    pv_test::expect_all({
        PV_K(GNTTABOP_map_grant_ref, 0), PV_K(GNTTABOP_unmap_grant_ref, 1),
        PV_K(GNTTABOP_setup_table, 2), PV_K(GNTTABOP_dump_table, 3), PV_K(GNTTABOP_transfer, 4),
        PV_K(GNTTABOP_copy, 5), PV_K(GNTTABOP_query_size, 6), PV_K(GNTTABOP_unmap_and_replace, 7),
        PV_K(GNTTABOP_set_version, 8), PV_K(GNTTABOP_get_status_frames, 9),
        PV_K(GNTTABOP_get_version, 10), PV_K(GNTTABOP_swap_grant_ref, 11),
        PV_K(GNTTABOP_cache_flush, 12),
        PV_K(GTF_invalid, 0), PV_K(GTF_permit_access, 1), PV_K(GTF_accept_transfer, 2),
        PV_K(GTF_transitive, 3), PV_K(GTF_type_mask, 3), PV_K(GTF_readonly, 4),
        PV_K(GTF_reading, 8), PV_K(GTF_writing, 16), PV_K(GTF_PWT, 32), PV_K(GTF_PCD, 64),
        PV_K(GTF_PAT, 128), PV_K(GTF_sub_page, 256), PV_K(GTF_transfer_committed, 4),
        PV_K(GTF_transfer_completed, 8),
        PV_K(GNTMAP_device_map, 1), PV_K(GNTMAP_host_map, 2), PV_K(GNTMAP_readonly, 4),
        PV_K(GNTMAP_application_map, 8), PV_K(GNTMAP_contains_pte, 16),
        PV_K(GNTMAP_guest_avail_mask, 0xffff0000), PV_K(GNTCOPY_source_gref, 1),
        PV_K(GNTCOPY_dest_gref, 2),
        PV_K(GNTST_okay, 0), PV_K(GNTST_general_error, -1), PV_K(GNTST_bad_domain, -2),
        PV_K(GNTST_bad_gntref, -3), PV_K(GNTST_bad_handle, -4), PV_K(GNTST_bad_virt_addr, -5),
        PV_K(GNTST_bad_dev_addr, -6), PV_K(GNTST_no_device_space, -7),
        PV_K(GNTST_permission_denied, -8), PV_K(GNTST_bad_page, -9),
        PV_K(GNTST_bad_copy_arg, -10), PV_K(GNTST_address_too_big, -11),
        PV_K(GNTST_eagain, -12), PV_K(GNTST_no_space, -13),
        PV_K(GNTTAB_NR_RESERVED_ENTRIES, 8), PV_K(GNTTAB_RESERVED_CONSOLE, 0),
        PV_K(GNTTAB_RESERVED_XENSTORE, 1), PV_K(GNTTAB_V1_ENTRIES_PER_FRAME, 512),
    });
}

TEST(pv_abi_ops, SchedVcpuCallbackPhysdev) {
    pv_test::expect_all({
        PV_K(SCHEDOP_yield, 0), PV_K(SCHEDOP_block, 1), PV_K(SCHEDOP_shutdown, 2),
        PV_K(SCHEDOP_poll, 3), PV_K(SCHEDOP_remote_shutdown, 4), PV_K(SCHEDOP_shutdown_code, 5),
        PV_K(SCHEDOP_watchdog, 6), PV_K(SCHEDOP_pin_override, 7),
        PV_K(SHUTDOWN_poweroff, 0), PV_K(SHUTDOWN_reboot, 1), PV_K(SHUTDOWN_suspend, 2),
        PV_K(SHUTDOWN_crash, 3), PV_K(SHUTDOWN_watchdog, 4), PV_K(SHUTDOWN_soft_reset, 5),
        PV_K(SHUTDOWN_MAX, 5),
        PV_K(VCPUOP_initialise, 0), PV_K(VCPUOP_up, 1), PV_K(VCPUOP_down, 2),
        PV_K(VCPUOP_is_up, 3), PV_K(VCPUOP_get_runstate_info, 4),
        PV_K(VCPUOP_register_runstate_memory_area, 5), PV_K(VCPUOP_set_periodic_timer, 6),
        PV_K(VCPUOP_stop_periodic_timer, 7), PV_K(VCPUOP_set_singleshot_timer, 8),
        PV_K(VCPUOP_stop_singleshot_timer, 9), PV_K(VCPUOP_register_vcpu_info, 10),
        PV_K(VCPUOP_send_nmi, 11), PV_K(VCPUOP_get_physid, 12),
        PV_K(VCPUOP_register_vcpu_time_memory_area, 13),
        PV_K(VCPUOP_register_runstate_phys_area, 14),
        PV_K(VCPUOP_register_vcpu_time_phys_area, 15),
        PV_K(RUNSTATE_running, 0), PV_K(RUNSTATE_runnable, 1), PV_K(RUNSTATE_blocked, 2),
        PV_K(RUNSTATE_offline, 3), PV_K(VCPU_SSHOTTMR_future, 1),
        PV_K(CALLBACKTYPE_event, 0), PV_K(CALLBACKTYPE_failsafe, 1),
        PV_K(CALLBACKTYPE_syscall, 2), PV_K(CALLBACKTYPE_sysenter_deprecated, 3),
        PV_K(CALLBACKTYPE_nmi, 4), PV_K(CALLBACKTYPE_sysenter, 5),
        PV_K(CALLBACKTYPE_syscall32, 7), PV_K(CALLBACKF_mask_events, 1),
        PV_K(CALLBACKOP_register, 0), PV_K(CALLBACKOP_unregister, 1),
        PV_K(PHYSDEVOP_irq_status_query, 5), PV_K(PHYSDEVOP_set_iopl, 6),
        PV_K(PHYSDEVOP_set_iobitmap, 7), PV_K(PHYSDEVOP_eoi, 12),
        PV_K(PHYSDEVOP_pirq_eoi_gmfn_v2, 28), PV_K(CONSOLEIO_write, 0), PV_K(CONSOLEIO_read, 1),
    });
    EXPECT_EQ(XEN_RUNSTATE_UPDATE, 0x8000000000000000u);
}

TEST(pv_abi_ops, MemoryAndVersion) {
    pv_test::expect_all({
        PV_K(XENMEM_increase_reservation, 0), PV_K(XENMEM_decrease_reservation, 1),
        PV_K(XENMEM_maximum_ram_page, 2), PV_K(XENMEM_current_reservation, 3),
        PV_K(XENMEM_maximum_reservation, 4), PV_K(XENMEM_machphys_mfn_list, 5),
        PV_K(XENMEM_populate_physmap, 6), PV_K(XENMEM_add_to_physmap, 7),
        PV_K(XENMEM_memory_map, 9), PV_K(XENMEM_machine_memory_map, 10),
        PV_K(XENMEM_exchange, 11), PV_K(XENMEM_machphys_mapping, 12),
        PV_K(XENMEM_set_memory_map, 13), PV_K(XENMEM_maximum_gpfn, 14),
        PV_K(XENMEMF_populate_on_demand, 0x10000), PV_K(XENMEMF_exact_node_request, 0x20000),
        PV_K(XENMEMF_vnode, 0x40000), PV_K(XENMAPSPACE_shared_info, 0),
        PV_K(XENMAPSPACE_grant_table, 1), PV_K(XENMAPSPACE_gmfn, 2), PV_K(E820_RAM, 1),
        PV_K(E820_RESERVED, 2),
        PV_K(XENVER_version, 0), PV_K(XENVER_extraversion, 1), PV_K(XENVER_compile_info, 2),
        PV_K(XENVER_capabilities, 3), PV_K(XENVER_changeset, 4),
        PV_K(XENVER_platform_parameters, 5), PV_K(XENVER_get_features, 6),
        PV_K(XENVER_pagesize, 7), PV_K(XENVER_guest_handle, 8), PV_K(XENVER_commandline, 9),
        PV_K(XENVER_build_id, 10), PV_K(XEN_EXTRAVERSION_LEN, 16),
        PV_K(XEN_CAPABILITIES_INFO_LEN, 1024), PV_K(XEN_CHANGESET_INFO_LEN, 64),
        PV_K(XENFEAT_writable_page_tables, 0), PV_K(XENFEAT_auto_translated_physmap, 2),
        PV_K(XENFEAT_supervisor_mode_kernel, 3), PV_K(XENFEAT_mmu_pt_update_preserve_ad, 5),
        PV_K(XENFEAT_highmem_assist, 6), PV_K(XENFEAT_gnttab_map_avail_bits, 7),
        PV_K(XENFEAT_dom0, 11), PV_K(XENFEAT_linux_rsdp_unrestricted, 15),
        PV_K(XENFEAT_direct_mapped, 17), PV_K(XENFEAT_dm_msix_all_writes, 20),
        PV_K(XENFEAT_NR_SUBMAPS, 1),
    });
    EXPECT_EQ(XENMEMF_node(0), 0x100u);
    EXPECT_EQ(XENMEMF_get_node(XENMEMF_node(3)), 3u);
    EXPECT_EQ(XENMEMF_get_address_bits(XENMEMF_address_bits(32) | XENMEMF_node(1)), 32u);
}

TEST(pv_abi_ops, BlockNetConsolePvh) {
    pv_test::expect_all({
        PV_K(BLKIF_OP_READ, 0), PV_K(BLKIF_OP_WRITE, 1), PV_K(BLKIF_OP_WRITE_BARRIER, 2),
        PV_K(BLKIF_OP_FLUSH_DISKCACHE, 3), PV_K(BLKIF_OP_RESERVED_1, 4),
        PV_K(BLKIF_OP_DISCARD, 5), PV_K(BLKIF_OP_INDIRECT, 6),
        PV_K(BLKIF_MAX_SEGMENTS_PER_REQUEST, 11), PV_K(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, 8),
        PV_K(BLKIF_RSP_EOPNOTSUPP, -2), PV_K(BLKIF_RSP_ERROR, -1), PV_K(BLKIF_RSP_OKAY, 0),
        PV_K(BLKIF_DISCARD_SECURE, 1), PV_K(VDISK_CDROM, 1), PV_K(VDISK_REMOVABLE, 2),
        PV_K(VDISK_READONLY, 4),
        PV_K(NETTXF_csum_blank, 1), PV_K(NETTXF_data_validated, 2), PV_K(NETTXF_more_data, 4),
        PV_K(NETTXF_extra_info, 8), PV_K(NETRXF_data_validated, 1), PV_K(NETRXF_csum_blank, 2),
        PV_K(NETRXF_more_data, 4), PV_K(NETRXF_extra_info, 8), PV_K(NETRXF_gso_prefix, 16),
        PV_K(NETIF_RSP_DROPPED, -2), PV_K(NETIF_RSP_ERROR, -1), PV_K(NETIF_RSP_OKAY, 0),
        PV_K(NETIF_RSP_NULL, 1), PV_K(XEN_NETIF_NR_SLOTS_MIN, 18),
        PV_K(XEN_NETIF_MAX_TX_SIZE, 0xffff), PV_K(XEN_NETIF_EXTRA_TYPE_NONE, 0),
        PV_K(XEN_NETIF_EXTRA_TYPE_GSO, 1), PV_K(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 2),
        PV_K(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 3), PV_K(XEN_NETIF_EXTRA_TYPE_HASH, 4),
        PV_K(XEN_NETIF_EXTRA_TYPE_MAX, 5), PV_K(XEN_NETIF_EXTRA_FLAG_MORE, 1),
        PV_K(XEN_NETIF_GSO_TYPE_NONE, 0), PV_K(XEN_NETIF_GSO_TYPE_TCPV4, 1),
        PV_K(XEN_NETIF_GSO_TYPE_TCPV6, 2),
        PV_K(XENCONSOLE_CONNECTED, 0), PV_K(XENCONSOLE_DISCONNECTED, 1),
        PV_K(XEN_HVM_START_MAGIC_VALUE, 0x336ec578), PV_K(XEN_HVM_MEMMAP_TYPE_RAM, 1),
        PV_K(XEN_HVM_MEMMAP_TYPE_RESERVED, 2), PV_K(XEN_HVM_MEMMAP_TYPE_ACPI, 3),
        PV_K(XEN_HVM_MEMMAP_TYPE_NVS, 4), PV_K(XEN_HVM_MEMMAP_TYPE_UNUSABLE, 5),
        PV_K(XEN_HVM_MEMMAP_TYPE_DISABLED, 6), PV_K(XEN_HVM_MEMMAP_TYPE_PMEM, 7),
    });
    EXPECT_STREQ(XEN_IO_PROTO_ABI_X86_64, "x86_64-abi");
}

}  // namespace
