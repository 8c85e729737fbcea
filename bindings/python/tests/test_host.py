"""Python bindings: the host inventory (hpcvirt.Host) against every fixture
tree in tests/fixtures/hosts, whose exact facts are tabled in that
directory's README.md; plus this machine, frequency sampling and errors."""
import ctypes
import ctypes.util
import dataclasses
import gc
import json
import os
from pathlib import Path

import pytest

import hpcvirt
from hpcvirt import Host

FIXTURES = Path(
    os.environ.get("HV_TEST_FIXTURES")
    or Path(__file__).resolve().parent.parent.parent.parent / "tests" / "fixtures"
) / "hosts"

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
HP_2M, HP_1G = 2 * MiB, GiB
NO_HUGEPAGES = {HP_2M: (0, 0), HP_1G: (0, 0)}


def expand(cpulist):
    out = []
    for part in cpulist.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def meminfo_kb(fixture, key):
    """A /proc/meminfo field of a fixture tree, in kB."""
    for line in (FIXTURES / fixture / "proc" / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0])
    raise KeyError(key)


# ---- expected facts (tests/fixtures/hosts/README.md) ----------------------------------


def nvidia_bars(bar0, bar1, bar3, bar1_size):
    """NVIDIA data-center GPU on bare metal: BAR0 16 MiB 32-bit non-prefetchable,
    BAR1 framebuffer and BAR3 32 MiB, both 64-bit prefetchable."""
    return [
        (0, bar0, 16 * MiB, False, False),
        (1, bar1, bar1_size, True, True),
        (3, bar3, 32 * MiB, True, True),
    ]


def a100(addr, group, node, bar0, bar1, bar3):
    cpulist = "0-63,128-191" if node == 0 else "64-127,192-255"
    return dict(
        pci_address=addr, vendor_id=0x10DE, device_id=0x20B2, subsystem_vendor_id=0x10DE,
        subsystem_device_id=0x147F, class_code=0x030200, kind="gpu",
        model="NVIDIA A100 SXM4 80GB", model_id="a100-sxm4-80gb", vendor_name="NVIDIA",
        numa_node=node, local_cpulist=cpulist, iommu_group=group, iommu_group_members=[addr],
        driver="nvidia", link_speed="16.0 GT/s PCIe", link_width=16,
        max_link_speed="16.0 GT/s PCIe", max_link_width=16, sriov_total_vfs=0,
        sriov_enabled_vfs=0, mdev_types=[], bars=nvidia_bars(bar0, bar1, bar3, 128 * GiB),
        bar_total_bytes=137489285120,
    )


def h100_on_16_nodes(i):
    """GPU i (8 per node) of gpu-16node-8gpu (tests/fixtures/hosts/README.md)."""
    node, g = divmod(i, 8)
    addr = "0000:%02x:00.0" % (node * 16 + g + 1)
    bar1 = 0x200000000000 + i * 0x4000000000
    return dict(
        pci_address=addr, vendor_id=0x10DE, device_id=0x2330, subsystem_vendor_id=0x10DE,
        subsystem_device_id=0x16C1, class_code=0x030200, kind="gpu",
        model="NVIDIA H100 SXM5 80GB", model_id="h100-sxm5-80gb", vendor_name="NVIDIA",
        numa_node=node,
        local_cpulist=f"{4 * node}-{4 * node + 3},{64 + 4 * node}-{64 + 4 * node + 3}",
        iommu_group=200 + i, iommu_group_members=[addr], driver="vfio-pci",
        link_speed="32.0 GT/s PCIe", link_width=16, max_link_speed="32.0 GT/s PCIe",
        max_link_width=16, sriov_total_vfs=0, sriov_enabled_vfs=0, mdev_types=[],
        bars=nvidia_bars(0x80000000 + i * 16 * MiB, bar1, bar1 + 128 * GiB, 128 * GiB),
        bar_total_bytes=128 * GiB + 48 * MiB,
    )


def roce_gids(netdev, link_local, ipv4_mapped):
    return [
        (0, link_local, "IB/RoCE v1", netdev),
        (1, link_local, "RoCE v2", netdev),
        (2, ipv4_mapped, "IB/RoCE v1", netdev),
        (3, ipv4_mapped, "RoCE v2", netdev),
    ]


def roce(name, pci, node, guid, netdev, link_local, ipv4_mapped):
    return dict(
        name=name, node_type="CA", fw_version="22.31.1014", node_guid=guid, pci_address=pci,
        numa_node=node, sriov_total_vfs=8, sriov_enabled_vfs=4,
        vf_addresses=[pci[:-1] + str(f) for f in range(2, 6)],
        ports=[dict(number=1, state="ACTIVE", phys_state="LinkUp", rate="100 Gb/sec (4X EDR)",
                    rate_gbps=100, link_layer="Ethernet", active_mtu=4096, netdev=netdev,
                    gids=roce_gids(netdev, link_local, ipv4_mapped))],
    )


def infiniband(name, pci, node, guid, gid):
    return dict(
        name=name, node_type="CA", fw_version="20.31.1014", node_guid=guid, pci_address=pci,
        numa_node=node, sriov_total_vfs=0, sriov_enabled_vfs=0, vf_addresses=[],
        ports=[dict(number=1, state="ACTIVE", phys_state="LinkUp", rate="200 Gb/sec (4X HDR)",
                    rate_gbps=200, link_layer="InfiniBand", active_mtu=0, netdev="",
                    gids=[(0, gid, "", "")])],
    )


def hand_built_topology(packages, cores_per_package):
    """Linux x86 SMT2 numbering: core c of package p is CPUs p*C+c and p*C+c+P*C."""
    first = packages * cores_per_package

    def topo(cpu):
        r = cpu % first
        return r // cores_per_package, r % cores_per_package

    return topo


def sliced_nodes(count, per_node_cores, first_thread_total, per_package, memory, free):
    """vsphere-* node rule: node n has cores per_node_cores*n.. and their siblings;
    distance 10 to itself, 12 within a package, 21 across packages."""
    nodes = []
    for n in range(count):
        lo = per_node_cores * n
        hi = lo + per_node_cores - 1
        nodes.append(dict(
            id=n,
            cpulist=f"{lo}-{hi},{first_thread_total + lo}-{first_thread_total + hi}",
            memory_bytes=memory, free_bytes=free,
            distances=[10 if m == n else 12 if m // per_package == n // per_package else 21
                       for m in range(count)],
            hugepages=NO_HUGEPAGES, core_count=per_node_cores,
        ))
    return nodes


MEMORY_MISMATCH = [("warning", "host.numa.memory-mismatch", "sys/devices/system/node")]

EXPECTED = {
    "h100-passthrough-vm": dict(
        cpu=dict(cpu_model="Intel(R) Xeon(R) Processor", cpu_vendor="GenuineIntel",
                 cpu_count=16, core_count=16, package_count=1, die_count=1,
                 threads_per_core=1, phys_addr_bits=46, virt_addr_bits=57, has_1g_pages=True,
                 base_frequency_khz=0),
        topology=lambda cpu: (0, cpu),
        memory_bytes=135148564480, node_memory_consistent=False,
        nodes=[dict(id=0, cpulist="0-15", memory_bytes=4659331072, free_bytes=3394125824,
                    distances=[10], hugepages=NO_HUGEPAGES, core_count=16)],
        accelerators=[dict(
            pci_address="0000:00:06.0", vendor_id=0x10DE, device_id=0x2330,
            subsystem_vendor_id=0x10DE, subsystem_device_id=0x16C1, class_code=0x030200,
            kind="gpu", model="NVIDIA H100 SXM5 80GB", model_id="h100-sxm5-80gb",
            vendor_name="NVIDIA", numa_node=-1, local_cpulist="0-15", iommu_group=-1,
            iommu_group_members=[], driver="nvidia", link_speed="32.0 GT/s PCIe", link_width=16,
            max_link_speed="32.0 GT/s PCIe", max_link_width=16, sriov_total_vfs=0,
            sriov_enabled_vfs=0, mdev_types=[],
            # as the VMM presents them: all three 64-bit prefetchable
            bars=[(0, 0x102002000000, 16 * MiB, True, True),
                  (2, 0x100000000000, 128 * GiB, True, True),
                  (4, 0x102000000000, 32 * MiB, True, True)],
            bar_total_bytes=137489285120)],
        rdma=[],
        findings=MEMORY_MISMATCH,
    ),
    "epyc-2cpu-vm": dict(
        cpu=dict(cpu_model="AMD EPYC", cpu_vendor="AuthenticAMD", cpu_count=2, core_count=2,
                 package_count=1, die_count=1, threads_per_core=1, phys_addr_bits=48,
                 virt_addr_bits=48, has_1g_pages=False, base_frequency_khz=0),
        topology=lambda cpu: (0, cpu),
        memory_bytes=25276026880, node_memory_consistent=False,
        nodes=[dict(id=0, cpulist="0-1", memory_bytes=5194416128, free_bytes=4699258880,
                    distances=[10], hugepages={HP_2M: (0, 0)}, core_count=2)],  # no 1G pool
        accelerators=[],  # virtio devices only
        rdma=[],
        findings=MEMORY_MISMATCH,
    ),
    "dgx-a100-roce": dict(
        cpu=dict(cpu_model="AMD EPYC 7742 64-Core Processor", cpu_vendor="AuthenticAMD",
                 cpu_count=256, core_count=128, package_count=2, die_count=2,
                 threads_per_core=2, phys_addr_bits=48, virt_addr_bits=48, has_1g_pages=True,
                 base_frequency_khz=2250000),
        topology=hand_built_topology(2, 64),
        memory_bytes=2199023255552, node_memory_consistent=True,
        nodes=[
            dict(id=0, cpulist="0-63,128-191", memory_bytes=TiB, free_bytes=1073741824000,
                 distances=[10, 32], hugepages=NO_HUGEPAGES, core_count=64),
            dict(id=1, cpulist="64-127,192-255", memory_bytes=TiB, free_bytes=1082331758592,
                 distances=[32, 10], hugepages=NO_HUGEPAGES, core_count=64),
        ],
        accelerators=[
            a100("0000:07:00.0", 20, 0, 0xA0000000, 0x200000000000, 0x202000000000),
            a100("0000:0f:00.0", 22, 0, 0xA2000000, 0x204000000000, 0x206000000000),
            a100("0000:47:00.0", 40, 0, 0xA4000000, 0x208000000000, 0x20A000000000),
            a100("0000:4e:00.0", 41, 0, 0xA6000000, 0x20C000000000, 0x20E000000000),
            a100("0000:87:00.0", 80, 1, 0xA8000000, 0x210000000000, 0x212000000000),
            a100("0000:90:00.0", 82, 1, 0xAA000000, 0x214000000000, 0x216000000000),
            a100("0000:b7:00.0", 100, 1, 0xAC000000, 0x218000000000, 0x21A000000000),
            a100("0000:bd:00.0", 101, 1, 0xAE000000, 0x21C000000000, 0x21E000000000),
        ],
        rdma=[
            roce("mlx5_0", "0000:61:00.0", 0, "b8ce:f603:00a1:b2c0", "enp97s0f0np0",
                 "fe80:0000:0000:0000:bace:f6ff:fea1:b2c0",
                 "0000:0000:0000:0000:0000:ffff:c0a8:0a01"),
            roce("mlx5_1", "0000:e1:00.0", 1, "b8ce:f603:00a1:c3d0", "enp225s0f0np0",
                 "fe80:0000:0000:0000:bace:f6ff:fea1:c3d0",
                 "0000:0000:0000:0000:0000:ffff:c0a8:0b01"),
            infiniband("mlx5_2", "0000:0c:00.0", 0, "0c42:a103:0065:3a10",
                       "fe80:0000:0000:0000:0c42:a103:0065:3a10"),
            infiniband("mlx5_3", "0000:8d:00.0", 1, "0c42:a103:0065:3a20",
                       "fe80:0000:0000:0000:0c42:a103:0065:3a20"),
        ],
        findings=[],
    ),
    "hugepages-2node": dict(
        cpu=dict(cpu_model="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", cpu_vendor="GenuineIntel",
                 cpu_count=64, core_count=32, package_count=1, die_count=1, threads_per_core=2,
                 phys_addr_bits=46, virt_addr_bits=57, has_1g_pages=True,
                 base_frequency_khz=2000000),
        topology=hand_built_topology(1, 32),
        memory_bytes=549755813888, node_memory_consistent=True,
        nodes=[
            dict(id=0, cpulist="0-15,32-47", memory_bytes=256 * GiB, free_bytes=180 * GiB,
                 distances=[10, 11], hugepages={HP_2M: (4096, 4096), HP_1G: (64, 60)},
                 core_count=16),
            dict(id=1, cpulist="16-31,48-63", memory_bytes=256 * GiB, free_bytes=214 * GiB,
                 distances=[11, 10], hugepages={HP_2M: (2048, 1024), HP_1G: (32, 32)},
                 core_count=16),
        ],
        accelerators=[
            dict(pci_address="0000:31:00.0", vendor_id=0x8086, device_id=0x09C4,
                 subsystem_vendor_id=0x8086, subsystem_device_id=0x0000, class_code=0x120000,
                 kind="fpga", model="Intel PAC with Arria 10 GX FPGA", model_id="pac-a10-gx",
                 vendor_name="Intel", numa_node=0, local_cpulist="0-15,32-47", iommu_group=15,
                 iommu_group_members=["0000:31:00.0"], driver="dfl-pci",
                 link_speed="8.0 GT/s PCIe", link_width=8, max_link_speed="8.0 GT/s PCIe",
                 max_link_width=8, sriov_total_vfs=1, sriov_enabled_vfs=0, mdev_types=[],
                 bars=[(0, 0x202000000000, 512 * KiB, True, True)], bar_total_bytes=524288),
            dict(pci_address="0000:4b:00.0", vendor_id=0x10DE, device_id=0x26B9,
                 subsystem_vendor_id=0x10DE, subsystem_device_id=0x1851, class_code=0x030200,
                 kind="gpu", model="NVIDIA L40S", model_id="l40s", vendor_name="NVIDIA",
                 numa_node=0, local_cpulist="0-15,32-47", iommu_group=27,
                 iommu_group_members=["0000:4b:00.0"], driver="nvidia",
                 # trained down at idle: current 2.5 GT/s, capable of 16.0 GT/s
                 link_speed="2.5 GT/s PCIe", link_width=16, max_link_speed="16.0 GT/s PCIe",
                 max_link_width=16, sriov_total_vfs=0, sriov_enabled_vfs=0,
                 mdev_types=[("nvidia-1155", "NVIDIA L40S-4Q", 12),
                             ("nvidia-1156", "NVIDIA L40S-8Q", 6),
                             ("nvidia-1160", "NVIDIA L40S-48Q", 1)],
                 bars=nvidia_bars(0xB8000000, 0x200000000000, 0x201000000000, 64 * GiB),
                 bar_total_bytes=68769808384),
            dict(pci_address="0000:65:00.0", vendor_id=0x8086, device_id=0x0B2B,
                 subsystem_vendor_id=0x8086, subsystem_device_id=0x0000, class_code=0x120000,
                 kind="fpga", model="Intel FPGA PAC D5005", model_id="pac-d5005",
                 vendor_name="Intel", numa_node=1, local_cpulist="16-31,48-63", iommu_group=40,
                 iommu_group_members=["0000:65:00.0"], driver="dfl-pci",
                 link_speed="8.0 GT/s PCIe", link_width=16, max_link_speed="8.0 GT/s PCIe",
                 max_link_width=16, sriov_total_vfs=3, sriov_enabled_vfs=0, mdev_types=[],
                 bars=[(0, 0xC5000000, 512 * KiB, True, False),
                       (2, 0x207000000000, 512 * KiB, True, True)],
                 bar_total_bytes=1048576),
        ],
        rdma=[],
        findings=[],
    ),
    "vsphere-max": dict(
        cpu=dict(cpu_model="Intel(R) Xeon(R) Platinum 8360Y CPU @ 2.40GHz",
                 cpu_vendor="GenuineIntel", cpu_count=576, core_count=288, package_count=8,
                 die_count=8, threads_per_core=2, phys_addr_bits=46, virt_addr_bits=57,
                 has_1g_pages=True,
                 base_frequency_khz=2400000),  # no cpufreq: from the model name's "@ 2.40GHz"
        topology=hand_built_topology(8, 36),
        memory_bytes=13194139533312, node_memory_consistent=True,
        nodes=sliced_nodes(16, 18, 288, 2, 768 * GiB, 760 * GiB),
        accelerators=[],
        rdma=[],
        findings=[],  # exactly at the maximums: none of the host.max.* warnings
    ),
    "vsphere-over-max": dict(
        cpu=dict(cpu_model="Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz",
                 cpu_vendor="GenuineIntel", cpu_count=640, core_count=320, package_count=8,
                 die_count=8, threads_per_core=2, phys_addr_bits=46, virt_addr_bits=57,
                 has_1g_pages=True, base_frequency_khz=2300000),
        topology=hand_built_topology(8, 40),
        memory_bytes=17592186044416, node_memory_consistent=True,
        nodes=sliced_nodes(32, 10, 320, 4, 512 * GiB, 504 * GiB),
        accelerators=[],
        rdma=[],
        findings=[("warning", "host.max.logical-cpus", "cpus.logical"),
                  ("warning", "host.max.numa-nodes", "numa_nodes"),
                  ("warning", "host.max.memory", "memory.total_bytes")],
    ),
    "gpu-16node-8gpu": dict(
        cpu=dict(cpu_model="Intel(R) Xeon(R) Platinum 8360Y CPU @ 2.40GHz",
                 cpu_vendor="GenuineIntel", cpu_count=128, core_count=64, package_count=8,
                 die_count=8, threads_per_core=2, phys_addr_bits=52, virt_addr_bits=57,
                 has_1g_pages=True, base_frequency_khz=2400000),
        topology=hand_built_topology(8, 8),
        memory_bytes=4 * TiB, node_memory_consistent=True,
        nodes=[dict(n, hugepages={HP_2M: (0, 0), HP_1G: (200, 200)})
               for n in sliced_nodes(16, 4, 64, 2, 256 * GiB, 250 * GiB)],
        accelerators=[h100_on_16_nodes(node * 8 + g) for node in range(16) for g in range(8)],
        rdma=[],
        findings=[],
    ),
}

NAMES = sorted(EXPECTED)

_hosts = {}


def fixture_host(name):
    """One discovered Host per fixture tree, shared by the tests (it is immutable)."""
    if name not in _hosts:
        _hosts[name] = Host.discover(root=str(FIXTURES / name))
    return _hosts[name]


# ---- every fixture, every fact ----------------------------------------------------------


def test_every_fixture_tree_has_expectations():
    trees = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    assert trees == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_cpu_facts(name):
    host, exp = fixture_host(name), EXPECTED[name]
    for attr, value in exp["cpu"].items():
        assert getattr(host, attr) == value, attr
    assert host.root == str(FIXTURES / name)
    assert host.profile == "vsphere-6.7"


@pytest.mark.parametrize("name", NAMES)
def test_cpu_list(name):
    host, exp = fixture_host(name), EXPECTED[name]
    node_of = {cpu: n["id"] for n in exp["nodes"] for cpu in expand(n["cpulist"])}
    cpus = host.cpus
    assert [c.id for c in cpus] == list(range(exp["cpu"]["cpu_count"]))
    for c in cpus:
        package, core = exp["topology"](c.id)
        assert (c.package, c.die, c.core, c.node) == (package, 0, core, node_of[c.id]), c


@pytest.mark.parametrize("name", NAMES)
def test_memory(name):
    host, exp = fixture_host(name), EXPECTED[name]
    assert host.memory_bytes == exp["memory_bytes"]
    assert host.memory_bytes == meminfo_kb(name, "MemTotal") * 1024
    assert host.memory_available_bytes == meminfo_kb(name, "MemAvailable") * 1024
    assert host.node_memory_consistent is exp["node_memory_consistent"]


@pytest.mark.parametrize("name", NAMES)
def test_numa_nodes(name):
    host, exp = fixture_host(name), EXPECTED[name]
    ids = [n["id"] for n in exp["nodes"]]
    assert [n.id for n in host.nodes] == ids
    for e in exp["nodes"]:
        node = host.node(e["id"])
        assert node is not None
        assert node.cpulist == e["cpulist"]
        assert node.cpus == expand(e["cpulist"])
        assert node.cpu_count == len(node.cpus)
        assert node.core_count == e["core_count"]
        assert node.memory_bytes == e["memory_bytes"]
        assert node.free_bytes == e["free_bytes"]
        assert node.distances == dict(zip(ids, e["distances"]))
        for to, dist in zip(ids, e["distances"]):
            assert node.distance(to) == dist
        assert node.distance(max(ids) + 1) == -1
        assert node.hugepages == e["hugepages"]
        assert list(node.hugepages) == sorted(node.hugepages)  # ascending page sizes
    assert host.node(max(ids) + 1) is None


def _accel_view(a):
    d = dataclasses.asdict(a)
    d["bars"] = [(b.index, b.start, b.size_bytes, b.is_64bit, b.prefetchable) for b in a.bars]
    d["mdev_types"] = [(t.id, t.name, t.available) for t in a.mdev_types]
    return d


@pytest.mark.parametrize("name", NAMES)
def test_accelerators(name):
    host, exp = fixture_host(name), EXPECTED[name]
    accs = host.accelerators
    assert [a.pci_address for a in accs] == [e["pci_address"] for e in exp["accelerators"]]
    assert [a.pci_address for a in accs] == sorted(a.pci_address for a in accs)
    for a, e in zip(accs, exp["accelerators"]):
        assert _accel_view(a) == e
        assert not any(b.is_io for b in a.bars)
        assert a.bar_total_bytes == sum(b.size_bytes for b in a.bars)
        assert host.accelerator(a.pci_address) == a
    assert host.accelerator("0000:ff:1f.7") is None


def test_accelerator_details():
    dgx = fixture_host("dgx-a100-roce")
    # NICs and their VFs are not accelerators
    for addr in ("0000:0c:00.0", "0000:61:00.0", "0000:61:00.1", "0000:61:00.2", "0000:e1:00.5"):
        assert dgx.accelerator(addr) is None
    assert sum(a.bar_total_bytes for a in dgx.accelerators) == 1099914280960
    gpu = dgx.accelerator("0000:07:00.0")
    assert gpu.bar(1).size_bytes == 128 * GiB and gpu.bar(2) is None
    assert [b.index for b in gpu.bars] == [0, 1, 3]

    h100 = fixture_host("h100-passthrough-vm").accelerator("0000:00:06.0")
    assert h100.bar_total_bytes == 137489285120
    assert [b.index for b in h100.bars] == [0, 2, 4]

    l40s = fixture_host("hugepages-2node").accelerator("0000:4b:00.0")
    assert l40s.bar_total_bytes == 68769808384
    assert [t.available for t in l40s.mdev_types] == [12, 6, 1]
    d5005 = fixture_host("hugepages-2node").accelerator("0000:65:00.0")
    assert (d5005.bar(0).prefetchable, d5005.bar(2).prefetchable) == (False, True)


def _rdma_view(d):
    out = dataclasses.asdict(d)
    out["ports"] = []
    for p in d.ports:
        po = dataclasses.asdict(p)
        po["gids"] = [(g.index, g.gid, g.type, g.netdev) for g in p.gids]
        out["ports"].append(po)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_rdma(name):
    host, exp = fixture_host(name), EXPECTED[name]
    got = {d.name: _rdma_view(d) for d in host.rdma_devices}
    assert len(got) == len(host.rdma_devices)
    assert got == {e["name"]: e for e in exp["rdma"]}


def test_rdma_details():
    devs = {d.name: d for d in fixture_host("dgx-a100-roce").rdma_devices}
    # RoCE: netdev MTU 9000 -> active MTU 4096 (the largest IB MTU); IB publishes none -> 0
    assert [p.active_mtu for p in devs["mlx5_0"].ports] == [4096]
    assert [p.active_mtu for p in devs["mlx5_2"].ports] == [0]
    # the empty slot after the valid GIDs is not listed
    assert [g.index for g in devs["mlx5_1"].ports[0].gids] == [0, 1, 2, 3]
    assert [g.type for g in devs["mlx5_0"].ports[0].gids] == [
        "IB/RoCE v1", "RoCE v2", "IB/RoCE v1", "RoCE v2"]
    assert [p.rate_gbps for d in sorted(devs) for p in devs[d].ports] == [100, 100, 200, 200]
    # the enabled VFs behind the RoCE PFs' virtfnN links
    assert devs["mlx5_0"].vf_addresses == [f"0000:61:00.{f}" for f in range(2, 6)]
    assert devs["mlx5_1"].vf_addresses == [f"0000:e1:00.{f}" for f in range(2, 6)]
    assert devs["mlx5_2"].vf_addresses == []


@pytest.mark.parametrize("name", NAMES)
def test_findings(name):
    host, exp = fixture_host(name), EXPECTED[name]
    got = [(f.severity, f.code, f.path) for f in host.findings]
    assert got == exp["findings"]
    for f in host.findings:
        assert isinstance(f, hpcvirt.Finding)
        assert f.message
        assert f.code in str(f)


def test_findings_name_the_limits():
    over = {f.code: f for f in fixture_host("vsphere-over-max").findings}
    assert "640" in over["host.max.logical-cpus"].message
    assert "576" in over["host.max.logical-cpus"].message
    assert "32" in over["host.max.numa-nodes"].message
    max_codes = {f.code for f in fixture_host("vsphere-max").findings}
    assert not max_codes & {"host.max.logical-cpus", "host.max.numa-nodes", "host.max.memory"}
    for name in ("h100-passthrough-vm", "epyc-2cpu-vm"):
        (f,) = fixture_host(name).findings
        assert f.code == "host.numa.memory-mismatch" and f.severity == "warning"
        assert str(EXPECTED[name]["memory_bytes"]) in f.message


# ---- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_json_round_trip(name):
    host = fixture_host(name)
    text = host.to_json()
    again = Host.from_json(text)
    assert again.to_json() == text
    assert again.to_json(pretty=True) == host.to_json(pretty=True)
    assert json.loads(host.to_json(pretty=True)) == json.loads(text) == host.to_dict()
    assert "\n" in host.to_json(pretty=True) and "\n" not in text
    # the rebuilt host's Python view is the same too
    for attr in ("cpu_count", "core_count", "package_count", "die_count", "threads_per_core",
                 "phys_addr_bits", "memory_bytes", "cpus", "nodes", "accelerators",
                 "rdma_devices", "findings", "profile"):
        assert getattr(again, attr) == getattr(host, attr), attr
    assert Host.from_json(text.encode()).to_json() == text


def python_as_json(host, c_json):
    """The Python objects rendered in the C JSON's layout. Two facts have no
    C getter and are taken from the C JSON: mdev device_api, huge page surplus."""
    def hexid(v, digits=4):
        return f"{v:0{digits}x}"

    nodes = []
    for n, cn in zip(host.nodes, c_json["numa_nodes"]):
        surplus = {p["page_bytes"]: p["surplus"] for p in cn["hugepages"]}
        nodes.append(dict(
            id=n.id, cpus=n.cpulist, cpu_count=n.cpu_count, core_count=n.core_count,
            memory_bytes=n.memory_bytes, free_bytes=n.free_bytes,
            distances=[n.distance(m.id) for m in host.nodes],
            hugepages=[dict(page_bytes=size, total=t, free=f, surplus=surplus.get(size))
                       for size, (t, f) in n.hugepages.items()]))
    accels = []
    for a, ca in zip(host.accelerators, c_json["accelerators"]):
        api = [t["device_api"] for t in ca["mdev_types"]]
        accels.append(dict(
            pci_address=a.pci_address, vendor_id=hexid(a.vendor_id),
            device_id=hexid(a.device_id), subsystem_vendor_id=hexid(a.subsystem_vendor_id),
            subsystem_device_id=hexid(a.subsystem_device_id), **{"class": hexid(a.class_code, 6)},
            vendor=a.vendor_name, kind=a.kind, model=a.model, model_id=a.model_id,
            numa_node=a.numa_node, local_cpus=a.local_cpulist, iommu_group=a.iommu_group,
            iommu_group_members=",".join(a.iommu_group_members), driver=a.driver,
            link=dict(speed=a.link_speed, width=a.link_width, max_speed=a.max_link_speed,
                      max_width=a.max_link_width),
            sriov_total_vfs=a.sriov_total_vfs, sriov_enabled_vfs=a.sriov_enabled_vfs,
            mdev_types=[dict(id=t.id, name=t.name, available_instances=t.available,
                             device_api=dapi) for t, dapi in zip(a.mdev_types, api)],
            bars=[dataclasses.asdict(b) for b in a.bars], bar_total_bytes=a.bar_total_bytes))
    rdma = [dict(
        name=d.name, node_type=d.node_type, fw_ver=d.fw_version, node_guid=d.node_guid,
        pci_address=d.pci_address, numa_node=d.numa_node, sriov_total_vfs=d.sriov_total_vfs,
        sriov_enabled_vfs=d.sriov_enabled_vfs, vf_addresses=d.vf_addresses,
        ports=[dict(port=p.number, state=p.state, phys_state=p.phys_state,
                    link_layer=p.link_layer, active_mtu=p.active_mtu, rate=p.rate,
                    rate_gbps=p.rate_gbps, netdev=p.netdev,
                    gids=[dataclasses.asdict(g) for g in p.gids]) for p in d.ports])
        for d in host.rdma_devices]
    return dict(
        root=host.root, profile=host.profile,
        cpus=dict(model=host.cpu_model, vendor=host.cpu_vendor, logical=host.cpu_count,
                  cores=host.core_count, packages=host.package_count, dies=host.die_count,
                  threads_per_core=host.threads_per_core, phys_addr_bits=host.phys_addr_bits,
                  virt_addr_bits=host.virt_addr_bits, has_1g_pages=host.has_1g_pages,
                  base_frequency_khz=host.base_frequency_khz,
                  list=[dataclasses.asdict(c) for c in host.cpus]),
        memory=dict(total_bytes=host.memory_bytes, available_bytes=host.memory_available_bytes,
                    node_total_bytes=sum(n.memory_bytes for n in host.nodes),
                    nodes_consistent=host.node_memory_consistent),
        numa_nodes=nodes, accelerators=accels, rdma=rdma,
        findings=[dataclasses.asdict(f) for f in host.findings])


@pytest.mark.parametrize("name", NAMES)
def test_python_facts_equal_c_json(name):
    host = fixture_host(name)
    c_json = host.to_dict()
    assert python_as_json(host, c_json) == c_json


def test_python_facts_equal_c_json_on_this_machine():
    host = Host.discover()
    c_json = host.to_dict()
    # both views come from the same C host, so even the moving figures agree
    assert python_as_json(host, c_json) == c_json


# ---- objects outlive the C host ---------------------------------------------------------


def test_sub_objects_outlive_host_and_are_frozen():
    host = Host.discover(root=str(FIXTURES / "hugepages-2node"))
    node, acc, finding_list = host.node(0), host.accelerators[1], host.findings
    cpus = host.cpus
    del host
    gc.collect()
    assert node.hugepages[HP_1G] == (64, 60)
    assert acc.mdev_types[0].name == "NVIDIA L40S-4Q"
    assert acc.bars[1].size_bytes == 64 * GiB
    assert cpus[63].core == 31 and finding_list == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.memory_bytes = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        acc.bars[0].size_bytes = 0


def test_lists_are_copies():
    host = fixture_host("dgx-a100-roce")
    host.accelerators.clear()
    host.nodes.pop()
    assert len(host.accelerators) == 8 and len(host.nodes) == 2


def test_constructor_is_internal():
    with pytest.raises(ValueError):
        Host(hpcvirt.ffi.NULL)


# ---- discovery options --------------------------------------------------------------------


def test_skip_flags():
    root = FIXTURES / "dgx-a100-roce"
    assert len(Host.discover(root=root).accelerators) == 8  # a Path works as root
    no_pci = Host.discover(root=str(root), skip_pci=True)
    assert no_pci.accelerators == [] and len(no_pci.rdma_devices) == 4
    no_rdma = Host.discover(root=str(root), skip_rdma=True)
    assert no_rdma.rdma_devices == [] and len(no_rdma.accelerators) == 8
    both = Host.discover(root=str(root), skip_pci=True, skip_rdma=True, skip_libnuma=True)
    assert both.accelerators == [] and both.rdma_devices == []
    assert both.cpu_count == 256


def test_profile_option():
    root = str(FIXTURES / "vsphere-over-max")
    host = Host.discover(root=root, profile="vsphere-6.7")
    assert host.profile == "vsphere-6.7"
    expected = [code for _, code, _ in EXPECTED["vsphere-over-max"]["findings"]]
    assert [f.code for f in host.findings] == expected


# ---- this machine -------------------------------------------------------------------------


def _sysfs_list(path):
    try:
        return expand(Path(path).read_text().strip())
    except OSError:
        return None


def test_discover_this_machine():
    host = Host.discover()
    assert host.root == "/"
    assert host.cpu_count >= 1 and host.core_count >= 1 and host.package_count >= 1
    assert host.cpu_count == len(host.cpus)
    assert host.memory_bytes > 0 and len(host.nodes) >= 1
    assert "host.numa.libnuma-disagrees" not in [f.code for f in host.findings]
    online = _sysfs_list("/sys/devices/system/cpu/online")
    if online is not None:
        assert [c.id for c in host.cpus] == online
    nodes = _sysfs_list("/sys/devices/system/node/online")
    if nodes is not None:
        assert [n.id for n in host.nodes] == nodes
    with open("/proc/meminfo", encoding="ascii") as f:
        total_kb = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
    assert host.memory_bytes == total_kb * 1024


def test_this_machine_agrees_with_libnuma():
    path = ctypes.util.find_library("numa") or "libnuma.so.1"
    try:
        numa = ctypes.CDLL(path)
    except OSError:
        pytest.skip("libnuma is not installed")
    if numa.numa_available() < 0:
        pytest.skip("libnuma says NUMA is not available here")
    host = Host.discover()
    assert "host.numa.libnuma-disagrees" not in [f.code for f in host.findings]
    assert numa.numa_max_node() == max(n.id for n in host.nodes)
    numa.numa_node_size64.restype = ctypes.c_longlong
    numa.numa_node_size64.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_longlong)]
    for node in host.nodes:
        assert numa.numa_node_size64(node.id, None) == node.memory_bytes
        for other in host.nodes:
            assert numa.numa_distance(node.id, other.id) == node.distance(other.id)


# ---- effective frequency ------------------------------------------------------------------


def counters_present():
    """Whether this machine exposes APERF/MPERF: the perf msr PMU's aperf/mperf
    events, or a readable /dev/cpu/0/msr."""
    events = Path("/sys/bus/event_source/devices/msr/events")
    if (events / "aperf").exists() and (events / "mperf").exists():
        return True
    return os.access("/dev/cpu/0/msr", os.R_OK)


def test_sample_frequency_this_machine():
    host = Host.discover(skip_pci=True, skip_rdma=True)
    if not counters_present():
        with pytest.raises(hpcvirt.Unsupported) as info:
            host.sample_frequency(interval_ms=20)
        assert info.value.code == hpcvirt.lib.HV_E_UNSUPPORTED
        assert info.value.name == "HV_E_UNSUPPORTED"
        assert "APERF" in info.value.message
        return
    try:
        samples = host.sample_frequency(interval_ms=50)
    except hpcvirt.Unsupported as err:  # e.g. perf_event_paranoid forbids them
        pytest.skip(f"counters exist but cannot be read: {err}")
    assert samples.source in ("perf", "msr")
    assert [s.cpu for s in samples] == [c.id for c in host.cpus]
    for s in samples:
        assert isinstance(s, hpcvirt.FrequencySample)
        assert s.ratio >= 0 and s.effective_mhz >= 0
    first = host.cpus[0].id
    one = host.sample_frequency(interval_ms=10, cpus=[first])
    assert [s.cpu for s in one] == [first]
    assert [s.cpu for s in host.sample_frequency(interval_ms=10, cpus=str(first))] == [first]


def test_sample_frequency_needs_a_live_host():
    host = fixture_host("dgx-a100-roce")
    with pytest.raises(hpcvirt.Unsupported):
        host.sample_frequency()
    with pytest.raises(hpcvirt.Unsupported):
        Host.from_json(host.to_json()).sample_frequency()


def test_sample_frequency_argument_errors():
    host = Host.discover(skip_pci=True, skip_rdma=True)
    with pytest.raises(hpcvirt.InvalidArgument) as info:
        host.sample_frequency(interval_ms=60001)
    assert info.value.path == "interval_ms"
    with pytest.raises(hpcvirt.InvalidArgument):
        host.sample_frequency(interval_ms=-1)


def test_sample_frequency_bad_cpulist_says_why():
    host = Host.discover(skip_pci=True, skip_rdma=True)
    with pytest.raises(hpcvirt.InvalidArgument) as info:
        host.sample_frequency(cpus="bogus")
    assert info.value.path == "cpulist"
    assert "bogus" in info.value.message


# ---- errors -------------------------------------------------------------------------------


def test_nonexistent_root_raises_not_found():
    with pytest.raises(hpcvirt.NotFound) as info:
        Host.discover(root="/nonexistent/hpcvirt-root")
    assert isinstance(info.value, LookupError)
    assert "/nonexistent/hpcvirt-root" in info.value.message


def test_root_without_cpus_raises_parse_error(tmp_path):
    with pytest.raises(hpcvirt.ParseError):
        Host.discover(root=str(tmp_path))


def test_unknown_profile_raises_not_found():
    with pytest.raises(hpcvirt.NotFound) as info:
        Host.discover(root=str(FIXTURES / "vsphere-max"), profile="no-such-profile")
    assert info.value.path == "profile"
    assert "vsphere-6.7" in info.value.message  # it names the known profiles


def test_bad_json_raises_parse_error_with_path():
    with pytest.raises(hpcvirt.ParseError) as info:
        Host.from_json("{")
    assert info.value.path  # the line of the syntax error
    with pytest.raises(hpcvirt.ParseError) as info:
        Host.from_json('{"cpus": 1}')
    assert info.value.path == "cpus"
    doc = fixture_host("dgx-a100-roce").to_dict()
    doc["accelerators"][1]["vendor_id"] = "nvidia"
    with pytest.raises(hpcvirt.ParseError) as info:
        Host.from_json(json.dumps(doc))
    assert info.value.path == "accelerators[1].vendor_id"
    doc = fixture_host("dgx-a100-roce").to_dict()
    doc["numa_nodes"][0]["distances"] = [10]
    with pytest.raises(hpcvirt.ParseError) as info:
        Host.from_json(json.dumps(doc))
    assert info.value.path == "numa_nodes[0].distances"
