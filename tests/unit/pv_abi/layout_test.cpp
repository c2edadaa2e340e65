// Run-time layout checks for the boot and hypercall structures: each field is located by
// writing it (not by offsetof), and the expected offsets are Xen's x86-64 numbers.
#include <pv/abi.hpp>

#include "test_support.hpp"

namespace {

TEST(pv_abi_layout, StartInfo) {
    EXPECT_EQ(sizeof(pv::start_info), 1168u);
    PV_PROBE(pv::start_info, magic, 0);
    PV_PROBE(pv::start_info, nr_pages, 32);
    PV_PROBE(pv::start_info, shared_info, 40);
    PV_PROBE(pv::start_info, flags, 48);
    PV_PROBE(pv::start_info, store_mfn, 56);
    PV_PROBE(pv::start_info, store_evtchn, 64);
    PV_PROBE(pv::start_info, console.domU.mfn, 72);
    PV_PROBE(pv::start_info, console.domU.evtchn, 80);
    PV_PROBE(pv::start_info, console.dom0.info_off, 72);
    PV_PROBE(pv::start_info, console.dom0.info_size, 76);
    PV_PROBE(pv::start_info, pt_base, 88);
    PV_PROBE(pv::start_info, nr_pt_frames, 96);
    PV_PROBE(pv::start_info, mfn_list, 104);
    PV_PROBE(pv::start_info, mod_start, 112);
    PV_PROBE(pv::start_info, mod_len, 120);
    PV_PROBE(pv::start_info, cmd_line, 128);
    PV_PROBE(pv::start_info, first_p2m_pfn, 1152);
    PV_PROBE(pv::start_info, nr_p2m_frames, 1160);
}

TEST(pv_abi_layout, StartInfoBytesAreLittleEndian) {
    pv::start_info si{};
    si.store_evtchn = 0x11223344;
    si.mfn_list = 0x0000008000000000;
    EXPECT_EQ(pv_test::read_le(si, 64, 4), 0x11223344u);
    EXPECT_EQ(pv_test::read_le(si, 104, 8), 0x0000008000000000u);
    EXPECT_EQ(pv_test::read_le(si, 68, 4), 0u);  // padding stays zero
}

TEST(pv_abi_layout, SharedInfoAndVcpuInfo) {
    EXPECT_EQ(sizeof(pv::vcpu_time_info), 32u);
    PV_PROBE(pv::vcpu_time_info, tsc_timestamp, 8);
    PV_PROBE(pv::vcpu_time_info, system_time, 16);
    PV_PROBE(pv::vcpu_time_info, tsc_to_system_mul, 24);
    PV_PROBE(pv::vcpu_time_info, tsc_shift, 28);
    PV_PROBE(pv::vcpu_time_info, flags, 29);
    EXPECT_EQ(sizeof(pv::vcpu_info), 64u);
    PV_PROBE(pv::vcpu_info, evtchn_upcall_mask, 1);
    PV_PROBE(pv::vcpu_info, evtchn_pending_sel, 8);
    PV_PROBE(pv::vcpu_info, arch.cr2, 16);
    PV_PROBE(pv::vcpu_info, time.version, 32);
    EXPECT_EQ(sizeof(pv::shared_info), 3136u);
    PV_PROBE(pv::shared_info, vcpu_info[31].evtchn_upcall_pending, 31 * 64);
    PV_PROBE(pv::shared_info, evtchn_pending, 2048);
    PV_PROBE(pv::shared_info, evtchn_mask, 2560);
    PV_PROBE(pv::shared_info, wc_version, 3072);
    PV_PROBE(pv::shared_info, wc_sec, 3076);
    PV_PROBE(pv::shared_info, wc_nsec, 3080);
    PV_PROBE(pv::shared_info, wc_sec_hi, 3084);
    PV_PROBE(pv::shared_info, arch.max_pfn, 3088);
    PV_PROBE(pv::shared_info, arch.pfn_to_mfn_frame_list_list, 3096);
    PV_PROBE(pv::shared_info, arch.nmi_reason, 3104);
    PV_PROBE(pv::shared_info, arch.p2m_cr3, 3112);
    PV_PROBE(pv::shared_info, arch.p2m_vaddr, 3120);
    PV_PROBE(pv::shared_info, arch.p2m_generation, 3128);
}

TEST(pv_abi_layout, MmuAndMulticall) {
    EXPECT_EQ(sizeof(pv::mmu_update), 16u);
    PV_PROBE(pv::mmu_update, val, 8);
    EXPECT_EQ(sizeof(pv::mmuext_op), 24u);
    PV_PROBE(pv::mmuext_op, arg1.mfn, 8);
    PV_PROBE(pv::mmuext_op, arg1.linear_addr, 8);
    PV_PROBE(pv::mmuext_op, arg2.nr_ents, 16);
    PV_PROBE(pv::mmuext_op, arg2.vcpumask, 16);
    EXPECT_EQ(sizeof(pv::multicall_entry), 64u);
    PV_PROBE(pv::multicall_entry, result, 8);
    PV_PROBE(pv::multicall_entry, args[0], 16);
    EXPECT_EQ(sizeof(pv::trap_info), 16u);
    PV_PROBE(pv::trap_info, flags, 1);
    PV_PROBE(pv::trap_info, cs, 2);
    PV_PROBE(pv::trap_info, address, 8);
    EXPECT_EQ(sizeof(pv::iret_context), 72u);
    PV_PROBE(pv::iret_context, flags, 24);
    PV_PROBE(pv::iret_context, ss, 64);
}

TEST(pv_abi_layout, VcpuGuestContext) {
    EXPECT_EQ(sizeof(pv::cpu_user_regs), 200u);
    PV_PROBE(pv::cpu_user_regs, rax, 80);
    PV_PROBE(pv::cpu_user_regs, rdi, 112);
    PV_PROBE(pv::cpu_user_regs, error_code, 120);
    PV_PROBE(pv::cpu_user_regs, rip, 128);
    PV_PROBE(pv::cpu_user_regs, cs, 136);
    PV_PROBE(pv::cpu_user_regs, saved_upcall_mask, 140);
    PV_PROBE(pv::cpu_user_regs, rflags, 144);
    PV_PROBE(pv::cpu_user_regs, ss, 160);
    PV_PROBE(pv::cpu_user_regs, gs, 192);
    EXPECT_EQ(sizeof(pv::vcpu_guest_context), 5168u);
    PV_PROBE(pv::vcpu_guest_context, flags, 512);
    PV_PROBE(pv::vcpu_guest_context, user_regs.r15, 520);
    PV_PROBE(pv::vcpu_guest_context, trap_ctxt[1].vector, 736);
    PV_PROBE(pv::vcpu_guest_context, gdt_frames, 4832);
    PV_PROBE(pv::vcpu_guest_context, kernel_sp, 4976);
    PV_PROBE(pv::vcpu_guest_context, ctrlreg[3], 4984 + 24);
    PV_PROBE(pv::vcpu_guest_context, event_callback_eip, 5112);
    PV_PROBE(pv::vcpu_guest_context, syscall_callback_eip, 5128);
    PV_PROBE(pv::vcpu_guest_context, gs_base_user, 5160);
}

TEST(pv_abi_layout, EventChannelArguments) {
    EXPECT_EQ(sizeof(pv::evtchn_alloc_unbound), 8u);
    PV_PROBE(pv::evtchn_alloc_unbound, remote_dom, 2);
    PV_PROBE(pv::evtchn_alloc_unbound, port, 4);
    EXPECT_EQ(sizeof(pv::evtchn_bind_interdomain), 12u);
    PV_PROBE(pv::evtchn_bind_interdomain, remote_port, 4);
    PV_PROBE(pv::evtchn_bind_interdomain, local_port, 8);
    PV_PROBE(pv::evtchn_bind_virq, port, 8);
    PV_PROBE(pv::evtchn_bind_pirq, port, 8);
    PV_PROBE(pv::evtchn_bind_ipi, port, 4);
    EXPECT_EQ(sizeof(pv::evtchn_status), 24u);
    PV_PROBE(pv::evtchn_status, status, 8);
    PV_PROBE(pv::evtchn_status, vcpu, 12);
    PV_PROBE(pv::evtchn_status, u.interdomain.dom, 16);
    PV_PROBE(pv::evtchn_status, u.interdomain.port, 20);
    PV_PROBE(pv::evtchn_bind_vcpu, vcpu, 4);
    PV_PROBE(pv::evtchn_init_control, link_bits, 16);
    PV_PROBE(pv::evtchn_set_priority, priority, 4);
}

TEST(pv_abi_layout, GrantTableArguments) {
    EXPECT_EQ(sizeof(pv::grant_entry_v1), 8u);
    PV_PROBE(pv::grant_entry_v1, domid, 2);
    PV_PROBE(pv::grant_entry_v1, frame, 4);
    EXPECT_EQ(sizeof(pv::gnttab_map_grant_ref), 32u);
    PV_PROBE(pv::gnttab_map_grant_ref, ref, 12);
    PV_PROBE(pv::gnttab_map_grant_ref, dom, 16);
    PV_PROBE(pv::gnttab_map_grant_ref, status, 18);
    PV_PROBE(pv::gnttab_map_grant_ref, handle, 20);
    PV_PROBE(pv::gnttab_map_grant_ref, dev_bus_addr, 24);
    PV_PROBE(pv::gnttab_unmap_grant_ref, status, 20);
    PV_PROBE(pv::gnttab_setup_table, status, 8);
    PV_PROBE(pv::gnttab_setup_table, frame_list, 16);
    EXPECT_EQ(sizeof(pv::gnttab_copy), 40u);
    PV_PROBE(pv::gnttab_copy, source.domid, 8);
    PV_PROBE(pv::gnttab_copy, dest.u.ref, 16);
    PV_PROBE(pv::gnttab_copy, dest.offset, 26);
    PV_PROBE(pv::gnttab_copy, len, 32);
    PV_PROBE(pv::gnttab_copy, status, 36);
    PV_PROBE(pv::gnttab_query_size, max_nr_frames, 8);
    PV_PROBE(pv::gnttab_query_size, status, 12);
    PV_PROBE(pv::gnttab_dump_table, status, 2);
    PV_PROBE(pv::gnttab_get_status_frames, frame_list, 8);
}

TEST(pv_abi_layout, SchedVcpuMemoryArguments) {
    PV_PROBE(pv::sched_poll, nr_ports, 8);
    PV_PROBE(pv::sched_poll, timeout, 16);
    PV_PROBE(pv::sched_remote_shutdown, reason, 4);
    EXPECT_EQ(sizeof(pv::vcpu_runstate_info), 48u);
    PV_PROBE(pv::vcpu_runstate_info, state_entry_time, 8);
    PV_PROBE(pv::vcpu_runstate_info, time[3], 40);
    PV_PROBE(pv::vcpu_set_singleshot_timer, flags, 8);
    PV_PROBE(pv::vcpu_register_vcpu_info, offset, 8);
    EXPECT_EQ(sizeof(pv::xen_memory_reservation), 32u);
    PV_PROBE(pv::xen_memory_reservation, extent_order, 16);
    PV_PROBE(pv::xen_memory_reservation, mem_flags, 20);
    PV_PROBE(pv::xen_memory_reservation, domid, 24);
    PV_PROBE(pv::xen_memory_exchange, nr_exchanged, 64);
    PV_PROBE(pv::xen_machphys_mapping, max_mfn, 16);
    PV_PROBE(pv::xen_add_to_physmap, space, 4);
    PV_PROBE(pv::xen_add_to_physmap, gpfn, 16);
    PV_PROBE(pv::xen_memory_map, buffer, 8);
    PV_PROBE(pv::callback_register, address, 8);
    PV_PROBE(pv::physdev_set_iobitmap, nr_ports, 8);
    PV_PROBE(pv::xen_feature_info, submap, 4);
    PV_PROBE(pv::xen_compile_info, compile_date, 112);
}

TEST(pv_abi_layout, HvmStartInfo) {
    EXPECT_EQ(sizeof(pv::hvm_start_info), 56u);
    PV_PROBE(pv::hvm_start_info, nr_modules, 12);
    PV_PROBE(pv::hvm_start_info, modlist_paddr, 16);
    PV_PROBE(pv::hvm_start_info, rsdp_paddr, 32);
    PV_PROBE(pv::hvm_start_info, memmap_paddr, 40);
    PV_PROBE(pv::hvm_start_info, memmap_entries, 48);
    EXPECT_EQ(sizeof(pv::hvm_modlist_entry), 32u);
    PV_PROBE(pv::hvm_modlist_entry, cmdline_paddr, 16);
    EXPECT_EQ(sizeof(pv::hvm_memmap_table_entry), 24u);
    PV_PROBE(pv::hvm_memmap_table_entry, type, 16);
    pv::hvm_start_info h{};
    h.magic = pv::XEN_HVM_START_MAGIC_VALUE;
    // "xEn3" with the top bit of 'E' set, read as little-endian bytes.
    EXPECT_EQ(pv_test::read_le(h, 0, 1), 0x78u);
    EXPECT_EQ(pv_test::read_le(h, 1, 1), 0x45u | 0x80u);
    EXPECT_EQ(pv_test::read_le(h, 2, 1), 0x6eu);
    EXPECT_EQ(pv_test::read_le(h, 3, 1), 0x33u);
}

}  // namespace
