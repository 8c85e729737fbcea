"""The hpcvirt CLI's conventions (docs/cli.md): the same option names on every
command (--host-root, with --root its other name), one error format
(`hpcvirt: error: MESSAGE [HV_E_CODE]`, or a JSON object with --json), help
that explains every option, suggestions for a mistyped command or option, and
the plan view's devices, MMIO and migration lines."""
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import hpcvirt

CLI = os.environ["HPCVIRT_CLI"]
SRC = Path(os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent)
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
DGX = FIXTURES / "dgx-a100-roce"
TWO_NODE = FIXTURES / "hugepages-2node"
SPECS = SRC / "examples" / "specs"
TEST_URI = "libvirt:test:///default"
ERROR_LINE = re.compile(r"^hpcvirt: error: .+ \[HV_E_[A-Z]+\]$")

needs_libvirt = pytest.mark.skipif(
    "libvirt" not in hpcvirt.backends(), reason="hpcvirt was built without libvirt"
)


def run(*args, stdin=None):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          input=stdin, env=env)


def write(tmp_path, doc, name="spec.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def commands():
    out = run("--help").stdout
    return [line.split()[0] for line in out.splitlines() if re.match(r"^  [a-z]", line)]


# ---- one name for one thing -----------------------------------------------------------


def test_root_is_host_root_on_host_and_plan():
    assert run("host", "--root", DGX).stdout == run("host", "--host-root", DGX).stdout
    spec = SPECS / "mpi-roce.json"
    a, b = run("plan", spec, "--root", DGX), run("plan", spec, "--host-root", DGX)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout


@needs_libvirt
def test_create_takes_host_root_root_and_profile(tmp_path):
    spec = write(tmp_path, {"name": "cli-conv", "vcpus": 2, "memory": "1GiB"})
    for option in ("--host-root", "--root"):
        r = run("create", spec, "--uri", TEST_URI, option, DGX, "--profile", "kvm-q35")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "cli-conv\n"


def test_run_takes_host_root_and_profile():
    # parsed and checked before anything runs: the profile is the first thing refused
    r = run("run", "no-such.elf", "--host-root", DGX, "--profile", "nope", "--uri", TEST_URI)
    assert r.returncode != 64, r.stderr


# ---- one error format -----------------------------------------------------------------


def test_every_error_line_has_the_format(tmp_path):
    bad = write(tmp_path, '{"name": "x",\n  "vcpus": tru}')
    cases = [
        ("plan", tmp_path / "missing.json"),                      # a file that cannot be opened
        ("plan", bad, "--host-root", DGX),                          # a syntax error
        ("plan", SPECS / "mpi-roce.json", "--host-root", DGX, "--profile", "nope"),
        ("host", "--host-root", DGX, "--bogus"),                    # a usage error
        ("plna",),                                                  # an unknown command
    ]
    for args in cases:
        r = run(*args)
        assert r.returncode != 0
        assert ERROR_LINE.match(r.stderr.splitlines()[0]), r.stderr


def test_missing_file_names_its_code(tmp_path):
    r = run("plan", tmp_path / "missing.json")
    assert r.returncode == 1
    assert r.stderr == (f"hpcvirt: error: cannot open {tmp_path / 'missing.json'}: "
                        "No such file or directory [HV_E_NOTFOUND]\n")


def test_syntax_error_gives_line_and_column_once(tmp_path):
    bad = write(tmp_path, '{"name": "x",\n  "vcpus": tru}')
    r = run("plan", bad, "--host-root", DGX)
    assert r.returncode == 2
    assert r.stderr.count("line 2") == 1 and "(line 2, column 12)" in r.stderr
    assert "(at line" not in r.stderr and r.stderr.rstrip().endswith("[HV_E_PARSE]")


@pytest.mark.parametrize("args", [
    ["plan", "MISSING", "--json"],
    ["plan", "BAD", "--host-root", DGX, "--json"],
    ["host", "--host-root", "MISSINGDIR", "--json"],
    ["plan", SPECS / "mpi-roce.json", "--json", "--host-root", DGX, "--profile", "nope"],
    ["plan", SPECS / "mpi-roce.json", "--bogus", "--json"],
    ["version", "--json", "--bogus"],
    ["frequency", "--json", "--interval-ms", "lots"],
])
def test_json_errors_are_one_object_on_stderr(tmp_path, args):
    bad = write(tmp_path, '{"name": "x",\n  "vcpus": tru}')
    subst = {"MISSING": tmp_path / "missing.json", "BAD": bad, "MISSINGDIR": tmp_path / "none"}
    r = run(*[subst.get(a, a) if isinstance(a, str) else a for a in args])
    assert r.returncode in (1, 2, 64) and r.stdout == ""
    doc = json.loads(r.stderr)
    error = doc["error"]
    assert {"code", "name", "message", "path"} <= error.keys()
    assert isinstance(error["code"], int) and error["code"] < 0
    assert re.fullmatch(r"HV_E_[A-Z]+", error["name"]) and error["message"]
    if "BAD" in args:
        assert error["name"] == "HV_E_PARSE" and error["path"] == "line 2"
        assert error["message"].endswith("(line 2, column 12)")
        assert error["context"] == str(bad)


def test_json_errors_only_for_commands_that_take_json():
    r = run("state", "x", "--json")
    assert r.returncode == 64
    assert r.stderr.startswith("hpcvirt: error: state: unknown option '--json'")


@needs_libvirt
def test_missing_vm_names_the_uri_not_the_argument():
    r = run("state", "no-such-vm", "--uri", TEST_URI)
    assert r.returncode == 1
    assert r.stderr == ("hpcvirt: error: state no-such-vm: no VM named 'no-such-vm' on "
                        "test:///default [HV_E_NOTFOUND]\n")


@pytest.mark.parametrize("args", [
    ["host", "--host-root", DGX, "--profile", "nope"],
    ["plan", SPECS / "mpi-roce.json", "--host-root", DGX, "--profile", "nope"],
])
def test_unknown_profile_lists_the_known_ones(args):
    r = run(*args)
    assert r.returncode == 1
    assert "unknown maximums profile 'nope': use one of vsphere-6.7, kvm-q35, vsphere-6.0" \
        in r.stderr


# ---- help and suggestions -------------------------------------------------------------


def test_unknown_command_suggests_the_nearest():
    r = run("plna")
    assert r.returncode == 64
    assert r.stderr.startswith("hpcvirt: error: 'plna' is not a command; did you mean 'plan'?")
    r = run("snapshto", "x")
    assert "did you mean 'snapshot'?" in r.stderr
    r = run("xyzzy")
    assert r.returncode == 64 and "did you mean" not in r.stderr


@pytest.mark.parametrize("args,suggested", [
    (["plan", "x.json", "--hots-root", "d"], "--host-root"),
    (["plan", "x.json", "--jsno"], "--json"),
    (["host", "--profle", "kvm-q35"], "--profile"),
    (["create", "x.json", "--strat"], "--start"),
    (["clone", "f", "--mdoe", "full"], "--mode"),
])
def test_unknown_option_suggests_the_nearest(args, suggested):
    r = run(*args)
    assert r.returncode == 64
    assert f"did you mean '{suggested}'?" in r.stderr


def test_unknown_option_far_from_any_suggests_nothing():
    r = run("plan", "x.json", "--completely-different")
    assert r.returncode == 64 and "did you mean" not in r.stderr


@pytest.mark.parametrize("command", commands())
def test_help_summary_first_and_every_option_explained(command):
    r = run(command, "--help")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].endswith(".") and lines[1] == "" and lines[2].startswith("Usage: hpcvirt ")
    synopsis, body = [lines[2]], []
    for line in lines[3:]:
        (synopsis if not body and line.startswith("       ") else body).append(line)
    for option in set(re.findall(r"(--[a-z-]+|-n)\b", " ".join(synopsis))):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", "\n".join(body)), \
            f"{command} --help does not explain {option}"


@pytest.mark.parametrize("command", ["plan", "host", "create", "run"])
def test_help_lists_the_profiles(command):
    out = run(command, "--help").stdout
    for name in ("vsphere-6.7", "kvm-q35", "vsphere-6.0"):
        assert re.search(rf"^  {re.escape(name)} +\S", out, re.M), out


def test_plan_help_says_what_domain_type_changes():
    out = run("plan", "--help").stdout
    assert "software emulation" in out and "--network NAME" in out


# ---- the plan view --------------------------------------------------------------------


def test_plan_with_errors_is_not_called_migratable():
    r = run("plan", SPECS / "vgpu-workstation.json", "--host-root", DGX)
    ok = run("plan", SPECS / "vgpu-workstation.json", "--host-root", TWO_NODE)
    assert ok.returncode == 0 and "  live migration: yes\n" in ok.stdout
    assert r.returncode == 2
    assert "live migration: yes" not in r.stdout
    assert "  live migration: no (the plan has errors)\n" in r.stdout


def test_plan_leaves_out_bars_when_there_are_none():
    r = run("plan", SPECS / "mpi-roce.json", "--host-root", DGX)
    assert r.returncode == 0
    assert "BARs 0 B" not in r.stdout
    assert "  MMIO: needs 38 guest physical-address bits" in r.stdout
    r = run("plan", SPECS / "training-8gpu.json", "--host-root", DGX)
    assert "  MMIO: BARs 1 TiB (1099914280960 bytes); 64-bit window 2 TiB at 2 TiB; " in r.stdout


def test_plan_prints_one_line_per_spec_entry():
    r = run("plan", SPECS / "training-8gpu.json", "--host-root", DGX)
    assert r.returncode == 0
    lines = [line for line in r.stdout.splitlines() if line.startswith("  accelerators[")]
    assert lines == [
        "  accelerators[0]: 8 x accelerator a100-sxm4-80gb: 0000:07:00.0, 0000:0f:00.0, "
        "0000:47:00.0, 0000:4e:00.0 (host node 0 -> vNUMA node 0), 0000:87:00.0, "
        "0000:90:00.0, 0000:b7:00.0, 0000:bd:00.0 (host node 1 -> vNUMA node 1)"]
    assert "  rdma[0]: rdma mlx5_0 MTU 4096: 0000:61:00.2 (host node 0 -> vNUMA node 0)\n" \
        in r.stdout
    assert "  nics[0]: nic virtio-net 16 queues\n" in r.stdout


# ---- plan --xml: the backend's options --------------------------------------------------


NIC_SPEC = {"name": "nic-vm", "vcpus": 4, "memory": "2GiB",
            "nics": [{"model": "virtio", "queues": 4, "rss": ["tcp"]}]}


@needs_libvirt
def test_plan_xml_with_a_network_keeps_queues_and_rss(tmp_path):
    spec = write(tmp_path, NIC_SPEC)
    r = run("plan", spec, "--host-root", TWO_NODE, "--xml", "--network", "default",
            "--domain-type", "qemu")
    assert r.returncode == 0 and r.stderr == ""
    root = ET.fromstring(r.stdout.encode())
    assert root.get("type") == "qemu"
    iface = root.find("devices/interface")
    assert iface.get("type") == "network" and iface.find("source").get("network") == "default"
    assert iface.find("driver").get("queues") == "4" and iface.find("driver").get("rss") == "on"


@needs_libvirt
def test_plan_xml_without_a_network_says_what_it_drops(tmp_path):
    spec = write(tmp_path, NIC_SPEC)
    r = run("plan", spec, "--host-root", TWO_NODE, "--xml")
    assert r.returncode == 0
    # the library's finding (hv_libvirt_xml_options.findings), printed as findings are
    assert r.stderr == ("  warning xml.nic.user-networking (at nics[0]): without a network the "
                        "NIC has user-mode networking, which has one queue: its 4 queues and RSS "
                        "are left out of the domain XML; name a libvirt network (\"default\", "
                        "for one) to keep them\n")
    assert ET.fromstring(r.stdout.encode()).find("devices/interface/driver") is None


def test_network_goes_with_xml():
    r = run("plan", SPECS / "mpi-roce.json", "--host-root", DGX, "--network", "default")
    assert r.returncode == 64 and "--xml" in r.stderr


def test_nic_model_virtio_is_virtio_net(tmp_path):
    r = run("plan", write(tmp_path, NIC_SPEC), "--host-root", TWO_NODE, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["spec"]["nics"][0]["model"] == "virtio-net"
