"""Python bindings: VM specs (hpcvirt.VmSpec) - the keyword constructor and
setters, canonical JSON round trips for every example spec, and the exact
SpecError path of every kind of bad input, from JSON and from Python."""
import copy
import json
import os
from pathlib import Path

import pytest

import hpcvirt
from hpcvirt import SpecError, VmSpec

SRC = Path(
    os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent.parent
)
SPECS = SRC / "examples" / "specs"
SPEC_FILES = sorted(p.name for p in SPECS.glob("*.json"))

MiB, GiB, TiB = 1 << 20, 1 << 30, 1 << 40
BASE = {"vcpus": 4, "memory": "4GiB"}

DEFAULTS = {
    "name": "vm", "vcpus": 1, "memory": GiB, "firmware": "auto", "cores_per_socket": 0,
    "threads_per_core": 0, "vnuma": "auto", "vnuma_policy": "balanced", "prefer_ht": False,
    "page_size": "auto", "cpu_placement": "shared", "accelerators": [], "nics": [], "rdma": [],
    "disks": [], "guest_phys_bits": "auto", "profile": "vsphere-6.7",
}


def spec_error(doc):
    """The SpecError that VmSpec.from_json(doc) raises."""
    with pytest.raises(SpecError) as info:
        VmSpec.from_json(doc)
    return info.value


def with_base(**overrides):
    doc = dict(BASE)
    doc.update(overrides)
    return doc


def every_setter_spec():
    """A spec that goes through every setter (and both accelerator kinds)."""
    s = VmSpec()
    s.set_name("all-setters.v1")
    s.set_vcpus(16)
    s.set_memory("64GiB")
    s.set_firmware("efi")
    s.set_topology(cores_per_socket=8, threads_per_core=2)
    s.set_vnuma_policy("vsphere")
    s.set_vnuma_auto()
    s.add_vnuma_node(8, 32 * GiB)
    s.add_vnuma_node(8, "32GiB")
    s.set_prefer_ht(True)
    s.set_page_size("2m")
    s.set_cpu_placement("dedicated")
    s.add_accelerator("0000:4b:00.0", mode="vgpu", mdev_type="nvidia-1156")
    s.add_accelerator("0000:65:00.0", mode="fpga")
    s.add_accelerator_model("a100-sxm4-80gb", count=2)
    s.add_nic("vmxnet3", queues=4, rss=("tcp", "udp", "esp"), tunnel_offloads=("vxlan", "geneve"))
    s.add_nic()
    s.add_rdma("infiniband", "passthrough", 2048)
    s.add_rdma(protocol="roce-v1", mode="sr-iov")
    s.add_rdma()
    s.add_disk("/img/root.qcow2", "qcow2", "scsi", serial="ROOT-1")
    s.add_disk("/img/scratch.img", size="1GiB")
    s.set_guest_phys_bits(46)
    s.set_profile("kvm-q35")
    return s


EVERY_SETTER_DICT = {
    "name": "all-setters.v1", "vcpus": 16, "memory": 64 * GiB, "firmware": "efi",
    "cores_per_socket": 8, "threads_per_core": 2,
    "vnuma": [{"vcpus": 8, "memory": 32 * GiB}, {"vcpus": 8, "memory": 32 * GiB}],
    "vnuma_policy": "vsphere", "prefer_ht": True, "page_size": "2m",
    "cpu_placement": "dedicated",
    "accelerators": [
        {"pci_address": "0000:4b:00.0", "mode": "vgpu", "mdev_type": "nvidia-1156"},
        {"pci_address": "0000:65:00.0", "mode": "fpga"},
        {"model": "a100-sxm4-80gb", "count": 2, "mode": "passthrough"},
    ],
    "nics": [
        {"model": "vmxnet3", "queues": 4, "rss": ["tcp", "udp", "esp"],
         "tunnel_offloads": ["vxlan", "geneve"]},
        {"model": "virtio-net", "queues": 0, "rss": [], "tunnel_offloads": []},
    ],
    "rdma": [
        {"protocol": "infiniband", "mode": "passthrough", "mtu": 2048},
        {"protocol": "roce-v1", "mode": "sr-iov", "mtu": 0},
        {"protocol": "roce-v2", "mode": "pvrdma", "mtu": 0},
    ],
    "disks": [
        {"path": "/img/root.qcow2", "format": "qcow2", "bus": "scsi", "read_only": False,
         "serial": "ROOT-1", "size": 0},
        {"path": "/img/scratch.img", "format": "raw", "bus": "virtio", "read_only": False,
         "serial": "", "size": GiB},
    ],
    "guest_phys_bits": 46, "profile": "kvm-q35",
}


# ---- construction and canonical JSON -------------------------------------------------


def test_example_specs_are_here():
    assert SPEC_FILES == ["fpga-inference.json", "genomics-128vcpu-6tb.json",
                          "linux-micro-vm.json", "mpi-roce.json", "training-8gpu.json",
                          "vgpu-workstation.json"]


def test_defaults():
    s = VmSpec()
    assert s.to_dict() == DEFAULTS
    assert (s.name, s.vcpus, s.memory_bytes, s.profile) == ("vm", 1, GiB, "vsphere-6.7")


@pytest.mark.parametrize("fname", SPEC_FILES)
def test_example_round_trip(fname):
    text = (SPECS / fname).read_text()
    spec = VmSpec.from_json(text)
    canonical = spec.to_json()
    assert VmSpec.from_json(canonical).to_json() == canonical
    assert VmSpec.from_json(spec.to_dict()).to_json() == canonical
    assert VmSpec.from_json(spec.to_json(pretty=True)).to_json() == canonical
    assert VmSpec.from_json(text.encode()).to_json() == canonical
    assert VmSpec.from_file(SPECS / fname) == spec
    # canonical form: every key, in the writer's fixed order (a boot source after the disks,
    # only when there is one)
    keys = list(DEFAULTS)
    if "boot" in json.loads(text):
        keys.insert(keys.index("disks") + 1, "boot")
    assert list(spec.to_dict()) == keys
    # what the file says survives (sizes become bytes)
    for key, value in json.loads(text).items():
        if key == "memory":
            assert spec.memory_bytes == hpcvirt.parse_size(value)
        elif key not in ("accelerators", "nics", "rdma", "disks", "vnuma"):
            assert spec.to_dict()[key] == value, key


def test_pretty_json_is_the_same_document():
    s = every_setter_spec()
    pretty = s.to_json(pretty=True)
    assert "\n" in pretty and "\n" not in s.to_json()
    assert json.loads(pretty) == s.to_dict()


def test_every_setter_round_trip():
    s = every_setter_spec()
    assert s.to_dict() == EVERY_SETTER_DICT
    canonical = s.to_json()
    assert VmSpec.from_json(canonical).to_json() == canonical
    assert VmSpec.from_json(EVERY_SETTER_DICT).to_json() == canonical
    assert s.copy().to_json() == canonical


def test_keyword_constructor_equals_setters():
    s = VmSpec(
        name="all-setters.v1", vcpus=16, memory="64GiB", firmware="efi", cores_per_socket=8,
        threads_per_core=2, vnuma=[(8, 32 * GiB), {"vcpus": 8, "memory": "32GiB"}],
        vnuma_policy="vsphere", prefer_ht=True, page_size="2m", cpu_placement="dedicated",
        accelerators=[
            {"pci_address": "0000:4b:00.0", "mode": "vgpu", "mdev_type": "nvidia-1156"},
            {"pci_address": "0000:65:00.0", "mode": "fpga"},
            {"model": "a100-sxm4-80gb", "count": 2},
        ],
        nics=[{"model": "vmxnet3", "queues": 4, "rss": ["tcp", "udp", "esp"],
               "tunnel_offloads": ["vxlan", "geneve"]}, {}],
        rdma=[{"protocol": "infiniband", "mode": "passthrough", "mtu": 2048},
              {"protocol": "roce-v1", "mode": "sr-iov"}, {}],
        disks=[{"path": "/img/root.qcow2", "format": "qcow2", "bus": "scsi", "serial": "ROOT-1"},
               {"path": "/img/scratch.img", "size": "1GiB"}],
        guest_phys_bits=46, profile="kvm-q35")
    assert s == every_setter_spec()
    assert s.to_json() == every_setter_spec().to_json()


PY_BUILT = {
    "training-8gpu.json": lambda: VmSpec(
        name="train-8gpu", vcpus=96, memory="1TiB", firmware="auto", cpu_placement="dedicated",
        accelerators=[{"model": "a100-sxm4-80gb", "count": 8, "mode": "passthrough"}],
        nics=[{"model": "virtio-net", "queues": 16, "rss": ["tcp", "udp"]}],
        rdma=[{"protocol": "roce-v2", "mode": "sr-iov"}], guest_phys_bits="auto"),
    "genomics-128vcpu-6tb.json": lambda: (
        VmSpec("genomics-6tb", 128, 6128 * GiB)
        .set_firmware("auto").set_vnuma_auto().set_vnuma_policy("vsphere")
        .set_page_size("auto").set_cpu_placement("shared")
        .add_nic("vmxnet3", queues=8, rss=["tcp", "udp"]).set_profile("vsphere-6.7")),
    "fpga-inference.json": lambda: (
        VmSpec("fpga-inference", 16, "32GiB", firmware="efi", page_size="1g",
               cpu_placement="dedicated")
        .add_accelerator("0000:65:00.0", mode="fpga").add_nic("virtio-net", 4)),
    "mpi-roce.json": lambda: (
        VmSpec(name="mpi-node", vcpus=32, memory=128 * GiB, threads_per_core=2,
               cpu_placement="dedicated", prefer_ht=True)
        .add_nic(queues=8, rss=("tcp", "udp")).add_rdma("roce-v2", "pvrdma", 4096)),
    "vgpu-workstation.json": lambda: (
        VmSpec(name="vgpu-ws", vcpus=8, memory="8GiB", page_size="2m")
        .add_accelerator("0000:4b:00.0", "vgpu", "nvidia-1156").add_nic()),
    "linux-micro-vm.json": lambda: (
        VmSpec(name="linux-micro", vcpus=2, memory="2GiB", vnuma=[(1, "1GiB"), (1, "1GiB")],
               page_size="2m")
        .set_boot("/var/lib/hpcvirt/vmlinuz", initrd="/var/lib/hpcvirt/initrd.img",
                  cmdline="console=ttyS0 root=/dev/vda ro quiet")
        .add_disk("/var/lib/hpcvirt/rootfs.img", read_only=True)
        .add_disk("/var/lib/hpcvirt/scratch.img", size="1GiB")),
}


@pytest.mark.parametrize("fname", SPEC_FILES)
def test_python_built_equals_json_loaded(fname):
    built = PY_BUILT[fname]()
    loaded = VmSpec.from_file(SPECS / fname)
    assert built.to_json() == loaded.to_json()
    assert built == loaded


def test_properties():
    s = VmSpec(name="p", vcpus=12, memory="1.5TiB", profile="vsphere-6.0")
    assert (s.name, s.vcpus, s.memory_bytes, s.profile) == ("p", 12, 3 * TiB // 2, "vsphere-6.0")
    s.set_name("q").set_vcpus(3).set_memory(2 * GiB).set_profile("kvm-q35")
    assert (s.name, s.vcpus, s.memory_bytes, s.profile) == ("q", 3, 2 * GiB, "kvm-q35")
    assert "q" in repr(s)


def test_copy_is_independent():
    s = every_setter_spec()
    before = s.to_json()
    c = s.copy()
    c.set_vcpus(2).set_vnuma_auto().add_nic().set_name("other")
    assert s.to_json() == before
    assert c != s
    assert copy.copy(s) == s and copy.deepcopy(s) == s
    assert copy.deepcopy(s) is not s


def test_equality_and_hash():
    assert VmSpec() == VmSpec()
    assert VmSpec(vcpus=2) != VmSpec()
    assert VmSpec() != "vm"
    with pytest.raises(TypeError):
        hash(VmSpec())


def test_memory_forms():
    for value, expect in [(GiB, GiB), ("1GiB", GiB), ("1.5TiB", 3 * TiB // 2), ("64M", 64 * MiB),
                          ("2 GiB", 2 * GiB), (b"3GiB", 3 * GiB), ("4096MiB", 4 * GiB)]:
        assert VmSpec(memory=value).memory_bytes == expect, value


def test_vnuma_auto_drops_nodes():
    s = VmSpec(vcpus=4, memory="4GiB", vnuma=[(2, "2GiB"), (2, "2GiB")])
    assert len(s.to_dict()["vnuma"]) == 2
    s.set_vnuma("auto")
    assert s.to_dict()["vnuma"] == "auto"
    s.set_vnuma([(4, "4GiB")])
    assert s.to_dict()["vnuma"] == [{"vcpus": 4, "memory": 4 * GiB}]
    s.set_vnuma([(1, "1GiB")])  # replaces, does not append
    assert s.to_dict()["vnuma"] == [{"vcpus": 1, "memory": GiB}]


def test_guest_phys_bits_forms():
    assert VmSpec(guest_phys_bits="auto").to_dict()["guest_phys_bits"] == "auto"
    assert VmSpec(guest_phys_bits="host").to_dict()["guest_phys_bits"] == "host"
    assert VmSpec(guest_phys_bits=hpcvirt.GUEST_PHYS_BITS_HOST).to_dict()["guest_phys_bits"] \
        == "host"
    assert VmSpec(guest_phys_bits=hpcvirt.GUEST_PHYS_BITS_AUTO).to_dict()["guest_phys_bits"] \
        == "auto"
    for bits in (32, 52, 64):
        assert VmSpec(guest_phys_bits=bits).to_dict()["guest_phys_bits"] == bits


def test_enum_tables_match_the_c_values():
    from hpcvirt import spec as spec_mod
    assert spec_mod.FIRMWARE == {"auto": 0, "bios": 1, "efi": 2}
    assert spec_mod.PAGE_SIZE == {"auto": 0, "4k": 1, "2m": 2, "1g": 3}
    assert spec_mod.NIC_RSS == {"tcp": 1, "udp": 2, "esp": 4}
    assert spec_mod.NIC_TUNNEL == {"vxlan": 1, "geneve": 2}
    assert spec_mod.RDMA_MODE == {"pvrdma": 0, "sr-iov": 1, "passthrough": 2}
    assert hpcvirt.PLAN_OPTIONS_VERSION == 1
    # each name goes through the C setter and comes back unchanged in JSON
    for name in spec_mod.FIRMWARE:
        assert VmSpec(firmware=name).to_dict()["firmware"] == name
    for name in spec_mod.VNUMA_POLICY:
        assert VmSpec(vnuma_policy=name).to_dict()["vnuma_policy"] == name
    for name in spec_mod.PAGE_SIZE:
        assert VmSpec(page_size=name).to_dict()["page_size"] == name
    for name in spec_mod.CPU_PLACEMENT:
        assert VmSpec(cpu_placement=name).to_dict()["cpu_placement"] == name
    for name in spec_mod.ACCEL_MODE:
        extra = {"mdev_type": "nvidia-1"} if name == "vgpu" else {}
        acc = VmSpec().add_accelerator("0000:01:00.0", name, **extra).to_dict()["accelerators"]
        assert acc[0]["mode"] == name
    for proto in spec_mod.RDMA_PROTOCOL:
        for mode in spec_mod.RDMA_MODE:
            r = VmSpec().add_rdma(proto, mode).to_dict()["rdma"][0]
            assert (r["protocol"], r["mode"]) == (proto, mode)


# ---- bad JSON: exact SpecError paths -------------------------------------------------

BAD_JSON = [
    # (id, document, path)
    ("unknown-top", with_base(bogus=1), "bogus"),
    ("unknown-accelerator", with_base(accelerators=[{"model": "l40s", "bogus": 1}]),
     "accelerators[0].bogus"),
    ("unknown-accelerator-2nd", with_base(accelerators=[{"model": "l40s"},
                                                        {"model": "l40s", "bogus": 1}]),
     "accelerators[1].bogus"),
    ("unknown-nic", with_base(nics=[{"bogus": 1}]), "nics[0].bogus"),
    ("unknown-rdma", with_base(rdma=[{"bogus": 1}]), "rdma[0].bogus"),
    ("unknown-vnuma", with_base(vnuma=[{"vcpus": 4, "memory": "4GiB", "x": 1}]), "vnuma[0].x"),
    ("not-an-object", [1], ""),
    ("missing-vcpus", {"memory": "4GiB"}, "vcpus"),
    ("missing-memory", {"vcpus": 4}, "memory"),
    # wrong types
    ("name-int", with_base(name=5), "name"),
    ("vcpus-string", with_base(vcpus="4"), "vcpus"),
    ("vcpus-float", with_base(vcpus=4.0), "vcpus"),
    ("memory-bool", with_base(memory=True), "memory"),
    ("memory-float", with_base(memory=1.5), "memory"),
    ("prefer-ht-string", with_base(prefer_ht="yes"), "prefer_ht"),
    ("firmware-int", with_base(firmware=1), "firmware"),
    ("accelerators-object", with_base(accelerators={}), "accelerators"),
    ("accelerator-int", with_base(accelerators=[1]), "accelerators[0]"),
    ("nic-int", with_base(nics=[1]), "nics[0]"),
    ("rdma-string", with_base(rdma=["roce"]), "rdma[0]"),
    ("rss-string", with_base(nics=[{"rss": "tcp"}]), "nics[0].rss"),
    ("rss-item-int", with_base(nics=[{"rss": [1]}]), "nics[0].rss[0]"),
    ("vnuma-int", with_base(vnuma=3), "vnuma"),
    ("vnuma-item-int", with_base(vnuma=[3]), "vnuma[0]"),
    ("count-string", with_base(accelerators=[{"model": "l40s", "count": "2"}]),
     "accelerators[0].count"),
    ("pci-address-int", with_base(accelerators=[{"pci_address": 1}]),
     "accelerators[0].pci_address"),
    ("profile-int", with_base(profile=1), "profile"),
    # negative numbers
    ("vcpus-negative", with_base(vcpus=-1), "vcpus"),
    ("memory-negative", with_base(memory=-1), "memory"),
    ("threads-negative", with_base(threads_per_core=-1), "threads_per_core"),
    ("queues-negative", with_base(nics=[{"queues": -3}]), "nics[0].queues"),
    ("mtu-negative", with_base(rdma=[{"mtu": -1}]), "rdma[0].mtu"),
    ("count-negative", with_base(accelerators=[{"model": "l40s", "count": -1}]),
     "accelerators[0].count"),
    ("vnuma-vcpus-negative", with_base(vnuma=[{"vcpus": -4, "memory": "4GiB"}]),
     "vnuma[0].vcpus"),
    ("guest-phys-bits-negative", with_base(guest_phys_bits=-1), "guest_phys_bits"),
    # overflow and out of range
    ("vcpus-overflow", '{"vcpus": 99999999999999999999999, "memory": "4GiB"}', "vcpus"),
    ("memory-overflow", '{"vcpus": 4, "memory": 99999999999999999999999}', "memory"),
    ("mtu-overflow", '{"vcpus": 4, "memory": "4GiB", "rdma": [{"mtu": 99999999999999999999999}]}',
     "rdma[0].mtu"),
    ("queues-overflow",
     '{"vcpus": 4, "memory": "4GiB", "nics": [{"queues": 99999999999999999999999}]}',
     "nics[0].queues"),
    ("guest-phys-bits-overflow",
     '{"vcpus": 4, "memory": "4GiB", "guest_phys_bits": 99999999999999999999999}',
     "guest_phys_bits"),
    ("vcpus-zero", with_base(vcpus=0), "vcpus"),
    ("vcpus-too-many", with_base(vcpus=5000), "vcpus"),
    ("cores-too-many", with_base(cores_per_socket=5000), "cores_per_socket"),
    ("threads-too-many", with_base(threads_per_core=9), "threads_per_core"),
    ("queues-too-many", with_base(nics=[{"queues": 257}]), "nics[0].queues"),
    ("count-zero", with_base(accelerators=[{"model": "l40s", "count": 0}]),
     "accelerators[0].count"),
    ("count-too-many", with_base(accelerators=[{"model": "l40s", "count": 65}]),
     "accelerators[0].count"),
    ("mtu-not-rdma", with_base(rdma=[{"mtu": 1500}]), "rdma[0].mtu"),
    ("guest-phys-bits-70", with_base(guest_phys_bits=70), "guest_phys_bits"),
    ("guest-phys-bits-31", with_base(guest_phys_bits=31), "guest_phys_bits"),
    # memory strings and values
    ("memory-fraction-of-byte", with_base(memory="1.3"), "memory"),
    ("memory-not-a-size", with_base(memory="lots"), "memory"),
    ("memory-not-mib", with_base(memory="1.5MiB"), "memory"),
    ("memory-zero", with_base(memory=0), "memory"),
    ("memory-over-4pib", with_base(memory="5PiB"), "memory"),
    ("vnuma-memory-fraction", with_base(vnuma=[{"vcpus": 4, "memory": "1.3"}]),
     "vnuma[0].memory"),
    # enum strings
    ("firmware-bad", with_base(firmware="uefi"), "firmware"),
    ("vnuma-policy-bad", with_base(vnuma_policy="numa"), "vnuma_policy"),
    ("page-size-uppercase", with_base(page_size="4K"), "page_size"),
    ("cpu-placement-bad", with_base(cpu_placement="pinned"), "cpu_placement"),
    ("accelerator-mode-bad", with_base(accelerators=[{"model": "l40s", "mode": "sriov"}]),
     "accelerators[0].mode"),
    ("rdma-protocol-bad", with_base(rdma=[{"protocol": "iwarp"}]), "rdma[0].protocol"),
    ("rdma-mode-bad", with_base(rdma=[{"mode": "sriov"}]), "rdma[0].mode"),
    ("rss-bad", with_base(nics=[{"rss": ["tcp", "sctp"]}]), "nics[0].rss[1]"),
    ("rss-repeated", with_base(nics=[{"rss": ["tcp", "tcp"]}]), "nics[0].rss[1]"),
    ("tunnel-bad", with_base(nics=[{"tunnel_offloads": ["gre"]}]),
     "nics[0].tunnel_offloads[0]"),
    ("nic-model-bad", with_base(nics=[{"model": "e1000"}]), "nics[0].model"),
    ("guest-phys-bits-string", with_base(guest_phys_bits="max"), "guest_phys_bits"),
    ("profile-unknown", with_base(profile="hyperv"), "profile"),
    ("vnuma-string", with_base(vnuma="manual"), "vnuma"),
    # names
    ("name-space", with_base(name="my vm"), "name"),
    ("name-empty", with_base(name=""), "name"),
    ("name-too-long", with_base(name="a" * 65), "name"),
    # accelerators
    ("pci-address-uppercase", with_base(accelerators=[{"pci_address": "0000:4B:00.0"}]),
     "accelerators[0].pci_address"),
    ("pci-address-short", with_base(accelerators=[{"pci_address": "4b:00.0"}]),
     "accelerators[0].pci_address"),
    ("pci-address-and-model",
     with_base(accelerators=[{"pci_address": "0000:4b:00.0", "model": "l40s"}]),
     "accelerators[0]"),
    ("neither-pci-address-nor-model", with_base(accelerators=[{"mode": "passthrough"}]),
     "accelerators[0]"),
    ("count-with-pci-address",
     with_base(accelerators=[{"pci_address": "0000:4b:00.0", "count": 2}]),
     "accelerators[0].count"),
    ("vgpu-without-mdev-type",
     with_base(accelerators=[{"pci_address": "0000:4b:00.0", "mode": "vgpu"}]),
     "accelerators[0].mdev_type"),
    ("vgpu-without-mdev-type-2nd",
     with_base(accelerators=[{"model": "l40s"}, {"model": "l40s", "mode": "vgpu"}]),
     "accelerators[1].mdev_type"),
    ("mdev-type-without-vgpu",
     with_base(accelerators=[{"pci_address": "0000:4b:00.0", "mdev_type": "nvidia-1156"}]),
     "accelerators[0].mdev_type"),
    # vnuma lists
    ("vnuma-zero-vcpus", with_base(vnuma=[{"vcpus": 0, "memory": "4GiB"}]), "vnuma[0].vcpus"),
    ("vnuma-zero-vcpus-2nd",
     with_base(vnuma=[{"vcpus": 2, "memory": "2GiB"}, {"vcpus": 0, "memory": "2GiB"}]),
     "vnuma[1].vcpus"),
    ("vnuma-missing-vcpus", with_base(vnuma=[{"memory": "4GiB"}]), "vnuma[0].vcpus"),
    ("vnuma-missing-memory", with_base(vnuma=[{"vcpus": 4}]), "vnuma[0].memory"),
    ("vnuma-empty", with_base(vnuma=[]), "vnuma"),
]


@pytest.mark.parametrize("doc,path", [(d, p) for _, d, p in BAD_JSON],
                         ids=[i for i, _, _ in BAD_JSON])
def test_bad_json_spec_error_path(doc, path):
    err = spec_error(doc)
    assert err.path == path
    assert err.code == hpcvirt.lib.HV_E_SPEC and err.name == "HV_E_SPEC"
    assert err.message
    if path:
        assert path in str(err)


def test_bad_json_messages_say_what_to_do():
    assert "known keys are" in spec_error(with_base(bogus=1)).message
    assert "use one of auto|bios|efi" in spec_error(with_base(firmware="uefi")).message
    assert "lowercase" in spec_error(
        with_base(accelerators=[{"pci_address": "0000:4B:00.0"}])).message
    assert "exactly one of pci_address" in spec_error(
        with_base(accelerators=[{"pci_address": "0000:4b:00.0", "model": "l40s"}])).message
    assert "whole number of bytes" in spec_error(with_base(memory="1.3")).message
    assert "must be at least 1" in spec_error(
        with_base(vnuma=[{"vcpus": 0, "memory": "4GiB"}])).message
    assert "between 32 and 64" in spec_error(with_base(guest_phys_bits=70)).message
    assert "mdev" in spec_error(
        with_base(accelerators=[{"pci_address": "0000:4b:00.0", "mode": "vgpu"}])).message


def test_bad_json_range_messages_quote_the_real_values():
    assert "5000" in spec_error(with_base(vcpus=5000)).message
    assert "4096" in spec_error('{"vcpus": 99999999999999999999999, "memory": "4GiB"}').message
    assert "18446744073709551614" not in spec_error(
        '{"vcpus": 4, "memory": 99999999999999999999999}').message


def test_bad_json_text_is_a_parse_error():
    with pytest.raises(hpcvirt.ParseError) as info:
        VmSpec.from_json('{"vcpus": 2')
    assert info.value.path.startswith("line ")
    with pytest.raises(hpcvirt.ParseError):
        VmSpec.from_json("")


def test_failed_setter_leaves_spec_unchanged():
    s = every_setter_spec()
    before = s.to_json()
    for call in (lambda: s.set_vcpus(0), lambda: s.set_memory("1.3"),
                 lambda: s.set_name("bad name"), lambda: s.add_vnuma_node(0, GiB),
                 lambda: s.add_accelerator("0000:4B:00.0"), lambda: s.add_rdma(mtu=1500),
                 lambda: s.set_guest_phys_bits(70), lambda: s.set_profile("nope"),
                 lambda: s.set_topology(5000, 0)):
        with pytest.raises(SpecError):
            call()
        assert s.to_json() == before


# ---- bad Python input ---------------------------------------------------------------

SETTER_ERRORS = [
    # (id, call on a fresh VmSpec, path)
    ("vcpus-zero", lambda s: s.set_vcpus(0), "vcpus"),
    ("vcpus-too-many", lambda s: s.set_vcpus(5000), "vcpus"),
    ("vcpus-negative", lambda s: s.set_vcpus(-1), "vcpus"),
    ("vcpus-overflow", lambda s: s.set_vcpus(1 << 40), "vcpus"),
    ("memory-fraction", lambda s: s.set_memory("1.3"), "memory"),
    ("memory-not-a-size", lambda s: s.set_memory("lots"), "memory"),
    ("memory-not-mib", lambda s: s.set_memory(MiB + 1), "memory"),
    ("memory-negative", lambda s: s.set_memory(-GiB), "memory"),
    ("memory-overflow", lambda s: s.set_memory(1 << 70), "memory"),
    ("memory-over-4pib", lambda s: s.set_memory("5PiB"), "memory"),
    ("name-bad", lambda s: s.set_name("a/b"), "name"),
    ("cores-too-many", lambda s: s.set_topology(5000, 0), "cores_per_socket"),
    ("threads-too-many", lambda s: s.set_topology(0, 9), "threads_per_core"),
    ("threads-negative", lambda s: s.set_topology(0, -1), "threads_per_core"),
    ("vnuma-zero-vcpus", lambda s: s.add_vnuma_node(0, GiB), "vnuma[0].vcpus"),
    ("vnuma-zero-vcpus-2nd", lambda s: s.add_vnuma_node(1, GiB).add_vnuma_node(0, GiB),
     "vnuma[1].vcpus"),
    ("vnuma-negative-vcpus", lambda s: s.add_vnuma_node(-1, GiB), "vnuma[0].vcpus"),
    ("vnuma-memory-fraction", lambda s: s.add_vnuma_node(1, "1.3"), "vnuma[0].memory"),
    ("vnuma-memory-negative", lambda s: s.add_vnuma_node(1, GiB).add_vnuma_node(1, -1),
     "vnuma[1].memory"),
    ("vnuma-memory-small", lambda s: s.add_vnuma_node(1, 4096), "vnuma[0].memory"),
    ("pci-address-uppercase", lambda s: s.add_accelerator("0000:4B:00.0"),
     "accelerators[0].pci_address"),
    ("pci-address-bad", lambda s: s.add_accelerator("gpu0"), "accelerators[0].pci_address"),
    ("vgpu-without-mdev", lambda s: s.add_accelerator("0000:4b:00.0", "vgpu"),
     "accelerators[0].mdev_type"),
    ("mdev-without-vgpu", lambda s: s.add_accelerator("0000:4b:00.0", mdev_type="nvidia-1156"),
     "accelerators[0].mdev_type"),
    ("model-count-zero", lambda s: s.add_accelerator_model("l40s", 0), "accelerators[0].count"),
    ("model-count-negative",
     lambda s: s.add_accelerator("0000:4b:00.0").add_accelerator_model("l40s", -2),
     "accelerators[1].count"),
    ("model-empty", lambda s: s.add_accelerator_model("", 1), "accelerators[0].model"),
    ("model-vgpu-without-mdev", lambda s: s.add_accelerator_model("l40s", 1, "vgpu"),
     "accelerators[0].mdev_type"),
    ("nic-model-bad", lambda s: s.add_nic("e1000"), "nics[0].model"),
    ("nic-queues-too-many", lambda s: s.add_nic(queues=257), "nics[0].queues"),
    ("nic-queues-negative", lambda s: s.add_nic().add_nic(queues=-1), "nics[1].queues"),
    ("rdma-mtu-bad", lambda s: s.add_rdma(mtu=1500), "rdma[0].mtu"),
    ("rdma-mtu-negative", lambda s: s.add_rdma().add_rdma(mtu=-1), "rdma[1].mtu"),
    ("guest-phys-bits-70", lambda s: s.set_guest_phys_bits(70), "guest_phys_bits"),
    ("guest-phys-bits-31", lambda s: s.set_guest_phys_bits(31), "guest_phys_bits"),
    ("guest-phys-bits-huge", lambda s: s.set_guest_phys_bits(1 << 40), "guest_phys_bits"),
    ("profile-unknown", lambda s: s.set_profile("hyperv"), "profile"),
    ("constructor-vcpus", lambda s: VmSpec(vcpus=0), "vcpus"),
    ("constructor-memory", lambda s: VmSpec(memory="1.3"), "memory"),
    ("constructor-accelerator",
     lambda s: VmSpec(accelerators=[{"model": "l40s"}, {"pci_address": "0000:4B:00.0"}]),
     "accelerators[1].pci_address"),
]


@pytest.mark.parametrize("call,path", [(c, p) for _, c, p in SETTER_ERRORS],
                         ids=[i for i, _, _ in SETTER_ERRORS])
def test_setter_spec_error_path(call, path):
    with pytest.raises(SpecError) as info:
        call(VmSpec())
    assert info.value.path == path
    assert info.value.code == hpcvirt.lib.HV_E_SPEC


def test_setter_paths_match_json_paths():
    """The same mistake made through a setter and in JSON names the same field."""
    pairs = [
        (lambda s: s.add_accelerator_model("l40s").add_accelerator("0000:4b:00.0", "vgpu"),
         with_base(accelerators=[{"model": "l40s"},
                                 {"pci_address": "0000:4b:00.0", "mode": "vgpu"}])),
        (lambda s: s.add_vnuma_node(2, "2GiB").add_vnuma_node(0, "2GiB"),
         with_base(vnuma=[{"vcpus": 2, "memory": "2GiB"}, {"vcpus": 0, "memory": "2GiB"}])),
        (lambda s: s.add_rdma().add_rdma(mtu=100), with_base(rdma=[{}, {"mtu": 100}])),
        (lambda s: s.set_memory("1.3"), with_base(memory="1.3")),
        (lambda s: s.set_guest_phys_bits(70), with_base(guest_phys_bits=70)),
    ]
    for call, doc in pairs:
        with pytest.raises(SpecError) as info:
            call(VmSpec(vcpus=4, memory="4GiB"))
        assert info.value.path == spec_error(doc).path


@pytest.mark.parametrize("call", [
    lambda s: s.set_firmware("uefi"),
    lambda s: s.set_firmware(2),
    lambda s: s.set_vnuma_policy("numa"),
    lambda s: s.set_page_size("4K"),
    lambda s: s.set_cpu_placement("pinned"),
    lambda s: s.add_accelerator("0000:4b:00.0", mode="sriov"),
    lambda s: s.add_accelerator_model("l40s", mode="gpu"),
    lambda s: s.add_nic(rss=["sctp"]),
    lambda s: s.add_nic(tunnel_offloads=["gre"]),
    lambda s: s.add_rdma(protocol="iwarp"),
    lambda s: s.add_rdma(mode="sriov"),
    lambda s: s.set_guest_phys_bits("max"),
    lambda s: s.set_vnuma("manual"),
    lambda s: VmSpec(page_size="huge"),
], ids=["firmware", "firmware-int", "vnuma-policy", "page-size", "cpu-placement",
        "accelerator-mode", "accelerator-model-mode", "rss", "tunnel", "rdma-protocol",
        "rdma-mode", "guest-phys-bits", "vnuma", "constructor"])
def test_unknown_enum_string_is_value_error(call):
    s = VmSpec()
    before = s.to_json()
    with pytest.raises(ValueError) as info:
        call(s)
    assert not isinstance(info.value, SpecError)
    assert s.to_json() == before


def test_wrong_python_types_are_type_errors():
    s = VmSpec()
    with pytest.raises(TypeError):
        s.set_vcpus("4")
    with pytest.raises(TypeError):
        s.set_vcpus(4.0)
    with pytest.raises(TypeError):
        s.set_memory(1.5)
    with pytest.raises(TypeError):
        s.set_name(5)
    with pytest.raises(TypeError):
        s.set_guest_phys_bits(40.0)
    with pytest.raises(TypeError):
        s.add_nic(queues="4")
    with pytest.raises(TypeError):
        VmSpec.from_json({"vcpus": object()})


def test_rss_and_tunnel_flags():
    s = VmSpec().add_nic(rss="esp").add_nic(rss=["udp", "tcp"], tunnel_offloads=["geneve"])
    nics = s.to_dict()["nics"]
    assert nics[0]["rss"] == ["esp"]
    # the C flag order, whatever order they were given in
    assert nics[1]["rss"] == ["tcp", "udp"] and nics[1]["tunnel_offloads"] == ["geneve"]


def test_exports():
    for name in ("VmSpec", "Plan", "VnumaNode", "Mmio", "PlanDevice", "profiles",
                 "profile_limit", "GUEST_PHYS_BITS_AUTO", "GUEST_PHYS_BITS_HOST",
                 "PLAN_OPTIONS_VERSION", "Host", "Finding"):
        assert name in hpcvirt.__all__, name
        assert hasattr(hpcvirt, name), name
    assert len(hpcvirt.__all__) == len(set(hpcvirt.__all__))


def test_disks():
    s = VmSpec(vcpus=2, memory="1GiB",
               disks=[{"path": "/img/root.qcow2", "format": "qcow2", "bus": "scsi",
                       "serial": "ROOT-1"},
                      {"path": "/img/scratch.img", "size": "20GiB"}])
    s.add_disk("/iso/tools.img", bus="sata", read_only=True)
    disks = s.to_dict()["disks"]
    assert disks[0] == {"path": "/img/root.qcow2", "format": "qcow2", "bus": "scsi",
                        "read_only": False, "serial": "ROOT-1", "size": 0}
    assert disks[1]["size"] == 20 * GiB and disks[1]["format"] == "raw"
    assert disks[2]["read_only"] is True and disks[2]["bus"] == "sata"
    assert VmSpec.from_json(s.to_json()) == s


@pytest.mark.parametrize("disk, path", [
    ({}, "disks[0].path"),
    ({"path": "relative.img"}, "disks[0].path"),
    ({"path": "/a.img", "format": "vmdk"}, "disks[0].format"),
    ({"path": "/a.img", "bus": "ide"}, "disks[0].bus"),
    ({"path": "/a.img", "serial": "x" * 21}, "disks[0].serial"),
    ({"path": "/a.img", "serial": "\u00e9"}, "disks[0].serial"),
    ({"path": "/a.img", "size": 12345}, "disks[0].size"),
    ({"path": "/a.img", "size": "1GiB", "read_only": True}, "disks[0].size"),
    ({"path": "/a.img", "cache": "none"}, "disks[0].cache"),
])
def test_disk_errors(disk, path):
    assert spec_error(with_base(disks=[disk])).path == path


def test_disk_builder_errors():
    s = VmSpec()
    with pytest.raises(ValueError) as info:
        s.add_disk("/a.img", bus="ide")
    assert "bus" in str(info.value)
    with pytest.raises(SpecError) as info:
        s.add_disk("/a.img", serial="a\x1bb")
    assert info.value.path == "disks[0].serial"
    with pytest.raises(SpecError):
        s.add_disk("/a\0b")
    with pytest.raises(TypeError):
        s.add_disk("/a.img", read_only="yes")
    with pytest.raises(SpecError) as info:
        VmSpec.from_json(with_base(disks=[{"path": "/d.img", "read_only": True}] * 61))
    assert info.value.path == "disks[60]"


def test_boot():
    """Issue 15: the boot source, a Linux kernel booted directly."""
    s = VmSpec(vcpus=2, memory="1GiB")
    assert s.boot is None and s.boot_kernel is None
    assert "boot" not in s.to_dict()
    assert s.set_boot("/boot/vmlinuz", initrd="/boot/initrd.img",
                      cmdline="console=ttyS0 root=/dev/vda ro") is s
    assert (s.boot_kernel, s.boot_initrd, s.boot_cmdline) == (
        "/boot/vmlinuz", "/boot/initrd.img", "console=ttyS0 root=/dev/vda ro")
    assert s.boot == {"kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img",
                      "cmdline": "console=ttyS0 root=/dev/vda ro"}
    doc = s.to_dict()
    assert doc["boot"] == s.boot
    # after disks, before guest_phys_bits
    keys = list(doc)
    assert keys.index("boot") == keys.index("disks") + 1
    assert VmSpec.from_json(s.to_json()) == s
    assert s.copy().boot == s.boot
    # the keyword constructor takes what the getter gives, and the JSON's dict
    assert VmSpec(vcpus=2, memory="1GiB", boot=s.boot) == s
    assert VmSpec(vcpus=2, memory="1GiB", boot=doc["boot"]) == s
    # a kernel alone: None for the rest, "" in the JSON; a path object
    s.set_boot(Path("/boot/vmlinuz-6.1"))
    assert s.boot == {"kernel": "/boot/vmlinuz-6.1", "initrd": None, "cmdline": None}
    assert s.to_dict()["boot"] == {"kernel": "/boot/vmlinuz-6.1", "initrd": "", "cmdline": ""}
    s.set_boot(None)
    assert s.boot is None and "boot" not in s.to_dict()
    # from JSON
    s = VmSpec.from_json(with_base(boot={"kernel": "/k", "cmdline": "quiet"}))
    assert s.boot == {"kernel": "/k", "initrd": None, "cmdline": "quiet"}


@pytest.mark.parametrize("boot, path", [
    ("/boot/vmlinuz", "boot"),
    ({}, "boot.kernel"),
    ({"kernel": "vmlinuz"}, "boot.kernel"),
    ({"kernel": "/boot/"}, "boot.kernel"),
    ({"kernel": 7}, "boot.kernel"),
    ({"kernel": "/k", "initrd": "initrd.img"}, "boot.initrd"),
    ({"kernel": "/k", "cmdline": "x" * 4096}, "boot.cmdline"),
    ({"kernel": "/k", "cmdline": "a\tb"}, "boot.cmdline"),
    ({"kernel": "/k", "root": "/dev/vda"}, "boot.root"),
])
def test_boot_errors(boot, path):
    assert spec_error(with_base(boot=boot)).path == path


def test_boot_builder_errors():
    s = VmSpec().set_boot("/k", cmdline="quiet")
    with pytest.raises(SpecError) as info:
        s.set_boot("vmlinuz")
    assert info.value.path == "boot.kernel" and "absolute" in str(info.value)
    with pytest.raises(SpecError) as info:
        s.set_boot("/k", cmdline="x" * 4096)
    assert info.value.path == "boot.cmdline" and "at most 4095" in str(info.value)
    with pytest.raises(SpecError) as info:
        s.set_boot("/k", cmdline="quiet\0init=/bin/sh")
    assert info.value.path == "boot.cmdline"
    with pytest.raises(SpecError) as info:
        s.set_boot(None, initrd="/i")
    assert info.value.path == "boot.kernel"
    with pytest.raises(TypeError):
        s.set_boot(7)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        VmSpec(boot={"kernel": "/k", "append": "quiet"})
    # nothing changed
    assert s.boot == {"kernel": "/k", "initrd": None, "cmdline": "quiet"}
    s.set_boot("/k", cmdline="x" * 4095)
    assert len(s.boot_cmdline or "") == 4095
