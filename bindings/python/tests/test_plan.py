"""Python bindings: plans (hpcvirt.Plan) of every example spec on the fixture
host its README names - the same plan as the C CLI's `hpcvirt plan --json`,
every getter agreeing with that JSON, the main facts asserted one by one,
determinism, profiles, and failing plans."""
import gc
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import hpcvirt
from hpcvirt import Host, Mmio, Plan, PlanDevice, VmSpec, VnumaNode

SRC = Path(
    os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent.parent
)
FIXTURES = Path(os.environ.get("HV_TEST_FIXTURES") or SRC / "tests" / "fixtures") / "hosts"
SPECS = SRC / "examples" / "specs"
CLI = os.environ.get("HPCVIRT_CLI")

MiB, GiB, TiB = 1 << 20, 1 << 30, 1 << 40


def readme_pairs():
    """(spec file, fixture host) from the table in examples/specs/README.md."""
    text = (SPECS / "README.md").read_text()
    return re.findall(r"^\|\s*`([^`]+\.json)`\s*\|\s*`([^`]+)`\s*\|", text, re.M)


PAIRS = readme_pairs()
_HOSTS = {}


def host(name):
    if name not in _HOSTS:
        _HOSTS[name] = Host.discover(root=str(FIXTURES / name))
    return _HOSTS[name]


def plan_of(fname, fixture, profile=None):
    return Plan.create(host(fixture), VmSpec.from_file(SPECS / fname), profile=profile)


def cli_plan(spec_path, fixture, *extra):
    """`hpcvirt plan SPEC --host-root FIXTURE --json` -> (exit status, parsed JSON)."""
    if not CLI:
        pytest.skip("HPCVIRT_CLI is not set")
    r = subprocess.run([CLI, "plan", str(spec_path), "--host-root", str(FIXTURES / fixture),
                        "--json", *extra], capture_output=True, text=True, check=False)
    assert r.returncode in (0, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def facts_from_getters(plan):
    """The plan JSON rebuilt from the Python getters (for the keys they cover)."""
    default_bits = hpcvirt.profile_limit(plan.profile, "default_guest_phys_bits")
    m = plan.mmio
    devices = []
    for d in plan.devices:
        common = {"type": d.type, "spec_path": d.spec_path, "pci_address": d.pci_address,
                  "model": d.model, "host_node": d.host_node, "vnode": d.vnode}
        if d.type == "accelerator":
            common.update(mode=d.mode, mdev_type=d.mdev_type)
        elif d.type == "nic":
            common.update(queues=d.queues)
        else:
            common.update(mode=d.mode, rdma_device=d.rdma_name, mtu=d.mtu)
        devices.append(common)
    return {
        "ok": plan.ok, "name": plan.name, "profile": plan.profile,
        "findings": [{"severity": f.severity, "code": f.code, "path": f.path,
                      "message": f.message} for f in plan.findings],
        "firmware": plan.firmware, "vcpus": plan.vcpus, "memory_bytes": plan.memory_bytes,
        "cpu_placement": plan.cpu_placement,
        "topology": {"sockets": plan.sockets, "cores": plan.cores_per_socket,
                     "threads": plan.threads_per_core},
        "vnuma": {"nodes": [vars(n) for n in plan.vnuma_nodes], "distances": plan.distances},
        "vcpu_pins": plan.vcpu_pins if plan.cpu_placement == "dedicated" else [],
        "emulator_cpus": plan.emulator_cpus,
        "mmio": {"bar_total_bytes": m.bar_total_bytes, "window_bytes": m.window_bytes,
                 "window_base": m.window_base, "low_ram_bytes": m.low_ram_bytes,
                 "high_ram_bytes": m.high_ram_bytes,
                 "guest_phys_bits_required": m.guest_phys_bits_required,
                 "guest_phys_bits": m.guest_phys_bits or default_bits,
                 "guest_phys_bits_mode": ("passthrough" if m.guest_phys_bits_passthrough
                                          else "emulate" if m.guest_phys_bits else "default"),
                 "host_phys_bits": m.host_phys_bits, "feasible": m.feasible},
        "devices": devices,
        "migration": {"live": plan.live_migratable, "reasons": plan.migration_reasons},
        "spec": plan.spec.to_dict(),
    }


def json_subset(doc):
    """The plan JSON less what no getter exposes."""
    doc = json.loads(json.dumps(doc))
    doc["topology"].pop("iommu_eim")
    doc["vnuma"].pop("policy")
    doc["mmio"].pop("hole32_used_bytes")
    for d in doc["devices"]:
        for key in ("bar_total_bytes", "rss", "tunnel_offloads", "protocol", "port"):
            d.pop(key, None)
    return doc


# ---- every example against the CLI ---------------------------------------------------


def test_readme_names_a_fixture_for_every_example():
    assert sorted(f for f, _ in PAIRS) == sorted(p.name for p in SPECS.glob("*.json"))
    for _, fixture in PAIRS:
        assert (FIXTURES / fixture).is_dir(), fixture


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_plan_equals_cli_json(fname, fixture):
    plan = plan_of(fname, fixture)
    status, doc = cli_plan(SPECS / fname, fixture)
    assert plan.to_dict() == doc
    assert status == (0 if plan.ok else 2)
    assert json.loads(plan.to_json(pretty=True)) == doc


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_getters_agree_with_json(fname, fixture):
    plan = plan_of(fname, fixture)
    assert facts_from_getters(plan) == json_subset(plan.to_dict())


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_every_example_is_ok_on_its_fixture(fname, fixture):
    plan = plan_of(fname, fixture)
    assert plan.ok, [str(f) for f in plan.errors]
    assert plan.errors == []
    assert plan.live_migratable == (plan.migration_reasons == [])
    # the vNUMA nodes add up to the VM
    assert sum(n.vcpus for n in plan.vnuma_nodes) == plan.vcpus
    assert sum(n.memory_bytes for n in plan.vnuma_nodes) == plan.memory_bytes
    assert plan.sockets * plan.cores_per_socket * plan.threads_per_core == plan.vcpus
    for n in plan.vnuma_nodes:
        assert n.page_bytes * n.page_count == n.memory_bytes
    assert plan.spec == VmSpec.from_file(SPECS / fname)


@pytest.mark.parametrize("profile", ["kvm-q35", "vsphere-6.0"])
@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_profile_override_equals_cli(fname, fixture, profile):
    plan = plan_of(fname, fixture, profile=profile)
    assert plan.profile == profile
    _, doc = cli_plan(SPECS / fname, fixture, "--profile", profile)
    assert plan.to_dict() == doc
    assert facts_from_getters(plan) == json_subset(doc)


# ---- the main facts of each example ---------------------------------------------------


def codes(findings):
    return [f.code for f in findings]


def test_training_8gpu_on_dgx_a100_roce():
    plan = plan_of("training-8gpu.json", "dgx-a100-roce")
    assert plan.ok and plan.name == "train-8gpu" and plan.profile == "vsphere-6.7"
    assert plan.firmware == "efi"
    assert "plan.firmware.efi-chosen" in codes(plan.infos)
    assert (plan.vcpus, plan.memory_bytes, plan.cpu_placement) == (96, TiB, "dedicated")
    assert (plan.sockets, plan.cores_per_socket, plan.threads_per_core) == (2, 48, 1)
    assert plan.vnuma_nodes == [
        VnumaNode(id=0, vcpus=48, vcpu_list="0-47", memory_bytes=512 * GiB, host_node=0,
                  page_bytes=4096, page_count=512 * GiB // 4096, host_cpus="0-47"),
        VnumaNode(id=1, vcpus=48, vcpu_list="48-95", memory_bytes=512 * GiB, host_node=1,
                  page_bytes=4096, page_count=512 * GiB // 4096, host_cpus="64-111"),
    ]
    assert plan.distances == [[10, 32], [32, 10]]
    assert plan.vcpu_pins == list(range(0, 48)) + list(range(64, 112))
    assert codes(plan.warnings) == ["plan.pages.4k"]

    m = plan.mmio
    assert isinstance(m, Mmio)
    assert (m.window_bytes, m.window_base) == (2 * TiB, 2 * TiB)
    assert m.bar_total_bytes == 8 * 137489285120  # the 8 GPUs' BARs (host fixture facts)
    assert m.guest_phys_bits_required == 42
    assert m.guest_phys_bits_passthrough is True
    assert (m.guest_phys_bits, m.host_phys_bits) == (48, 48)
    assert m.feasible is True
    assert (m.low_ram_bytes, m.high_ram_bytes) == (2 * GiB, TiB - 2 * GiB)

    accels = [d for d in plan.devices if d.type == "accelerator"]
    assert len(accels) == 8
    assert len({d.pci_address for d in accels}) == 8
    assert [d.pci_address for d in accels] == [
        "0000:07:00.0", "0000:0f:00.0", "0000:47:00.0", "0000:4e:00.0",
        "0000:87:00.0", "0000:90:00.0", "0000:b7:00.0", "0000:bd:00.0"]
    for d in accels:
        assert (d.spec_path, d.model, d.mode, d.mdev_type) == (
            "accelerators[0]", "a100-sxm4-80gb", "passthrough", "")
        assert d.vnode == d.host_node  # each GPU sits in the vNUMA node of its host node
    assert [d.host_node for d in accels] == [0] * 4 + [1] * 4

    (rdma,) = [d for d in plan.devices if d.type == "rdma"]
    assert rdma == PlanDevice(type="rdma", spec_path="rdma[0]", pci_address="0000:61:00.2",
                              mode="sr-iov", model="", mdev_type="", host_node=0, vnode=0,
                              queues=0, mtu=4096, rdma_name="mlx5_0")
    (nic,) = [d for d in plan.devices if d.type == "nic"]
    assert (nic.model, nic.queues, nic.mode, nic.host_node, nic.vnode) == (
        "virtio-net", 16, "", -1, -1)

    assert plan.live_migratable is False
    assert len(plan.migration_reasons) == 2
    assert plan.migration_reasons[0].startswith("accelerators[0]: 0000:07:00.0")
    assert plan.migration_reasons[1].startswith("rdma[0]: 0000:61:00.2")


def test_genomics_on_vsphere_max():
    plan = plan_of("genomics-128vcpu-6tb.json", "vsphere-max")
    assert plan.ok and plan.profile == "vsphere-6.7"
    assert plan.firmware == "efi" and "plan.firmware.efi-chosen" in codes(plan.infos)
    assert (plan.vcpus, plan.memory_bytes, plan.cpu_placement) == (128, 6128 * GiB, "shared")
    assert (plan.sockets, plan.cores_per_socket, plan.threads_per_core) == (8, 16, 1)
    nodes = plan.vnuma_nodes
    assert len(nodes) == 8
    assert [n.vcpus for n in nodes] == [16] * 8
    assert [n.vcpu_list for n in nodes] == [f"{16 * i}-{16 * i + 15}" for i in range(8)]
    assert [n.host_node for n in nodes] == list(range(8))
    assert [n.memory_bytes for n in nodes] == [766 * GiB] * 8
    assert nodes[0].host_cpus == "0-17,288-305"
    assert plan.vcpu_pins == [-1] * 128
    row0 = [10, 12] + [21] * 6
    assert plan.distances[0] == row0
    assert all(plan.distances[i][i] == 10 for i in range(8))
    assert plan.distances == [list(r) for r in zip(*plan.distances)]  # symmetric
    assert sorted(codes(plan.warnings)) == ["plan.pages.4k", "plan.vnuma.memory-remote"]
    assert "plan.nic.vmxnet3" in codes(plan.infos)
    (nic,) = plan.devices
    assert (nic.type, nic.model, nic.queues) == ("nic", "virtio-net", 8)
    assert plan.mmio.bar_total_bytes == 0 and plan.mmio.window_bytes == 0
    assert plan.mmio.guest_phys_bits_required == 43 and plan.mmio.guest_phys_bits_passthrough
    assert plan.live_migratable and plan.migration_reasons == []


def test_fpga_inference_on_hugepages_2node():
    plan = plan_of("fpga-inference.json", "hugepages-2node")
    assert plan.ok and plan.errors == [] and plan.warnings == []
    assert codes(plan.infos) == ["plan.migration.not-live"]
    assert plan.firmware == "efi" and plan.cpu_placement == "dedicated"
    assert plan.vnuma_nodes == [
        VnumaNode(id=0, vcpus=16, vcpu_list="0-15", memory_bytes=32 * GiB, host_node=1,
                  page_bytes=GiB, page_count=32, host_cpus="16-31")]
    assert plan.distances == [[10]]
    assert plan.vcpu_pins == list(range(16, 32))
    (fpga, nic) = plan.devices
    assert fpga == PlanDevice(type="accelerator", spec_path="accelerators[0]",
                              pci_address="0000:65:00.0", mode="fpga", model="pac-d5005",
                              mdev_type="", host_node=1, vnode=0, queues=0, mtu=0, rdma_name="")
    assert (nic.type, nic.queues) == ("nic", 4)
    m = plan.mmio
    assert (m.bar_total_bytes, m.window_bytes, m.window_base) == (MiB, 512 << 10, 34 * GiB)
    assert (m.guest_phys_bits_required, m.guest_phys_bits, m.guest_phys_bits_passthrough) == (
        36, 0, False)
    assert m.host_phys_bits == 46 and m.feasible
    assert plan.to_dict()["mmio"]["guest_phys_bits"] == 40  # 0 = the profile's default
    assert not plan.live_migratable
    assert plan.migration_reasons == [
        "accelerators[0]: 0000:65:00.0 is passed through (VFIO): its state lives in the device"]


def test_mpi_roce_on_dgx_a100_roce():
    plan = plan_of("mpi-roce.json", "dgx-a100-roce")
    assert plan.ok and plan.firmware == "bios"
    assert (plan.sockets, plan.cores_per_socket, plan.threads_per_core) == (1, 16, 2)
    (node,) = plan.vnuma_nodes
    assert (node.vcpus, node.host_node, node.host_cpus) == (32, 0, "0-15,128-143")
    # SMT pairs: vCPUs 2k and 2k+1 are the two threads of host core k
    assert plan.vcpu_pins == [c for k in range(16) for c in (k, 128 + k)]
    (rdma, nic) = plan.devices
    assert rdma == PlanDevice(type="rdma", spec_path="rdma[0]", pci_address="", mode="pvrdma",
                              model="", mdev_type="", host_node=0, vnode=0, queues=0, mtu=4096,
                              rdma_name="mlx5_0")
    assert (nic.type, nic.queues) == ("nic", 8)
    assert plan.live_migratable and plan.migration_reasons == []
    assert codes(plan.warnings) == ["plan.pages.4k"]


def test_vgpu_workstation_on_hugepages_2node():
    plan = plan_of("vgpu-workstation.json", "hugepages-2node")
    assert plan.ok and plan.findings == []
    assert plan.firmware == "bios" and plan.cpu_placement == "shared"
    assert plan.vnuma_nodes == [
        VnumaNode(id=0, vcpus=8, vcpu_list="0-7", memory_bytes=8 * GiB, host_node=0,
                  page_bytes=2 * MiB, page_count=4096, host_cpus="0-15,32-47")]
    assert plan.vcpu_pins == [-1] * 8
    (gpu, nic) = plan.devices
    assert gpu == PlanDevice(type="accelerator", spec_path="accelerators[0]",
                             pci_address="0000:4b:00.0", mode="vgpu", model="l40s",
                             mdev_type="nvidia-1156", host_node=0, vnode=0, queues=0, mtu=0,
                             rdma_name="")
    assert (nic.model, nic.queues) == ("virtio-net", 8)  # 0 = one per vCPU
    assert plan.mmio.bar_total_bytes == 0
    assert plan.live_migratable is True and plan.migration_reasons == []


# ---- determinism, lifetimes, the spec copy ---------------------------------------------


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_deterministic(fname, fixture):
    a = plan_of(fname, fixture).to_json()
    b = plan_of(fname, fixture).to_json()
    fresh = Host.discover(root=str(FIXTURES / fixture))
    c = Plan.create(fresh, VmSpec.from_file(SPECS / fname)).to_json()
    d = Plan.create(Host.from_json(fresh.to_json()), VmSpec.from_file(SPECS / fname)).to_json()
    assert a == b == c == d


def test_plan_outlives_host_and_spec():
    h = Host.discover(root=str(FIXTURES / "dgx-a100-roce"))
    s = VmSpec.from_file(SPECS / "training-8gpu.json")
    plan = Plan.create(h, s)
    expected = plan.to_json()
    del h, s
    gc.collect()
    assert plan.to_json() == expected
    assert plan.spec.name == "train-8gpu"


def test_facts_are_copied_out_when_first_read():
    # planning costs the C call: the facts are copied out of the C plan a
    # group at a time, when one of them is first read, and then kept
    plan = plan_of("training-8gpu.json", "dgx-a100-roce")
    assert set(vars(plan)) == {"_h"}
    assert plan.ok
    assert "_ok" in vars(plan) and "_vnodes" not in vars(plan)
    nodes = plan.vnuma_nodes
    assert plan.vnuma_nodes == nodes and plan.vnuma_nodes is not nodes
    assert plan._vnodes is vars(plan)["_vnodes"]
    with pytest.raises(AttributeError, match="no_such_thing"):
        plan.no_such_thing  # pylint: disable=pointless-statement
    assert not hasattr(plan, "_no_such_fact")
    # all of them agree with the JSON whatever order they are read in
    again = plan_of("training-8gpu.json", "dgx-a100-roce")
    assert again.migration_reasons == plan.migration_reasons
    assert json_subset(again.to_dict()) == facts_from_getters(again)


def test_spec_is_an_independent_copy():
    s = VmSpec.from_file(SPECS / "vgpu-workstation.json")
    plan = Plan.create(host("hugepages-2node"), s)
    before = plan.to_json()
    s.set_vcpus(2)  # changing the input does not change the plan
    copy = plan.spec
    copy.set_vcpus(4).set_name("changed")  # nor does changing the copy
    assert plan.to_json() == before
    assert plan.spec.vcpus == 8 and plan.spec.name == "vgpu-ws"


def test_spec_may_be_json_text_or_dict():
    text = (SPECS / "mpi-roce.json").read_text()
    a = Plan.create(host("dgx-a100-roce"), text)
    b = Plan.create(host("dgx-a100-roce"), json.loads(text))
    c = Plan.create(host("dgx-a100-roce"), VmSpec.from_json(text))
    assert a.to_json() == b.to_json() == c.to_json()


def test_python_built_spec_gives_the_same_plan():
    built = VmSpec(name="train-8gpu", vcpus=96, memory="1TiB", cpu_placement="dedicated")
    built.add_accelerator_model("a100-sxm4-80gb", count=8)
    built.add_nic(queues=16, rss=("tcp", "udp")).add_rdma(mode="sr-iov")
    assert Plan.create(host("dgx-a100-roce"), built).to_json() == \
        plan_of("training-8gpu.json", "dgx-a100-roce").to_json()


# ---- failing plans and errors -----------------------------------------------------------


def test_bios_with_65_vcpus_is_an_error():
    spec = VmSpec(name="big-bios", vcpus=65, memory="16GiB", firmware="bios")
    plan = Plan.create(host("dgx-a100-roce"), spec)
    assert not plan.ok
    (err,) = plan.errors
    assert (err.severity, err.code, err.path) == (
        "error", "plan.firmware.bios-too-many-vcpus", "firmware")
    assert "65" in err.message and "efi" in err.message
    assert plan.firmware == "bios"
    assert plan.to_dict()["ok"] is False
    assert facts_from_getters(plan) == json_subset(plan.to_dict())
    # "auto" chooses EFI instead
    auto = Plan.create(host("dgx-a100-roce"), spec.copy().set_firmware("auto"))
    assert auto.ok and auto.firmware == "efi"


@pytest.mark.parametrize("fixture", ["epyc-2cpu-vm", "h100-passthrough-vm", "vsphere-over-max"])
def test_examples_on_the_wrong_host(fixture):
    """Every example still plans (findings, not exceptions) on other hosts, the
    getters agree with the JSON, and the CLI prints the same plan."""
    for fname, _ in PAIRS:
        plan = plan_of(fname, fixture)
        assert plan.ok == (plan.errors == [])
        assert facts_from_getters(plan) == json_subset(plan.to_dict())
        status, doc = cli_plan(SPECS / fname, fixture)
        assert doc == plan.to_dict() and status == (0 if plan.ok else 2)


def test_fpga_on_a_host_without_it():
    plan = plan_of("fpga-inference.json", "dgx-a100-roce")
    assert not plan.ok
    assert "plan.device.not-found" in codes(plan.errors)
    err = [f for f in plan.errors if f.code == "plan.device.not-found"][0]
    assert err.path == "accelerators[0]" and "0000:65:00.0" in err.message


def test_over_the_profile_maximum():
    spec = VmSpec(vcpus=200, memory="64GiB")
    plan = Plan.create(host("vsphere-max"), spec)
    assert "plan.max.vcpus" in codes(plan.errors)
    assert Plan.create(host("vsphere-max"), spec, profile="kvm-q35").profile == "kvm-q35"


def test_unknown_profile_is_not_found():
    with pytest.raises(hpcvirt.NotFound):
        Plan.create(host("dgx-a100-roce"), VmSpec(), profile="hyperv")


def test_wrong_argument_types():
    with pytest.raises(TypeError):
        Plan.create("dgx-a100-roce", VmSpec())
    with pytest.raises(TypeError):
        Plan.create(host("dgx-a100-roce"), 42)
    with pytest.raises(ValueError):
        Plan(hpcvirt.ffi.NULL)


def test_dataclasses_are_frozen():
    plan = plan_of("training-8gpu.json", "dgx-a100-roce")
    with pytest.raises(AttributeError):
        plan.vnuma_nodes[0].host_node = 1
    with pytest.raises(AttributeError):
        plan.mmio.feasible = False
    with pytest.raises(AttributeError):
        plan.devices[0].pci_address = ""
    plan.vnuma_nodes.clear()  # a copy: the plan keeps its own
    assert len(plan.vnuma_nodes) == 2
    assert "train-8gpu" in repr(plan)


# ---- profiles -----------------------------------------------------------------------------


def test_profiles():
    names = hpcvirt.profiles()
    assert names[0] == "vsphere-6.7"
    assert set(names) == {"vsphere-6.7", "kvm-q35", "vsphere-6.0"}
    assert hpcvirt.profile_limit("vsphere-6.7", "vm_max_vcpus") == 128
    assert hpcvirt.profile_limit("vsphere-6.7", "bios_max_vcpus") == 64
    assert hpcvirt.profile_limit("vsphere-6.7", "default_guest_phys_bits") == 40
    for name in names:
        assert hpcvirt.profile.profile_description(name)
        for key in hpcvirt.profile.PROFILE_LIMIT_KEYS:
            assert hpcvirt.profile_limit(name, key) >= 0
    assert hpcvirt.profile.profile_description("hyperv") is None
    with pytest.raises(hpcvirt.NotFound):
        hpcvirt.profile_limit("hyperv", "vm_max_vcpus")
    with pytest.raises(hpcvirt.NotFound):
        hpcvirt.profile_limit("vsphere-6.7", "vm_max_gpus")


# ---- C bugs found by these tests ----------------------------------------------------------


def test_small_vm_with_1g_pages_on_a_host_without_them():
    spec = VmSpec(name="small", vcpus=8, memory="4GiB", page_size="1g")
    plan = Plan.create(host("vsphere-max"), spec)
    assert not plan.ok
    assert len(plan.vnuma_nodes) == 1
    assert "plan.pages.short" in codes(plan.errors)
    assert "plan.pages.indivisible" not in codes(plan.errors)


def test_shared_host_node_warning_counts_right():
    plan = plan_of("genomics-128vcpu-6tb.json", "epyc-2cpu-vm")
    assert len(plan.vnuma_nodes) == 64
    assert {n.host_node for n in plan.vnuma_nodes} == {0}
    (w,) = [f for f in plan.warnings if f.code == "plan.vnuma.shared-host-node"]
    assert "two vNUMA nodes" not in w.message
