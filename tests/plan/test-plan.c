/*
 * tests/plan/test-plan.c - the planner's rules with exact values: the MMIO
 * budget (q35 + OVMF layout, the 8 x A100 case), huge pages, firmware and
 * maximums profiles, devices (existence, double use, IOMMU groups, vGPU
 * types), NICs, RDMA, migration eligibility, determinism, bad arguments.
 */
#include "test-hosts.h"
#include "plan/plan.h"
#include "core/json.h"
#include "core/text.h"

static void test_mmio_layout_model(void **state)
{
    hv_mmio_layout l;
    hv_plan_bar a100[] = {{MiB(16), false}, {GiB(128), true}, {MiB(32), true}};
    hv_plan_bar eight[24];

    /* small RAM stays below 2.75 GiB; no high RAM, no window */
    hv_mmio_compute(GiB(2), NULL, 0, &l);
    assert_true(l.low_ram_bytes == GiB(2) && l.high_ram_bytes == 0);
    assert_int_equal(l.window_bytes, 0);
    assert_int_equal(l.guest_phys_bits_required, 32);
    /* exactly 2.75 GiB: the low part ends at 2 GiB */
    hv_mmio_compute(MiB(2816), NULL, 0, &l);
    assert_true(l.low_ram_bytes == GiB(2));
    assert_true(l.high_ram_bytes == MiB(768));
    /* one A100 with 16 GiB RAM: window 256 GiB (128 GiB + 32 MiB rounded up) */
    hv_mmio_compute(GiB(16), a100, 3, &l);
    assert_true(l.window_bytes == GiB(256));
    assert_true(l.window_base == GiB(256)); /* RAM ends at 18 GiB; aligned to the window size */
    assert_int_equal(l.guest_phys_bits_required, 39);
    assert_true(l.hole32_fits);
    assert_true(l.hole32_used == MiB(16));
    /* the case: 8 x A100 SXM4 80GB with 1 TiB RAM */
    for (int i = 0; i < 8; i++)
        memcpy(&eight[i * 3], a100, sizeof(a100));
    hv_mmio_compute(TiB(1), eight, 24, &l);
    assert_true(l.high_ram_bytes == GiB(1022));
    assert_true(l.window_bytes == TiB(2));
    assert_true(l.window_base == TiB(2));
    assert_int_equal(l.guest_phys_bits_required, 42);
    /* 32-bit BARs that cannot fit below 4 GiB */
    {
        hv_plan_bar big32[8];

        for (int i = 0; i < 8; i++)
            big32[i] = (hv_plan_bar){MiB(256), false};
        hv_mmio_compute(GiB(8), big32, 8, &l);
        assert_false(l.hole32_fits);
        hv_mmio_compute(GiB(8), big32, 4, &l);
        assert_true(l.hole32_fits);
    }
}

static void test_eight_a100(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan;
    const hv_finding *f;

    /* limited to QEMU's default 40 bits: infeasible, pass the host's bits through */
    plan = test_plan(host, "{\"vcpus\": 64, \"memory\": \"1TiB\", \"guest_phys_bits\": 40, "
                           "\"accelerators\": [{\"model\": \"a100-sxm4-80gb\", \"count\": 8}]}");
    assert_true(hv_plan_mmio_bar_total_bytes(plan) == TiB(1) + MiB(384));
    assert_true(hv_plan_mmio_window_bytes(plan) == TiB(2));
    assert_true(hv_plan_mmio_window_base(plan) == TiB(2));
    assert_int_equal(hv_plan_guest_phys_bits_required(plan), 42);
    assert_int_equal(hv_plan_host_phys_bits(plan), 48);
    assert_false(hv_plan_mmio_feasible(plan));
    assert_false(hv_plan_ok(plan));
    assert_finding(plan, "plan.mmio.phys-bits", HV_SEVERITY_ERROR);
    f = plan_finding(plan, "plan.mmio.phys-bits");
    assert_non_null(strstr(hv_finding_message(f), "needs 42"));
    assert_non_null(strstr(hv_finding_message(f), "pass the host's 48 bits through"));
    assert_string_equal(hv_finding_path(f), "guest_phys_bits");
    hv_plan_free(plan);
    /* auto: the plan passes the host's bits through and is feasible */
    plan = test_plan(host, "{\"vcpus\": 64, \"memory\": \"1TiB\", \"accelerators\": "
                           "[{\"model\": \"a100-sxm4-80gb\", \"count\": 8}]}");
    assert_true(hv_plan_mmio_feasible(plan));
    assert_true(hv_plan_guest_phys_bits_passthrough(plan));
    assert_int_equal(hv_plan_guest_phys_bits(plan), 48);
    assert_finding(plan, "plan.mmio.phys-bits-passthrough", HV_SEVERITY_INFO);
    /* the host's eight GPUs were taken, in PCI order */
    assert_int_equal(hv_plan_device_count(plan), 8);
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 0)), "0000:07:00.0");
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 7)), "0000:bd:00.0");
    /* EFI for the 128 GiB BARs */
    assert_int_equal(hv_plan_firmware(plan), HV_FIRMWARE_EFI);
    assert_finding(plan, "plan.firmware.efi-chosen", HV_SEVERITY_INFO);
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    /* explicit width above the host's */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"guest_phys_bits\": 52}");
    assert_finding(plan, "plan.mmio.phys-bits-above-host", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_legacy_mmio_limit(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan;

    plan = test_plan(host, "{\"vcpus\": 8, \"memory\": \"64GiB\", \"profile\": \"vsphere-6.0\", "
                           "\"accelerators\": [{\"pci_address\": \"0000:07:00.0\"}]}");
    assert_finding(plan, "plan.max.mmio-aggregate", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* the same VM under vsphere-6.7 has no such limit */
    plan = test_plan(host, "{\"vcpus\": 8, \"memory\": \"64GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:07:00.0\"}]}");
    assert_null(plan_finding(plan, "plan.max.mmio-aggregate"));
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_pages(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/hugepages-2node");
    hv_plan *plan;

    /* node 0 has 60 free 1 GiB pages */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"48GiB\"}");
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 0);
    assert_true(hv_plan_vnode_page_bytes(hv_plan_vnuma_node_at(plan, 0)) == GiB(1));
    assert_int_equal(hv_plan_vnode_page_count(hv_plan_vnuma_node_at(plan, 0)), 48);
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    /* not a multiple of 1 GiB: 2 MiB pages (4096 free on node 0 = 8 GiB) */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"7938MiB\"}");
    assert_true(hv_plan_vnode_page_bytes(hv_plan_vnuma_node_at(plan, 0)) == MiB(2));
    assert_int_equal(hv_plan_vnode_page_count(hv_plan_vnuma_node_at(plan, 0)), 3969);
    hv_plan_free(plan);
    /* neither fits: 4 KiB with a warning that says what to reserve */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"9217MiB\"}");
    assert_true(hv_plan_vnode_page_bytes(hv_plan_vnuma_node_at(plan, 0)) == 4096);
    assert_finding(plan, "plan.pages.4k", HV_SEVERITY_WARNING);
    assert_true(hv_plan_ok(plan));
    hv_plan_free(plan);
    /* explicit 1 GiB short on the only node that can hold the VM */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"100GiB\", \"page_size\": \"1g\", "
                           "\"vnuma\": [{\"vcpus\": 4, \"memory\": \"100GiB\"}]}");
    assert_finding(plan, "plan.pages.short", HV_SEVERITY_ERROR);
    assert_false(hv_plan_ok(plan));
    hv_plan_free(plan);
    /* explicit 1 GiB and memory not a multiple */
    plan = test_plan(host, "{\"vcpus\": 4, \"memory\": \"1536MiB\", \"page_size\": \"1g\"}");
    assert_finding(plan, "plan.pages.indivisible", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
    /* 1 GiB pages on a CPU without pdpe1gb */
    {
        test_host_params p = {.nodes = 1,
                              .cores_per_node = 4,
                              .threads = 1,
                              .memory_per_node = GiB(64),
                              .free_per_node = GiB(8),
                              .free_1g_pages = 32,
                              .no_1g = true};
        host = test_host(&p);
        plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"16GiB\", \"page_size\": \"1g\"}");
        assert_finding(plan, "plan.pages.no-1g", HV_SEVERITY_ERROR);
        hv_plan_free(plan);
        hv_host_free(host);
    }
}

static void test_firmware_and_maximums(void **state)
{
    test_host_params p = {.nodes = 8,
                          .cores_per_node = 40,
                          .threads = 2,
                          .memory_per_node = TiB(1),
                          .free_per_node = TiB(1) - GiB(8)};
    hv_host *host = test_host(&p);
    hv_plan *plan;

    plan = test_plan(host, "{\"vcpus\": 65, \"memory\": \"64GiB\", \"firmware\": \"bios\"}");
    assert_finding(plan, "plan.firmware.bios-too-many-vcpus", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.firmware.bios-too-many-vcpus")),
                        "firmware");
    assert_non_null(
        strstr(hv_finding_message(plan_finding(plan, "plan.firmware.bios-too-many-vcpus")), "efi"));
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 65, \"memory\": \"64GiB\"}");
    assert_int_equal(hv_plan_firmware(plan), HV_FIRMWARE_EFI);
    assert_finding(plan, "plan.firmware.efi-chosen", HV_SEVERITY_INFO);
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 64, \"memory\": \"64GiB\"}");
    assert_int_equal(hv_plan_firmware(plan), HV_FIRMWARE_BIOS);
    hv_plan_free(plan);
    /* vsphere-6.7: 128 vCPUs, 6128 GiB */
    plan = test_plan(host, "{\"vcpus\": 128, \"memory\": \"6128GiB\"}");
    assert_null(plan_finding(plan, "plan.max.vcpus"));
    assert_null(plan_finding(plan, "plan.max.memory"));
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 129, \"memory\": \"6129GiB\"}");
    assert_finding(plan, "plan.max.vcpus", HV_SEVERITY_ERROR);
    assert_finding(plan, "plan.max.memory", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* kvm-q35: 288 vCPUs; above 255 an IOMMU with EIM */
    plan = test_plan(host, "{\"vcpus\": 256, \"memory\": \"64GiB\", \"profile\": \"kvm-q35\"}");
    assert_null(plan_finding(plan, "plan.max.vcpus"));
    assert_finding(plan, "plan.topology.x2apic-iommu", HV_SEVERITY_INFO);
    hv_plan_free(plan);
    plan = test_plan(host, "{\"vcpus\": 289, \"memory\": \"64GiB\", \"profile\": \"kvm-q35\"}");
    assert_finding(plan, "plan.max.vcpus", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* kvm-q35 memory is bounded by the guest address width: 6 TiB needs 43 bits */
    plan = test_plan(host, "{\"vcpus\": 16, \"memory\": \"6TiB\", \"profile\": \"kvm-q35\", "
                           "\"guest_phys_bits\": 42}");
    assert_finding(plan, "plan.mmio.phys-bits", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* the options' profile overrides the spec's */
    {
        hv_plan_options opts = HV_PLAN_OPTIONS_INIT;
        hv_vm_spec *spec = test_spec("{\"vcpus\": 200, \"memory\": \"64GiB\"}");

        opts.profile = "kvm-q35";
        assert_hv_ok(hv_plan_create(host, spec, &opts, &plan));
        assert_string_equal(hv_plan_profile(plan), "kvm-q35");
        assert_null(plan_finding(plan, "plan.max.vcpus"));
        hv_plan_free(plan);
        opts.profile = "nope";
        assert_hv_error(hv_plan_create(host, spec, &opts, &plan), HV_E_NOTFOUND);
        assert_null(plan);
        /* the message lists the profiles there are */
        assert_error_mentions("unknown maximums profile 'nope': use one of vsphere-6.7, kvm-q35, "
                              "vsphere-6.0");
        assert_string_equal(hv_error_path(hv_error_last()), "profile");
        hv_vm_spec_free(spec);
    }
    hv_host_free(host);
}

static void test_devices(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce"),
            *hp = hv_test_fixture_host("hosts/hugepages-2node");
    hv_host *h100 = hv_test_fixture_host("hosts/h100-passthrough-vm");
    hv_plan *plan;

    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                          "[{\"pci_address\": \"0000:99:00.0\"}]}");
    assert_finding(plan, "plan.device.not-found", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.device.not-found")),
                        "accelerators[0]");
    hv_plan_free(plan);
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                          "[{\"pci_address\": \"0000:07:00.0\"}, {\"pci_address\": "
                          "\"0000:07:00.0\"}]}");
    assert_finding(plan, "plan.device.duplicate", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.device.duplicate")),
                        "accelerators[1]");
    hv_plan_free(plan);
    /* the captured VM has no IOMMU: nothing can be passed through */
    plan = test_plan(h100, "{\"vcpus\": 4, \"memory\": \"2GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:00:06.0\"}]}");
    assert_finding(plan, "plan.device.no-iommu", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* an FPGA mode on a GPU; an unknown catalogue model */
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                          "[{\"pci_address\": \"0000:07:00.0\", \"mode\": \"fpga\"}, "
                          "{\"model\": \"z9000\"}]}");
    assert_finding(plan, "plan.device.not-fpga", HV_SEVERITY_ERROR);
    assert_finding(plan, "plan.device.unknown-model", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.device.unknown-model")),
                        "accelerators[1]");
    hv_plan_free(plan);
    /* vGPUs: type names, availability (the 48Q profile has one instance) */
    plan = test_plan(hp, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                         "[{\"pci_address\": \"0000:4b:00.0\", \"mode\": \"vgpu\", \"mdev_type\": "
                         "\"NVIDIA L40S-8Q\"}]}");
    assert_true(hv_plan_ok(plan));
    assert_string_equal(hv_plan_device_mdev_type(hv_plan_device_at(plan, 0)), "nvidia-1156");
    assert_true(hv_plan_live_migratable(plan));
    assert_int_equal(hv_plan_mmio_bar_total_bytes(plan), 0);
    hv_plan_free(plan);
    plan = test_plan(hp, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                         "[{\"pci_address\": \"0000:4b:00.0\", \"mode\": \"vgpu\", \"mdev_type\": "
                         "\"nvidia-1160\"}, {\"pci_address\": \"0000:4b:00.0\", \"mode\": "
                         "\"vgpu\", \"mdev_type\": \"nvidia-1160\"}]}");
    assert_finding(plan, "plan.device.mdev-available", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    plan = test_plan(hp, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                         "[{\"pci_address\": \"0000:4b:00.0\", \"mode\": \"vgpu\", \"mdev_type\": "
                         "\"nvidia-9999\"}]}");
    assert_finding(plan, "plan.device.mdev-type", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    /* an FPGA passed through */
    plan = test_plan(hp, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                         "[{\"pci_address\": \"0000:65:00.0\", \"mode\": \"fpga\"}]}");
    assert_true(hv_plan_ok(plan));
    assert_true(hv_plan_mmio_bar_total_bytes(plan) == MiB(1));
    assert_int_equal(hv_plan_vnode_host_node(hv_plan_vnuma_node_at(plan, 0)), 1);
    assert_false(hv_plan_live_migratable(plan));
    assert_int_equal(hv_plan_migration_reason_count(plan), 1);
    assert_non_null(strstr(hv_plan_migration_reason_at(plan, 0), "0000:65:00.0"));
    assert_finding(plan, "plan.migration.not-live", HV_SEVERITY_INFO);
    assert_non_null(strstr(hv_finding_message(plan_finding(plan, "plan.migration.not-live")),
                           "move it with an offline migration (HV_MIGRATE_OFFLINE"));
    hv_plan_free(plan);
    /* a model the host lacks: budgeted from the catalogue, flagged */
    plan = test_plan(hp, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"accelerators\": "
                         "[{\"model\": \"h100-sxm5-80gb\", \"count\": 2}]}");
    assert_finding(plan, "plan.device.from-catalogue", HV_SEVERITY_WARNING);
    assert_true(hv_plan_mmio_bar_total_bytes(plan) == 2 * (GiB(128) + MiB(48)));
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 0)), "");
    hv_plan_free(plan);
    hv_host_free(dgx);
    hv_host_free(hp);
    hv_host_free(h100);
}

static void test_iommu_group_sharing(void **state)
{
    test_host_params p = {.nodes = 1,
                          .cores_per_node = 8,
                          .threads = 1,
                          .memory_per_node = GiB(64),
                          .free_per_node = GiB(60),
                          .accelerators_json =
                              "[{\"pci_address\": \"0000:41:00.0\", \"vendor_id\": \"10de\", "
                              "\"device_id\": \"1db4\", \"class\": \"030200\", \"numa_node\": 0, "
                              "\"iommu_group\": 3, \"iommu_group_members\": "
                              "\"0000:40:01.0,0000:41:00.0,0000:41:00.1\"}]"};
    hv_host *host = test_host(&p);
    hv_plan *plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"4GiB\", \"accelerators\": "
                                    "[{\"pci_address\": \"0000:41:00.0\"}]}");
    const hv_finding *f;

    f = plan_finding(plan, "plan.device.iommu-group");
    assert_non_null(f);
    assert_int_equal(hv_finding_severity(f), HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_nics_and_rdma(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan;

    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"nics\": [{\"queues\": 8}, "
                          "{\"queues\": 1, \"rss\": [\"tcp\"]}, {\"model\": \"vmxnet3\", \"rss\": "
                          "[\"esp\"], \"tunnel_offloads\": [\"vxlan\"]}]}");
    assert_finding(plan, "plan.nic.queues", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.nic.queues")), "nics[0].queues");
    assert_finding(plan, "plan.nic.rss-queues", HV_SEVERITY_ERROR);
    assert_finding(plan, "plan.nic.vmxnet3", HV_SEVERITY_INFO);
    assert_finding(plan, "plan.nic.rss-esp", HV_SEVERITY_WARNING);
    assert_finding(plan, "plan.nic.tunnel-offloads", HV_SEVERITY_WARNING);
    assert_int_equal(hv_plan_device_queues(hv_plan_device_at(plan, 2)), 4); /* auto: vCPUs */
    hv_plan_free(plan);

    /* pvrdma over RoCE v2: the port near nothing in particular -> first; live-migratable */
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"protocol\": "
                          "\"roce-v2\", \"mode\": \"pvrdma\"}]}");
    assert_true(hv_plan_ok(plan));
    assert_string_equal(hv_plan_device_rdma_name(hv_plan_device_at(plan, 0)), "mlx5_0");
    assert_int_equal(hv_plan_device_mtu(hv_plan_device_at(plan, 0)), 4096);
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 0)), "");
    assert_true(hv_plan_live_migratable(plan));
    hv_plan_free(plan);
    /* SR-IOV: VFs in order, then none left on mlx5_0 (4 VFs) -> mlx5_1; not live */
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"mode\": "
                          "\"sr-iov\"}, {\"mode\": \"sr-iov\"}, {\"mode\": \"sr-iov\"}, "
                          "{\"mode\": \"sr-iov\"}, {\"mode\": \"sr-iov\"}]}");
    assert_true(hv_plan_ok(plan));
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 0)), "0000:61:00.2");
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 3)), "0000:61:00.5");
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 4)), "0000:e1:00.2");
    assert_false(hv_plan_live_migratable(plan));
    hv_plan_free(plan);
    /* InfiniBand: pvrdma is RoCE only; SR-IOV has no VFs on the IB HCAs; passthrough works */
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"rdma\": [{\"protocol\": "
                          "\"infiniband\", \"mode\": \"pvrdma\"}, {\"protocol\": \"infiniband\", "
                          "\"mode\": \"sr-iov\"}, {\"protocol\": \"infiniband\", \"mode\": "
                          "\"passthrough\"}]}");
    assert_finding(plan, "plan.rdma.pvrdma-infiniband", HV_SEVERITY_ERROR);
    assert_finding(plan, "plan.rdma.no-port", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.rdma.no-port")), "rdma[1]");
    assert_string_equal(hv_plan_device_rdma_name(hv_plan_device_at(plan, 0)), "mlx5_2");
    assert_string_equal(hv_plan_device_pci_address(hv_plan_device_at(plan, 0)), "0000:0c:00.0");
    hv_plan_free(plan);
    /* MTU above the port's */
    {
        hv_host *epyc = hv_test_fixture_host("hosts/epyc-2cpu-vm");

        plan = test_plan(epyc, "{\"vcpus\": 2, \"memory\": \"1GiB\", \"rdma\": [{}]}");
        assert_finding(plan, "plan.rdma.no-port", HV_SEVERITY_ERROR);
        hv_plan_free(plan);
        hv_host_free(epyc);
    }
    hv_host_free(dgx);
}

static void test_disks(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan;

    /* one image read through two disks is fine; written through one of them is not */
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"disks\": [{\"path\": "
                          "\"/img/a.raw\", \"read_only\": true}, {\"path\": \"/img/a.raw\", "
                          "\"read_only\": true, \"bus\": \"sata\"}, {\"path\": \"/img/b.raw\"}]}");
    assert_true(hv_plan_ok(plan));
    assert_null(plan_finding(plan, "plan.disks.shared-writable"));
    assert_int_equal(hv_plan_device_count(plan), 0); /* disks are not PCI devices of the plan */
    hv_plan_free(plan);
    plan = test_plan(dgx, "{\"vcpus\": 4, \"memory\": \"4GiB\", \"disks\": [{\"path\": "
                          "\"/img/a.raw\"}, {\"path\": \"/img/b.raw\"}, {\"path\": \"/img/a.raw\", "
                          "\"read_only\": true}]}");
    assert_false(hv_plan_ok(plan));
    assert_finding(plan, "plan.disks.shared-writable", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.disks.shared-writable")),
                        "disks[2].path");
    assert_non_null(strstr(hv_finding_message(plan_finding(plan, "plan.disks.shared-writable")),
                           "disks[0] writes"));
    hv_plan_free(plan);
    hv_host_free(dgx);
}

/* Issue 15: the boot source is the spec's; the plan keeps it, and its JSON carries it. */
static void test_boot_source(void **state)
{
    hv_host *dgx = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_plan *plan = test_plan(dgx, "{\"vcpus\": 2, \"memory\": \"2GiB\", \"boot\": {\"kernel\": "
                                   "\"/boot/vmlinuz\", \"initrd\": \"/boot/initrd.img\", "
                                   "\"cmdline\": \"console=ttyS0 quiet\"}, \"disks\": "
                                   "[{\"path\": \"/img/root.raw\", \"read_only\": true}]}");
    char *json = NULL;

    assert_true(hv_plan_ok(plan));
    assert_string_equal(hv_vm_spec_boot_kernel(hv_plan_spec(plan)), "/boot/vmlinuz");
    assert_string_equal(hv_vm_spec_boot_initrd(hv_plan_spec(plan)), "/boot/initrd.img");
    assert_string_equal(hv_vm_spec_boot_cmdline(hv_plan_spec(plan)), "console=ttyS0 quiet");
    assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &json));
    assert_non_null(strstr(json, "\"boot\":{\"kernel\":\"/boot/vmlinuz\",\"initrd\":"
                                 "\"/boot/initrd.img\",\"cmdline\":\"console=ttyS0 quiet\"}"));
    hv_free(json);
    hv_plan_free(plan);
    plan = test_plan(dgx, "{\"vcpus\": 2, \"memory\": \"2GiB\"}");
    assert_null(hv_vm_spec_boot_kernel(hv_plan_spec(plan)));
    assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &json));
    assert_null(strstr(json, "\"boot\""));
    hv_free(json);
    hv_plan_free(plan);
    hv_host_free(dgx);
}

static void test_rdma_mtu(void **state)
{
    test_host_params p = {
        .nodes = 1,
        .cores_per_node = 4,
        .threads = 1,
        .memory_per_node = GiB(16),
        .free_per_node = GiB(15),
        .rdma_json =
            "[{\"name\": \"mlx5_9\", \"numa_node\": 0, \"ports\": [{\"port\": 1, "
            "\"state\": \"ACTIVE\", \"link_layer\": \"Ethernet\", \"active_mtu\": 1024, "
            "\"gids\": [{\"index\": 0, \"gid\": \"fe80:0000:0000:0000:0000:0000:0000:0001\", "
            "\"type\": \"IB/RoCE v1\"}]}]}]"};
    hv_host *host = test_host(&p);
    hv_plan *plan;

    plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"1GiB\", \"rdma\": [{\"protocol\": "
                           "\"roce-v1\", \"mtu\": 4096}]}");
    assert_finding(plan, "plan.rdma.mtu", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.rdma.mtu")), "rdma[0].mtu");
    hv_plan_free(plan);
    /* RoCE v2 needs a v2 GID on the port */
    plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"1GiB\", \"rdma\": [{\"protocol\": "
                           "\"roce-v2\"}]}");
    assert_finding(plan, "plan.rdma.no-port", HV_SEVERITY_ERROR);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* "€" (3 bytes of UTF-8) ten times: cut at 47 or 31 bytes, it ends mid-character. */
#define EURO10                                                                                     \
    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"                                 \
    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"

/* Whether `field` is valid UTF-8 and `full` cut at a character boundary. */
static void assert_cut_whole(const char *field, const char *full)
{
    assert_true(hv_utf8_valid(field, strlen(field)));
    assert_true(strlen(field) > 0 && strlen(field) < strlen(full));
    assert_memory_equal(field, full, strlen(field));
}

/* The plan's JSON is strict JSON (valid UTF-8) and says what the getters say. */
static void assert_plan_json_reads_back(const hv_plan *plan)
{
    json_object *root = NULL, *devices;
    char *json = NULL;

    assert_hv_ok(hv_plan_to_json(plan, HV_JSON_PRETTY, &json));
    assert_true(hv_utf8_valid(json, strlen(json)));
    assert_hv_ok(hv_json_parse(json, "the plan", &root));
    assert_true(json_object_object_get_ex(root, "devices", &devices));
    assert_int_equal(json_object_array_length(devices), hv_plan_device_count(plan));
    for (size_t i = 0; i < hv_plan_device_count(plan); i++) {
        const hv_plan_device *d = hv_plan_device_at(plan, i);
        json_object *o = json_object_array_get_idx(devices, i), *v;

        assert_true(json_object_object_get_ex(o, "model", &v));
        assert_string_equal(json_object_get_string(v), hv_plan_device_model(d));
    }
    json_object_put(root);
    hv_free(json);
}

/* Long multibyte names from the host: the plan's fixed fields cut them whole, and still match. */
static void test_long_multibyte_names(void **state)
{
    static const char model[] = EURO10 EURO10 EURO10, name[] = EURO10 EURO10;
    test_host_params p = {
        .nodes = 1,
        .cores_per_node = 8,
        .threads = 1,
        .memory_per_node = GiB(64),
        .free_per_node = GiB(60),
        .accelerators_json =
            "[{\"pci_address\": \"0000:41:00.0\", \"vendor_id\": \"1234\", \"device_id\": "
            "\"5678\", \"class\": \"030200\", \"model\": \"" EURO10 EURO10 EURO10 "\", "
            "\"numa_node\": 0, \"iommu_group\": 3, \"iommu_group_members\": \"0000:41:00.0\", "
            "\"mdev_types\": [{\"id\": \"" EURO10 EURO10 EURO10 "\", \"name\": \"vgpu-8q\", "
            "\"available_instances\": 1, \"device_api\": \"vfio-pci\"}]}]",
        .rdma_json = "[{\"name\": \"" EURO10 EURO10 "\", \"numa_node\": 0, \"pci_address\": "
                     "\"0000:61:00.0\", \"ports\": [{\"port\": 1, \"state\": \"ACTIVE\", "
                     "\"link_layer\": \"Ethernet\", \"active_mtu\": 4096, \"gids\": [{\"index\": "
                     "0, \"gid\": \"fe80:0000:0000:0000:0000:0000:0000:0001\", \"type\": "
                     "\"IB/RoCE v1\"}]}]}]"};
    hv_host *host = test_host(&p);
    hv_plan *plan;

    /* passed through: the model; the RDMA device, which can be passed through once */
    plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"4GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:41:00.0\"}], \"rdma\": [{\"protocol\": "
                           "\"roce-v1\", \"mode\": \"passthrough\"}, {\"protocol\": \"roce-v1\", "
                           "\"mode\": \"passthrough\"}]}");
    assert_cut_whole(hv_plan_device_model(hv_plan_device_at(plan, 0)), model);
    assert_cut_whole(hv_plan_device_rdma_name(hv_plan_device_at(plan, 1)), name);
    assert_finding(plan, "plan.rdma.no-port", HV_SEVERITY_ERROR);
    assert_string_equal(hv_finding_path(plan_finding(plan, "plan.rdma.no-port")), "rdma[1]");
    assert_plan_json_reads_back(plan);
    hv_plan_free(plan);
    /* vGPUs: the type's id is cut the same way, and its one instance is counted */
    plan = test_plan(host, "{\"vcpus\": 2, \"memory\": \"4GiB\", \"accelerators\": "
                           "[{\"pci_address\": \"0000:41:00.0\", \"mode\": \"vgpu\", "
                           "\"mdev_type\": \"vgpu-8q\"}, {\"pci_address\": \"0000:41:00.0\", "
                           "\"mode\": \"vgpu\", \"mdev_type\": \"vgpu-8q\"}]}");
    assert_cut_whole(hv_plan_device_mdev_type(hv_plan_device_at(plan, 0)), model);
    assert_finding(plan, "plan.device.mdev-available", HV_SEVERITY_ERROR);
    assert_plan_json_reads_back(plan);
    hv_plan_free(plan);
    hv_host_free(host);
}

static void test_json_deterministic(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    hv_vm_spec *spec = test_spec("{\"vcpus\": 96, \"memory\": \"1TiB\", \"cpu_placement\": "
                                 "\"dedicated\", \"accelerators\": [{\"model\": "
                                 "\"a100-sxm4-80gb\", \"count\": 8}], \"rdma\": [{\"mode\": "
                                 "\"sr-iov\"}], \"nics\": [{\"rss\": [\"tcp\", \"udp\"]}]}");
    hv_plan *a = NULL, *b = NULL;
    char *ja = NULL, *jb = NULL;

    assert_hv_ok(hv_plan_create(host, spec, NULL, &a));
    assert_hv_ok(hv_plan_create(host, spec, NULL, &b));
    /* the plan owns what it needs: free the inputs first */
    hv_vm_spec_free(spec);
    hv_host_free(host);
    assert_hv_ok(hv_plan_to_json(a, HV_JSON_PRETTY, &ja));
    assert_hv_ok(hv_plan_to_json(b, HV_JSON_PRETTY, &jb));
    assert_string_equal(ja, jb);
    assert_non_null(strstr(ja, "\"guest_phys_bits_required\": 42"));
    assert_non_null(strstr(ja, "\"vcpu_pins\": ["));
    assert_string_equal(hv_vm_spec_name(hv_plan_spec(a)), "vm");
    hv_free(ja);
    hv_free(jb);
    hv_plan_free(a);
    hv_plan_free(b);
}

static void test_bad_arguments(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/epyc-2cpu-vm");
    hv_vm_spec *spec = test_spec("{\"vcpus\": 1, \"memory\": \"1GiB\"}");
    hv_plan_options opts = HV_PLAN_OPTIONS_INIT;
    hv_plan *plan = (hv_plan *)0x1;
    char *json;

    assert_hv_error(hv_plan_create(NULL, spec, NULL, &plan), HV_E_INVAL);
    assert_null(plan);
    assert_hv_error(hv_plan_create(host, NULL, NULL, &plan), HV_E_INVAL);
    assert_hv_error(hv_plan_create(host, spec, NULL, NULL), HV_E_INVAL);
    opts.version = 0;
    assert_hv_error(hv_plan_create(host, spec, &opts, &plan), HV_E_INVAL);
    opts.version = 7;
    assert_hv_error(hv_plan_create(host, spec, &opts, &plan), HV_E_INVAL);
    assert_hv_error(hv_plan_options_init(&opts, 0), HV_E_INVAL);
    assert_hv_ok(hv_plan_options_init(&opts, HV_PLAN_OPTIONS_VERSION));
    assert_hv_error(hv_plan_to_json(NULL, 0, &json), HV_E_INVAL);
    /* getters on NULL */
    assert_false(hv_plan_ok(NULL));
    assert_int_equal(hv_plan_vnuma_node_count(NULL), 0);
    assert_int_equal(hv_plan_vcpu_pin(NULL, 0), -1);
    assert_int_equal(hv_plan_vnuma_distance(NULL, 0, 0), -1);
    assert_null(hv_plan_migration_reason_at(NULL, 0));
    assert_string_equal(hv_plan_vnode_host_cpus(NULL), "");
    hv_plan_free(NULL);
    hv_vm_spec_free(spec);
    hv_host_free(host);
}

static void test_profiles(void **state)
{
    uint64_t v = 0;

    assert_true(hv_profile_count() >= 3);
    assert_string_equal(hv_profile_name_at(0), "vsphere-6.7");
    assert_null(hv_profile_name_at(99));
    assert_non_null(hv_profile_description("kvm-q35"));
    assert_null(hv_profile_description("nope"));
    assert_hv_ok(hv_profile_limit("vsphere-6.7", "host_max_logical_cpus", &v));
    assert_int_equal(v, 576);
    assert_hv_ok(hv_profile_limit("vsphere-6.7", "vm_max_memory_bytes", &v));
    assert_true(v == GiB(6128));
    assert_hv_ok(hv_profile_limit("kvm-q35", "vm_max_vcpus", &v));
    assert_int_equal(v, 288);
    assert_hv_ok(hv_profile_limit("vsphere-6.0", "vm_max_mmio_aggregate_bytes", &v));
    assert_true(v == GiB(32));
    assert_hv_error(hv_profile_limit("vsphere-6.7", "bogus", &v), HV_E_NOTFOUND);
    assert_hv_error(hv_profile_limit("nope", "vm_max_vcpus", &v), HV_E_NOTFOUND);
    assert_hv_error(hv_profile_limit(NULL, "vm_max_vcpus", &v), HV_E_INVAL);
}

/* The message is printable UTF-8 (no raw control or stray byte) and shows `shown`. */
static void assert_message_shows(const char *shown)
{
    const char *message = hv_error_message(hv_error_last());

    if (hv_text_unprintable_at(message, strlen(message)) != strlen(message) ||
        !strstr(message, shown))
        print_error("expected '%s', printable, in: %s\n", shown, message);
    assert_int_equal(hv_text_unprintable_at(message, strlen(message)), strlen(message));
    assert_non_null(strstr(message, shown));
}

/* A profile name or limit key from outside is shown escaped. */
static void test_profile_text_escaped(void **state)
{
    uint64_t v = 0;

    assert_hv_error(hv_profile_limit("vsphere\x1b]0;pwned\x07\xff", "vm_max_vcpus", &v),
                    HV_E_NOTFOUND);
    assert_message_shows("unknown maximums profile 'vsphere\\u001b]0;pwned\\u0007\\xff': use "
                         "one of vsphere-6.7, kvm-q35, vsphere-6.0");
    assert_hv_error(hv_profile_limit("kvm-q35", "vm_max\x1b[2J\xe2\x80\xae\xc3", &v),
                    HV_E_NOTFOUND);
    assert_message_shows("profile 'kvm-q35' has no limit called 'vm_max\\u001b[2J\\u202e\\xc3'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mmio_layout_model),
        cmocka_unit_test(test_eight_a100),
        cmocka_unit_test(test_legacy_mmio_limit),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_firmware_and_maximums),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_iommu_group_sharing),
        cmocka_unit_test(test_nics_and_rdma),
        cmocka_unit_test(test_rdma_mtu),
        cmocka_unit_test(test_disks),
        cmocka_unit_test(test_boot_source),
        cmocka_unit_test(test_long_multibyte_names),
        cmocka_unit_test(test_json_deterministic),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_profile_text_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
