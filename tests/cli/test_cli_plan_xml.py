"""The hpcvirt CLI: `hpcvirt plan --xml [--domain-type kvm|qemu]` on every
example spec with the fixture host its README names (a libvirt domain, or the
documented refusal of paravirtual RDMA), plans with errors (exit 2 with the
HV_E_PLAN message), and the usage errors of the new options. In a build
without libvirt, --xml must say so (HV_E_UNSUPPORTED) and the rest is skipped."""
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CLI = os.environ["HPCVIRT_CLI"]
SRC = Path(os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent)
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
SPECS = SRC / "examples" / "specs"
PLAN_NS = "{https://hpcvirt.org/xmlns/plan/1}"

PAIRS = re.findall(r"^\|\s*`([^`]+\.json)`\s*\|\s*`([^`]+)`\s*\|",
                   (SPECS / "README.md").read_text(), re.M)


def run(*args, stdin=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          input=stdin)


def plan_xml(spec, fixture, *extra):
    return run("plan", spec, "--host-root", FIXTURES / fixture, "--xml", *extra)


def _built_without_libvirt():
    r = run("plan", "-", "--host-root", FIXTURES / "hugepages-2node", "--xml",
            stdin='{"name": "probe", "vcpus": 1, "memory": "1GiB"}')
    return r.returncode == 1 and "built without libvirt" in r.stderr


WITHOUT_LIBVIRT = _built_without_libvirt()
needs_libvirt = pytest.mark.skipif(WITHOUT_LIBVIRT, reason="hpcvirt built without libvirt")


@pytest.mark.skipif(not WITHOUT_LIBVIRT, reason="hpcvirt built with libvirt")
def test_without_libvirt_says_how_to_get_it():
    r = plan_xml(SPECS / "fpga-inference.json", "hugepages-2node")
    assert r.returncode == 1 and r.stdout == ""
    assert "-Dlibvirt=enabled" in r.stderr and "[HV_E_UNSUPPORTED]" in r.stderr


def uses_pvrdma(spec_path):
    doc = json.loads(Path(spec_path).read_text())
    return any(r.get("mode", "pvrdma") == "pvrdma" for r in doc.get("rdma", []))


@needs_libvirt
@pytest.mark.parametrize("domain_type", [None, "kvm", "qemu"])
@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_examples_as_domains(fname, fixture, domain_type):
    extra = ["--domain-type", domain_type] if domain_type else []
    r = plan_xml(SPECS / fname, fixture, *extra)
    if uses_pvrdma(SPECS / fname):
        # libvirt 9.0 cannot express pvrdma: refused, not silently dropped
        assert r.returncode == 1, r.stdout + r.stderr
        assert r.stdout == ""
        assert r.stderr.startswith("hpcvirt: error: domain XML: rdma[")
        assert "pvrdma" in r.stderr and r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")
        return
    assert r.returncode == 0, r.stderr
    # without --network a NIC's queues are dropped: a warning says so, and nothing else is said
    assert all(line.startswith("  warning xml.nic.user-networking (at nics[")
               for line in r.stderr.splitlines())
    root = ET.fromstring(r.stdout.encode())
    assert root.tag == "domain"
    assert root.get("type") == (domain_type or "kvm")
    j = run("plan", SPECS / fname, "--host-root", FIXTURES / fixture, "--json")
    assert j.returncode == 0
    plan = json.loads(j.stdout)
    # the metadata (version 2, docs/backends.md) keeps what later lookups need
    element = root.find(f"metadata/{PLAN_NS}plan")
    assert element.get("version") == "2"
    embedded = json.loads(element.text)
    assert embedded["profile"] == plan["profile"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", embedded["digest"])
    assert embedded["migration"] == {"live": plan["migration"]["live"],
                                     "reasons": plan["migration"]["reasons"][:1]}
    # the spec less its defaults
    assert {"name", "vcpus", "memory"} <= embedded["spec"].keys()
    assert all(plan["spec"][key] == value for key, value in embedded["spec"].items())
    assert root.findtext("name") == plan["name"]
    assert root.findtext("vcpu") == str(plan["vcpus"])
    assert int(root.findtext("memory")) * 1024 == plan["memory_bytes"]
    cells = root.findall("cpu/numa/cell")
    assert [c.get("cpus") for c in cells] == [n["vcpu_list"] for n in plan["vnuma"]["nodes"]]
    assert len(root.findall("cputune/vcpupin")) == plan["vcpus"]


@needs_libvirt
def test_training_xml_facts():
    r = plan_xml(SPECS / "training-8gpu.json", "dgx-a100-roce")
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(r.stdout.encode())
    assert root.findtext("devices/controller[@model='pcie-root']/pcihole64") == "2147483648"
    assert root.find("cpu/maxphysaddr").get("mode") == "passthrough"
    assert [h.find("source/address").get("bus") for h in root.findall("devices/hostdev")] == [
        "0x07", "0x0f", "0x47", "0x4e", "0x87", "0x90", "0xb7", "0xbd"]
    vf = root.find("devices/interface[@type='hostdev']/source/address")
    assert (vf.get("bus"), vf.get("slot"), vf.get("function")) == ("0x61", "0x00", "0x2")
    assert root.find("os").get("firmware") == "efi"
    # the same plan, the same bytes
    assert plan_xml(SPECS / "training-8gpu.json", "dgx-a100-roce").stdout == r.stdout


@needs_libvirt
def test_qemu_domain_type():
    r = plan_xml(SPECS / "fpga-inference.json", "hugepages-2node", "--domain-type", "qemu")
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(r.stdout.encode())
    assert root.get("type") == "qemu"
    assert root.find("cpu").get("mode") == "maximum"
    page = root.find("memoryBacking/hugepages/page")
    assert (page.get("size"), page.get("unit"), page.get("nodeset")) == ("1048576", "KiB", "0")


@needs_libvirt
def test_plan_with_errors_exits_2(tmp_path):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({
        "name": "bad", "vcpus": 64, "memory": "1TiB", "guest_phys_bits": 40,
        "accelerators": [{"model": "a100-sxm4-80gb", "count": 8}]}))
    r = plan_xml(spec, "dgx-a100-roce")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("hpcvirt: error: domain XML: ")
    assert "plan.mmio.phys-bits" in r.stderr and "(at guest_phys_bits)" in r.stderr
    assert r.stderr.rstrip().endswith("[HV_E_PLAN]")


@needs_libvirt
def test_catalogue_devices_exit_2(tmp_path):
    spec = tmp_path / "cat.json"
    spec.write_text(json.dumps({
        "name": "cat", "vcpus": 4, "memory": "8GiB",
        "accelerators": [{"model": "a100-sxm4-80gb", "count": 1}]}))
    # a valid plan (the GPU is budgeted from the catalogue) ...
    assert run("plan", spec, "--host-root", FIXTURES / "hugepages-2node").returncode == 0
    # ... that cannot become a domain on this host
    r = plan_xml(spec, "hugepages-2node")
    assert r.returncode == 2
    assert "accelerators[0]" in r.stderr and "[HV_E_PLAN]" in r.stderr


@needs_libvirt
def test_spec_from_stdin():
    r = run("plan", "-", "--host-root", FIXTURES / "hugepages-2node", "--xml",
            stdin='{"name": "tiny", "vcpus": 2, "memory": "2GiB"}')
    assert r.returncode == 0, r.stderr
    assert ET.fromstring(r.stdout.encode()).findtext("name") == "tiny"


def test_xml_usage_errors_exit_64():
    spec = SPECS / "fpga-inference.json"
    host = FIXTURES / "hugepages-2node"
    r = run("plan", spec, "--host-root", host, "--xml", "--domain-type", "xen")
    assert r.returncode == 64 and "xen" in r.stderr
    r = run("plan", spec, "--host-root", host, "--domain-type", "qemu")
    assert r.returncode == 64 and "--xml" in r.stderr
    r = run("plan", spec, "--host-root", host, "--xml", "--json")
    assert r.returncode == 64 and "--json" in r.stderr and "--xml" in r.stderr
    assert run("plan", spec, "--host-root", host, "--xml", "--domain-type").returncode == 64


def test_plan_help_mentions_xml():
    r = run("plan", "--help")
    assert r.returncode == 0
    assert "--xml" in r.stdout and "--domain-type kvm|qemu" in r.stdout
