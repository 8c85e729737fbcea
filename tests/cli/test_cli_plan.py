"""The hpcvirt CLI: `hpcvirt plan` on every example spec with the fixture host
its README names (exit 0 when ok, 2 when not), the keys of `--json`, a host
given as JSON, and the errors and exit codes of bad input."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

CLI = os.environ["HPCVIRT_CLI"]
SRC = Path(os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent)
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
SPECS = SRC / "examples" / "specs"

PAIRS = re.findall(r"^\|\s*`([^`]+\.json)`\s*\|\s*`([^`]+)`\s*\|",
                   (SPECS / "README.md").read_text(), re.M)


def run(*args, stdin=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          input=stdin)


def plan(spec, fixture, *extra):
    return run("plan", spec, "--host-root", FIXTURES / fixture, *extra)


def plan_json(spec, fixture, *extra):
    r = plan(spec, fixture, "--json", *extra)
    assert r.returncode in (0, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def write_spec(tmp_path, doc, name="spec.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_readme_pairs_cover_every_example():
    assert sorted(f for f, _ in PAIRS) == sorted(p.name for p in SPECS.glob("*.json"))
    assert len(PAIRS) == 6


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_example_plans_ok(fname, fixture):
    r = plan(SPECS / fname, fixture)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("plan ") and ": OK (0 errors" in r.stdout.splitlines()[0]
    assert r.stderr == ""
    status, doc = plan_json(SPECS / fname, fixture)
    assert status == 0 and doc["ok"] is True
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_json_keys(fname, fixture):
    _, doc = plan_json(SPECS / fname, fixture)
    assert isinstance(doc["ok"], bool)
    for f in doc["findings"]:
        assert set(f) >= {"severity", "code", "path", "message"}
        assert f["severity"] in ("info", "warning", "error")
        assert re.fullmatch(r"plan(\.[a-z0-9-]+)+", f["code"]), f["code"]
    assert doc["firmware"] in ("bios", "efi")
    topo = doc["topology"]
    assert set(topo) >= {"sockets", "cores", "threads"}
    assert topo["sockets"] * topo["cores"] * topo["threads"] == doc["vcpus"]
    nodes = doc["vnuma"]["nodes"]
    assert nodes
    for i, n in enumerate(nodes):
        assert set(n) >= {"id", "vcpus", "memory_bytes", "host_node", "page_bytes", "host_cpus"}
        assert n["id"] == i and n["host_node"] >= 0 and n["host_cpus"]
        assert n["page_bytes"] in (4096, 2 << 20, 1 << 30)
    assert sum(n["vcpus"] for n in nodes) == doc["vcpus"]
    assert sum(n["memory_bytes"] for n in nodes) == doc["memory_bytes"]
    dist = doc["vnuma"]["distances"]
    assert len(dist) == len(nodes) and all(len(row) == len(nodes) for row in dist)
    assert all(dist[i][i] == 10 for i in range(len(nodes)))
    mmio = doc["mmio"]
    assert set(mmio) >= {"bar_total_bytes", "window_bytes", "window_base",
                         "guest_phys_bits_required", "host_phys_bits", "feasible"}
    assert mmio["feasible"] is True
    assert mmio["guest_phys_bits_required"] <= mmio["guest_phys_bits"] <= mmio["host_phys_bits"]
    mig = doc["migration"]
    assert set(mig) >= {"live", "reasons"}
    assert mig["live"] == (mig["reasons"] == [])


def test_training_8gpu_facts():
    _, doc = plan_json(SPECS / "training-8gpu.json", "dgx-a100-roce")
    assert doc["firmware"] == "efi"
    assert doc["topology"] == {"sockets": 2, "cores": 48, "threads": 1, "iommu_eim": False}
    assert [(n["vcpus"], n["host_node"]) for n in doc["vnuma"]["nodes"]] == [(48, 0), (48, 1)]
    assert doc["vnuma"]["distances"] == [[10, 32], [32, 10]]
    assert (doc["mmio"]["window_bytes"], doc["mmio"]["window_base"]) == (2 << 40, 2 << 40)
    assert doc["mmio"]["guest_phys_bits_required"] == 42
    assert doc["mmio"]["guest_phys_bits_mode"] == "passthrough"
    assert doc["migration"]["live"] is False


def test_linux_micro_vm_boot_source():
    """Issue 15: the spec's boot source, in the plan's text and its JSON (which carries the
    spec), and as libvirt's direct kernel boot."""
    r = plan(SPECS / "linux-micro-vm.json", "hugepages-2node")
    assert r.returncode == 0, r.stderr
    assert ("\n  boot: kernel /var/lib/hpcvirt/vmlinuz, initrd /var/lib/hpcvirt/initrd.img, "
            "command line 'console=ttyS0 root=/dev/vda ro quiet'\n") in r.stdout
    _, doc = plan_json(SPECS / "linux-micro-vm.json", "hugepages-2node")
    assert doc["spec"]["boot"] == {"kernel": "/var/lib/hpcvirt/vmlinuz",
                                   "initrd": "/var/lib/hpcvirt/initrd.img",
                                   "cmdline": "console=ttyS0 root=/dev/vda ro quiet"}
    assert [d["read_only"] for d in doc["spec"]["disks"]] == [True, False]
    xml = plan(SPECS / "linux-micro-vm.json", "hugepages-2node", "--xml").stdout
    assert "<kernel>/var/lib/hpcvirt/vmlinuz</kernel>" in xml
    assert "<cmdline>console=ttyS0 root=/dev/vda ro quiet</cmdline>" in xml
    # none: no boot line, no boot key
    r = plan(SPECS / "mpi-roce.json", "dgx-a100-roce")
    assert "  boot:" not in r.stdout
    assert "boot" not in plan_json(SPECS / "mpi-roce.json", "dgx-a100-roce")[1]["spec"]


def test_bad_boot_source_exits_2(tmp_path):
    spec = write_spec(tmp_path, {"vcpus": 1, "memory": "1GiB", "boot": {"kernel": "vmlinuz"}})
    r = plan(spec, "hugepages-2node")
    assert r.returncode == 2
    assert "boot.kernel" in r.stderr and "absolute" in r.stderr


@pytest.mark.parametrize("fname,fixture", PAIRS)
def test_host_json_gives_the_same_plan(fname, fixture, tmp_path):
    r = run("host", "--root", FIXTURES / fixture, "--json")
    assert r.returncode == 0, r.stderr
    host_file = tmp_path / "host.json"
    host_file.write_text(r.stdout)
    by_root = plan(SPECS / fname, fixture, "--json")
    by_json = run("plan", SPECS / fname, "--host-json", host_file, "--json")
    assert by_json.returncode == by_root.returncode == 0, by_json.stderr
    assert by_json.stdout == by_root.stdout
    # and the human view too
    assert run("plan", SPECS / fname, "--host-json", host_file).stdout == \
        plan(SPECS / fname, fixture).stdout


def test_spec_from_stdin():
    text = (SPECS / "mpi-roce.json").read_text()
    r = run("plan", "-", "--host-root", FIXTURES / "dgx-a100-roce", "--json", stdin=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout == plan(SPECS / "mpi-roce.json", "dgx-a100-roce", "--json").stdout


def test_deterministic_output():
    a = plan(SPECS / "genomics-128vcpu-6tb.json", "vsphere-max", "--json").stdout
    b = plan(SPECS / "genomics-128vcpu-6tb.json", "vsphere-max", "--json").stdout
    assert a == b


def test_profile_option():
    _, doc = plan_json(SPECS / "mpi-roce.json", "dgx-a100-roce", "--profile", "kvm-q35")
    assert doc["profile"] == "kvm-q35"
    r = plan(SPECS / "mpi-roce.json", "dgx-a100-roce", "--profile", "hyperv")
    assert r.returncode == 1
    assert "hyperv" in r.stderr and "[HV_E_NOTFOUND]" in r.stderr


# ---- failing plans: exit 2 --------------------------------------------------------------


def test_bios_with_65_vcpus_exits_2(tmp_path):
    spec = write_spec(tmp_path, {"name": "big-bios", "vcpus": 65, "memory": "16GiB",
                                 "firmware": "bios"})
    r = plan(spec, "dgx-a100-roce")
    assert r.returncode == 2
    assert "NOT OK" in r.stdout.splitlines()[0]
    assert "plan.firmware.bios-too-many-vcpus" in r.stdout
    status, doc = plan_json(spec, "dgx-a100-roce")
    assert status == 2 and doc["ok"] is False
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [(f["code"], f["path"]) for f in errors] == [
        ("plan.firmware.bios-too-many-vcpus", "firmware")]
    assert doc["firmware"] == "bios"


def test_example_on_a_host_without_its_device_exits_2():
    status, doc = plan_json(SPECS / "fpga-inference.json", "dgx-a100-roce")
    assert status == 2 and doc["ok"] is False
    assert "plan.device.not-found" in [f["code"] for f in doc["findings"]]


# ---- bad input -----------------------------------------------------------------------------


def test_bad_key_exits_2_with_the_path(tmp_path):
    spec = write_spec(tmp_path, {"vcpus": 4, "memory": "4GiB",
                                 "accelerators": [{"model": "l40s", "bogus": 1}]})
    r = plan(spec, "dgx-a100-roce")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "(at accelerators[0].bogus)" in r.stderr and "[HV_E_SPEC]" in r.stderr
    assert r.stderr.startswith("hpcvirt: error: ")
    # with --json the error is JSON too
    r = plan(spec, "dgx-a100-roce", "--json")
    assert r.returncode == 2 and r.stdout == ""
    error = json.loads(r.stderr)["error"]
    assert error["path"] == "accelerators[0].bogus" and error["name"] == "HV_E_SPEC"


@pytest.mark.parametrize("doc,path", [
    ({"vcpus": 4, "memory": "4GiB", "bogus": 1}, "bogus"),
    ({"vcpus": 4, "memory": "1.3"}, "memory"),
    ({"vcpus": 4, "memory": "4GiB", "guest_phys_bits": 70}, "guest_phys_bits"),
    ({"vcpus": 4, "memory": "4GiB", "vnuma": [{"vcpus": 0, "memory": "4GiB"}]},
     "vnuma[0].vcpus"),
    ({"vcpus": 4, "memory": "4GiB", "accelerators": [{"pci_address": "0000:4B:00.0"}]},
     "accelerators[0].pci_address"),
])
def test_bad_spec_values_exit_2(tmp_path, doc, path):
    r = plan(write_spec(tmp_path, doc), "dgx-a100-roce")
    assert r.returncode == 2
    assert f"(at {path})" in r.stderr


def test_missing_spec_file_exits_1(tmp_path):
    r = plan(tmp_path / "nope.json", "dgx-a100-roce")
    assert r.returncode == 1
    assert "nope.json" in r.stderr and r.stdout == ""


def test_missing_host_json_exits_1(tmp_path):
    r = run("plan", SPECS / "mpi-roce.json", "--host-json", tmp_path / "nope.json")
    assert r.returncode == 1 and "nope.json" in r.stderr


def test_missing_host_root_exits_1(tmp_path):
    r = run("plan", SPECS / "mpi-roce.json", "--host-root", tmp_path / "nope")
    assert r.returncode == 1 and "[HV_E_NOTFOUND]" in r.stderr


def test_no_spec_argument_exits_64():
    r = run("plan")
    assert r.returncode == 64
    assert "spec" in r.stderr


def test_host_root_and_host_json_together_exit_64(tmp_path):
    r = run("plan", SPECS / "mpi-roce.json", "--host-root", FIXTURES / "dgx-a100-roce",
            "--host-json", tmp_path / "host.json")
    assert r.returncode == 64
    assert "--host-root" in r.stderr and "--host-json" in r.stderr


def test_other_usage_errors_exit_64():
    assert run("plan", SPECS / "mpi-roce.json", "--bogus").returncode == 64
    assert run("plan", SPECS / "mpi-roce.json", SPECS / "mpi-roce.json").returncode == 64
    assert run("plan", SPECS / "mpi-roce.json", "--host-root").returncode == 64


def test_plan_help():
    r = run("plan", "--help")
    assert r.returncode == 0
    assert "--host-json" in r.stdout and "--json" in r.stdout
