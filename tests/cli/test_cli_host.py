"""The hpcvirt CLI: `hpcvirt host` (human and --json) against the fixture
trees of tests/fixtures/hosts (facts in their README.md), its errors, and
`hpcvirt frequency`."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import hpcvirt

CLI = os.environ["HPCVIRT_CLI"]
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
GiB = 1 << 30
HUGEPAGES_NONE = [
    {"page_bytes": 2 << 20, "total": 0, "free": 0},
    {"page_bytes": 1 << 30, "total": 0, "free": 0},
]


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False)


def host_json(name):
    r = run("host", "--root", str(FIXTURES / name), "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def pick(obj, keys):
    return {k: obj[k] for k in keys}


NODE_KEYS = ("id", "cpus", "memory_bytes", "free_bytes", "distances")
ACCEL_KEYS = ("pci_address", "vendor_id", "device_id", "kind", "model", "numa_node",
              "iommu_group", "bar_total_bytes", "sriov_total_vfs", "mdev_types")
BAR_KEYS = ("index", "size_bytes", "is_64bit", "prefetchable")


def hugepages_of(node):
    return [pick(p, ("page_bytes", "total", "free")) for p in node["hugepages"]]


def test_fixture_trees_are_all_here():
    assert "dgx-a100-roce" in NAMES and "h100-passthrough-vm" in NAMES and len(NAMES) == 7


def test_host_json_dgx_a100_roce():
    doc = host_json("dgx-a100-roce")
    assert pick(doc["cpus"], ("logical", "cores", "packages", "threads_per_core",
                              "phys_addr_bits")) == {
        "logical": 256, "cores": 128, "packages": 2, "threads_per_core": 2,
        "phys_addr_bits": 48}
    assert [pick(n, NODE_KEYS) for n in doc["numa_nodes"]] == [
        {"id": 0, "cpus": "0-63,128-191", "memory_bytes": 1099511627776,
         "free_bytes": 1073741824000, "distances": [10, 32]},
        {"id": 1, "cpus": "64-127,192-255", "memory_bytes": 1099511627776,
         "free_bytes": 1082331758592, "distances": [32, 10]},
    ]
    assert [hugepages_of(n) for n in doc["numa_nodes"]] == [HUGEPAGES_NONE, HUGEPAGES_NONE]

    gpus = [("0000:07:00.0", 0, 20), ("0000:0f:00.0", 0, 22), ("0000:47:00.0", 0, 40),
            ("0000:4e:00.0", 0, 41), ("0000:87:00.0", 1, 80), ("0000:90:00.0", 1, 82),
            ("0000:b7:00.0", 1, 100), ("0000:bd:00.0", 1, 101)]
    assert [pick(a, ACCEL_KEYS) for a in doc["accelerators"]] == [
        {"pci_address": addr, "vendor_id": "10de", "device_id": "20b2", "kind": "gpu",
         "model": "NVIDIA A100 SXM4 80GB", "numa_node": node, "iommu_group": group,
         "bar_total_bytes": 137489285120, "sriov_total_vfs": 0, "mdev_types": []}
        for addr, node, group in gpus]
    for acc in doc["accelerators"]:
        assert [pick(b, BAR_KEYS) for b in acc["bars"]] == [
            {"index": 0, "size_bytes": 16 << 20, "is_64bit": False, "prefetchable": False},
            {"index": 1, "size_bytes": 128 * GiB, "is_64bit": True, "prefetchable": True},
            {"index": 3, "size_bytes": 32 << 20, "is_64bit": True, "prefetchable": True},
        ]

    rdma = {d["name"]: d for d in doc["rdma"]}
    assert sorted(rdma) == ["mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"]
    assert {n: (d["pci_address"], d["numa_node"]) for n, d in rdma.items()} == {
        "mlx5_0": ("0000:61:00.0", 0), "mlx5_1": ("0000:e1:00.0", 1),
        "mlx5_2": ("0000:0c:00.0", 0), "mlx5_3": ("0000:8d:00.0", 1)}
    port_keys = ("port", "state", "link_layer", "active_mtu", "rate")
    roce_port = {"port": 1, "state": "ACTIVE", "link_layer": "Ethernet", "active_mtu": 4096,
                 "rate": "100 Gb/sec (4X EDR)"}
    ib_port = {"port": 1, "state": "ACTIVE", "link_layer": "InfiniBand", "active_mtu": 0,
               "rate": "200 Gb/sec (4X HDR)"}
    for name, port in (("mlx5_0", roce_port), ("mlx5_1", roce_port),
                       ("mlx5_2", ib_port), ("mlx5_3", ib_port)):
        assert [pick(p, port_keys) for p in rdma[name]["ports"]] == [port], name
    gid_keys = ("index", "gid", "type")
    ll, v4 = "fe80:0000:0000:0000:bace:f6ff:fea1:b2c0", "0000:0000:0000:0000:0000:ffff:c0a8:0a01"
    assert [pick(g, gid_keys) for g in rdma["mlx5_0"]["ports"][0]["gids"]] == [
        {"index": 0, "gid": ll, "type": "IB/RoCE v1"},
        {"index": 1, "gid": ll, "type": "RoCE v2"},
        {"index": 2, "gid": v4, "type": "IB/RoCE v1"},
        {"index": 3, "gid": v4, "type": "RoCE v2"},
    ]
    ll1, v41 = "fe80:0000:0000:0000:bace:f6ff:fea1:c3d0", "0000:0000:0000:0000:0000:ffff:c0a8:0b01"
    assert [(g["index"], g["gid"], g["type"]) for g in rdma["mlx5_1"]["ports"][0]["gids"]] == [
        (0, ll1, "IB/RoCE v1"), (1, ll1, "RoCE v2"), (2, v41, "IB/RoCE v1"), (3, v41, "RoCE v2")]
    assert [pick(g, gid_keys) for g in rdma["mlx5_2"]["ports"][0]["gids"]] == [
        {"index": 0, "gid": "fe80:0000:0000:0000:0c42:a103:0065:3a10", "type": ""}]
    assert [pick(g, gid_keys) for g in rdma["mlx5_3"]["ports"][0]["gids"]] == [
        {"index": 0, "gid": "fe80:0000:0000:0000:0c42:a103:0065:3a20", "type": ""}]
    assert doc["findings"] == []


def test_host_json_h100_passthrough_vm():
    doc = host_json("h100-passthrough-vm")
    assert pick(doc["cpus"], ("logical", "cores", "packages", "threads_per_core",
                              "phys_addr_bits")) == {
        "logical": 16, "cores": 16, "packages": 1, "threads_per_core": 1, "phys_addr_bits": 46}
    assert [pick(n, NODE_KEYS) for n in doc["numa_nodes"]] == [
        {"id": 0, "cpus": "0-15", "memory_bytes": 4659331072, "free_bytes": 3394125824,
         "distances": [10]}]
    assert hugepages_of(doc["numa_nodes"][0]) == HUGEPAGES_NONE
    (acc,) = doc["accelerators"]
    assert pick(acc, ACCEL_KEYS) == {
        "pci_address": "0000:00:06.0", "vendor_id": "10de", "device_id": "2330", "kind": "gpu",
        "model": "NVIDIA H100 SXM5 80GB", "numa_node": -1, "iommu_group": -1,
        "bar_total_bytes": 137489285120, "sriov_total_vfs": 0, "mdev_types": []}
    assert [pick(b, BAR_KEYS) for b in acc["bars"]] == [
        {"index": 0, "size_bytes": 16 << 20, "is_64bit": True, "prefetchable": True},
        {"index": 2, "size_bytes": 128 * GiB, "is_64bit": True, "prefetchable": True},
        {"index": 4, "size_bytes": 32 << 20, "is_64bit": True, "prefetchable": True},
    ]
    assert doc["rdma"] == []
    assert [(f["severity"], f["code"]) for f in doc["findings"]] == [
        ("warning", "host.numa.memory-mismatch")]
    assert doc["memory"]["total_bytes"] == 135148564480
    assert doc["memory"]["nodes_consistent"] is False


@pytest.mark.parametrize("name", NAMES)
def test_host_json_findings(name):
    codes = [f["code"] for f in host_json(name)["findings"]]
    expected = {
        "h100-passthrough-vm": ["host.numa.memory-mismatch"],
        "epyc-2cpu-vm": ["host.numa.memory-mismatch"],
        "vsphere-over-max": ["host.max.logical-cpus", "host.max.numa-nodes", "host.max.memory"],
    }
    assert codes == expected.get(name, [])


@pytest.mark.parametrize("name", NAMES)
def test_cli_json_equals_python(name):
    root = str(FIXTURES / name)
    assert host_json(name) == hpcvirt.Host.discover(root=root).to_dict()


def test_host_human_output_h100():
    r = run("host", "--root", str(FIXTURES / "h100-passthrough-vm"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "0000:00:06.0" in out and "NVIDIA H100 SXM5 80GB" in out
    assert "128 GiB" in out  # the H100's BAR2
    assert "node 0" in out and "0-15" in out
    assert "16 logical CPUs" in out
    assert "host.numa.memory-mismatch" in out


def test_host_human_output_nodes_and_hugepages():
    r = run("host", "--root", str(FIXTURES / "hugepages-2node"))
    assert r.returncode == 0, r.stderr
    assert "node 0" in r.stdout and "node 1" in r.stdout
    assert "60 free of 64" in r.stdout  # node 0's 1 GiB pool
    assert "NVIDIA L40S-4Q" in r.stdout


def test_host_errors():
    r = run("host", "--root", "/nonexistent")
    assert r.returncode == 1
    assert "error" in r.stderr and "/nonexistent" in r.stderr
    assert "HV_E_NOTFOUND" in r.stderr
    assert r.stdout == ""
    r = run("host", "--root", str(FIXTURES / "vsphere-max"), "--profile", "no-such-profile")
    assert r.returncode == 1 and "HV_E_NOTFOUND" in r.stderr


def test_host_usage_errors_exit_64():
    r = run("host", "--root")
    assert r.returncode == 64
    assert "--root" in r.stderr
    assert run("host", "--profile").returncode == 64
    assert run("host", "--bogus").returncode == 64


def test_host_this_machine():
    r = run("host", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["root"] == "/" and doc["cpus"]["logical"] >= 1
    assert "host.numa.libnuma-disagrees" not in [f["code"] for f in doc["findings"]]


def test_frequency():
    r = run("frequency", "--interval-ms", "20")
    if r.returncode == 0:  # a machine whose APERF/MPERF counters can be read
        assert "APERF/MPERF" in r.stdout
        r = run("frequency", "--interval-ms", "20", "--json")
        assert r.returncode == 0
        doc = json.loads(r.stdout)
        assert doc["source"] in ("perf", "msr")
        assert all(c["ratio"] >= 0 for c in doc["cpus"])
        return
    assert r.returncode == 1, r.stderr
    assert "error" in r.stderr
    assert "HV_E_UNSUPPORTED" in r.stderr
    assert "aperf" in r.stderr.lower()  # it says which counters it could not read


def test_frequency_usage_errors_exit_64():
    assert run("frequency", "--interval-ms", "lots").returncode == 64
    assert run("frequency", "--interval-ms", "60001").returncode == 64
    assert run("frequency", "--cpus").returncode == 64
