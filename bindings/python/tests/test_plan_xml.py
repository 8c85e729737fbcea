"""Python bindings: Plan.to_libvirt_xml() - every example spec on the fixture
host its README names as a libvirt domain (or the documented refusal of
paravirtual RDMA), the options (domain type, network, console log), the
findings of what the XML leaves out, the same bytes as `hpcvirt plan --xml`, validation by libvirt's own tool where it is
installed, and the exceptions for bad plans and bad options. In a build
without libvirt the method raises Unsupported and the rest is skipped."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import hpcvirt
from hpcvirt import Host, Plan

SRC = Path(
    os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent.parent
)
FIXTURES = Path(os.environ.get("HV_TEST_FIXTURES") or SRC / "tests" / "fixtures") / "hosts"
SPECS = SRC / "examples" / "specs"
CLI = os.environ.get("HPCVIRT_CLI")
PLAN_NS = "{https://hpcvirt.org/xmlns/plan/1}"

PAIRS = re.findall(r"^\|\s*`([^`]+\.json)`\s*\|\s*`([^`]+)`\s*\|",
                   (SPECS / "README.md").read_text(), re.M)
_HOSTS = {}


def host(name):
    if name not in _HOSTS:
        _HOSTS[name] = Host.discover(root=str(FIXTURES / name))
    return _HOSTS[name]


def _built_without_libvirt():
    probe = Plan.create(host("hugepages-2node"), {"name": "probe", "vcpus": 1, "memory": "1GiB"})
    try:
        probe.to_libvirt_xml()
    except hpcvirt.Unsupported as exc:
        return "built without libvirt" in exc.message
    return False


WITHOUT_LIBVIRT = _built_without_libvirt()
needs_libvirt = pytest.mark.skipif(WITHOUT_LIBVIRT, reason="hpcvirt built without libvirt")


@pytest.mark.skipif(not WITHOUT_LIBVIRT, reason="hpcvirt built with libvirt")
def test_without_libvirt_says_how_to_get_it():
    plan = Plan.create(host("hugepages-2node"), {"name": "tiny", "vcpus": 1, "memory": "1GiB"})
    with pytest.raises(hpcvirt.Unsupported) as exc:
        plan.to_libvirt_xml(domain_type="qemu")
    assert "-Dlibvirt=enabled" in exc.value.message


def example(fname, fixture):
    return Plan.create(host(fixture), (SPECS / fname).read_text())


def has_pvrdma(plan):
    return any(d.type == "rdma" and d.mode == "pvrdma" for d in plan.devices)


@needs_libvirt
@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_examples(fname, fixture):
    plan = example(fname, fixture)
    assert plan.ok
    if has_pvrdma(plan):
        with pytest.raises(hpcvirt.Unsupported) as exc:
            plan.to_libvirt_xml()
        assert "pvrdma" in exc.value.message and exc.value.path.startswith("rdma[")
        return
    text = plan.to_libvirt_xml()
    root = ET.fromstring(text.encode())
    assert root.tag == "domain" and root.get("type") == "kvm"
    assert root.findtext("name") == plan.name
    # the metadata (version 2, docs/backends.md): the verdict, the spec, the plan's digest
    element = root.find(f"metadata/{PLAN_NS}plan")
    assert element.get("version") == "2"
    embedded = json.loads(element.text)
    assert embedded["profile"] == plan.profile
    assert embedded["digest"] == "sha256:" + hashlib.sha256(plan.to_json().encode()).hexdigest()
    assert embedded["migration"]["live"] == plan.live_migratable
    assert embedded["migration"]["reasons"] == plan.to_dict()["migration"]["reasons"][:1]
    assert hpcvirt.VmSpec.from_json(embedded["spec"]).to_json() == plan.spec.to_json()
    assert int(root.findtext("memory")) == plan.memory_bytes // 1024
    assert root.findtext("vcpu") == str(plan.vcpus)
    cells = root.findall("cpu/numa/cell")
    assert [(c.get("cpus"), int(c.get("memory")) * 1024) for c in cells] == [
        (n.vcpu_list, n.memory_bytes) for n in plan.vnuma_nodes]
    assert [m.get("nodeset") for m in root.findall("numatune/memnode")] == [
        str(n.host_node) for n in plan.vnuma_nodes]
    topo = root.find("cpu/topology")
    assert (int(topo.get("sockets")), int(topo.get("cores")), int(topo.get("threads"))) == (
        plan.sockets, plan.cores_per_socket, plan.threads_per_core)
    pins = {int(p.get("vcpu")): p.get("cpuset") for p in root.findall("cputune/vcpupin")}
    assert len(pins) == plan.vcpus
    if plan.cpu_placement == "dedicated":
        assert pins == {v: str(cpu) for v, cpu in enumerate(plan.vcpu_pins)}
    else:
        for node in plan.vnuma_nodes:
            first = int(node.vcpu_list.split("-")[0].split(",")[0])
            assert pins[first] == node.host_cpus
    assert (root.find("os").get("firmware") == "efi") == (plan.firmware == "efi")
    hole = root.findtext("devices/controller[@model='pcie-root']/pcihole64")
    assert (int(hole) * 1024 if hole else 0) == plan.mmio.window_bytes
    # deterministic
    assert plan.to_libvirt_xml() == text


@needs_libvirt
@pytest.mark.skipif(not CLI, reason="HPCVIRT_CLI not set")
@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_same_bytes_as_cli(fname, fixture):
    plan = example(fname, fixture)
    if has_pvrdma(plan):
        pytest.skip("pvrdma: no domain XML")
    for domain_type in ("kvm", "qemu"):
        r = subprocess.run([CLI, "plan", str(SPECS / fname), "--host-root", str(FIXTURES / fixture),
                            "--xml", "--domain-type", domain_type],
                           capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        assert r.stdout == plan.to_libvirt_xml(domain_type=domain_type)


@needs_libvirt
def test_training_devices_and_window():
    plan = example("training-8gpu.json", "dgx-a100-roce")
    root = ET.fromstring(plan.to_libvirt_xml().encode())
    hole = root.find("devices/controller[@model='pcie-root']/pcihole64")
    assert (hole.text, hole.get("unit")) == ("2147483648", "KiB")
    buses = [h.find("source/address").get("bus") for h in root.findall("devices/hostdev")]
    assert buses == ["0x07", "0x0f", "0x47", "0x4e", "0x87", "0x90", "0xb7", "0xbd"]
    gpus = [d.pci_address for d in plan.devices if d.type == "accelerator"]
    assert buses == ["0x" + a.split(":")[1] for a in gpus]
    vf = root.find("devices/interface[@type='hostdev']/source/address")
    assert vf.attrib == {"type": "pci", "domain": "0x0000", "bus": "0x61", "slot": "0x00",
                         "function": "0x2"}
    assert root.find("cpu/maxphysaddr").attrib == {"mode": "passthrough"}


@needs_libvirt
def test_options():
    plan = example("vgpu-workstation.json", "hugepages-2node")
    root = ET.fromstring(plan.to_libvirt_xml(domain_type="qemu", network="default",
                                             console_log="/var/log/vgpu-ws.log").encode())
    assert root.get("type") == "qemu"
    assert root.find("cpu").get("mode") == "maximum"
    nic = root.find("devices/interface")
    assert nic.get("type") == "network" and nic.find("source").get("network") == "default"
    assert nic.find("model").get("type") == "virtio"
    assert nic.find("driver").get("name") == "vhost"
    for kind in ("serial", "console"):
        dev = root.find(f"devices/{kind}")
        assert dev.get("type") == "file"
        assert dev.find("source").get("path") == "/var/log/vgpu-ws.log"
    mdev = root.find("devices/hostdev")
    assert (mdev.get("type"), mdev.get("model"), mdev.get("managed")) == ("mdev", "vfio-pci", "no")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        mdev.find("source/address").get("uuid"))
    page = root.find("memoryBacking/hugepages/page")
    assert (page.get("size"), page.get("nodeset")) == ("2048", "0")
    # defaults: kvm, user networking on one queue, a pty
    root = ET.fromstring(plan.to_libvirt_xml().encode())
    assert root.get("type") == "kvm" and root.find("devices/interface").get("type") == "user"
    assert root.find("devices/serial").get("type") == "pty"


@needs_libvirt
def test_multiqueue_rss():
    plan = Plan.create(host("dgx-a100-roce"), {
        "name": "mq", "vcpus": 16, "memory": "16GiB",
        "nics": [{"model": "virtio-net", "queues": 8, "rss": ["tcp", "udp"]}]})
    driver = ET.fromstring(plan.to_libvirt_xml(network="fabric").encode()).find(
        "devices/interface/driver")
    assert driver.attrib == {"name": "vhost", "queues": "8", "rss": "on",
                             "rss_hash_report": "on"}


@needs_libvirt
def test_findings_say_what_the_xml_leaves_out():
    plan = Plan.create(host("hugepages-2node"), {
        "name": "nics", "vcpus": 4, "memory": "2GiB",
        "nics": [{"model": "virtio", "queues": 4, "rss": ["tcp"]}, {"queues": 1},
                 {"queues": 2}]})
    text = plan.to_libvirt_xml()
    # still the XML, a str, the same bytes as ever
    assert isinstance(text, str) and isinstance(text, hpcvirt.LibvirtXml)
    assert ET.fromstring(text.encode()).find("devices/interface/driver") is None
    assert [(f.severity, f.code, f.path) for f in text.findings] == [
        ("warning", "xml.nic.user-networking", "nics[0]"),
        ("warning", "xml.nic.user-networking", "nics[2]")]
    assert all(isinstance(f, hpcvirt.Finding) for f in text.findings)
    assert "its 4 queues and RSS are left out of the domain XML" in text.findings[0].message
    assert "its 2 queues are left out" in text.findings[1].message
    # with a network nothing is left out
    with_network = plan.to_libvirt_xml(network="default")
    assert with_network.findings == []
    assert ET.fromstring(with_network.encode()).find("devices/interface/driver").get(
        "queues") == "4"
    # nothing to say for a plan without NICs
    plain = Plan.create(host("hugepages-2node"), {"name": "plain", "vcpus": 2, "memory": "1GiB"})
    assert plain.to_libvirt_xml().findings == []


@needs_libvirt
@pytest.mark.skipif(not shutil.which("virt-xml-validate"),
                    reason="virt-xml-validate (libvirt-clients) not installed")
def test_virt_xml_validate(tmp_path):
    plan = example("training-8gpu.json", "dgx-a100-roce")
    for i, kwargs in enumerate([{}, {"domain_type": "qemu", "network": "default",
                                     "console_log": "/tmp/console.log"}]):
        path = tmp_path / f"domain{i}.xml"
        path.write_text(plan.to_libvirt_xml(**kwargs))
        r = subprocess.run(["virt-xml-validate", str(path), "domain"], capture_output=True,
                           text=True, check=False)
        assert r.returncode == 0, r.stdout + r.stderr


@needs_libvirt
def test_errors():
    bad = Plan.create(host("dgx-a100-roce"), {
        "name": "bad", "vcpus": 64, "memory": "1TiB", "guest_phys_bits": 40,
        "accelerators": [{"model": "a100-sxm4-80gb", "count": 8}]})
    assert not bad.ok
    with pytest.raises(hpcvirt.PlanError) as exc:
        bad.to_libvirt_xml()
    assert exc.value.name == "HV_E_PLAN"
    assert "plan.mmio.phys-bits" in exc.value.message and exc.value.path == "guest_phys_bits"

    catalogue = Plan.create(host("hugepages-2node"), {
        "name": "cat", "vcpus": 4, "memory": "8GiB",
        "accelerators": [{"model": "a100-sxm4-80gb", "count": 1}]})
    assert catalogue.ok
    with pytest.raises(hpcvirt.PlanError) as exc:
        catalogue.to_libvirt_xml()
    assert exc.value.path == "accelerators[0]"

    ok = example("fpga-inference.json", "hugepages-2node")
    with pytest.raises(hpcvirt.InvalidArgument) as exc:
        ok.to_libvirt_xml(domain_type="xen")
    assert "domain_type" in exc.value.message
    with pytest.raises(hpcvirt.InvalidArgument):
        ok.to_libvirt_xml(console_log="relative.log")
    with pytest.raises(hpcvirt.InvalidArgument):
        ok.to_libvirt_xml(network="")
    with pytest.raises(TypeError):
        ok.to_libvirt_xml(network=42)
