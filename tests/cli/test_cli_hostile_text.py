"""The CLI and text from outside (issue 12): a host tree or host document
whose strings hold escape sequences, control characters or bytes that are
not UTF-8. `hpcvirt host` and `hpcvirt plan` print none of them raw (they
show them escaped, \\u001b and \\xff), `hpcvirt host --json` is valid UTF-8
that round-trips through `hpcvirt plan --host-json`, and errors that quote
such text are escaped too. VM names a backend reports (a libvirt test-driver
domain named with a bidi override, a C1 control and a tab), snapshot paths
and command-line operands that `resume`, `clone` and `run` print are shown
escaped as well."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import hpcvirt

CLI = os.environ["HPCVIRT_CLI"]
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
GPU = "0000:07:00.0"  # an A100 of dgx-a100-roce
HOSTILE = b"\x1b[31m\x1b]0;pwned\x07\x1b[2J\x9b1m\xff\xfe"
SPEC = {"name": "t", "vcpus": 2, "memory": "1GiB"}


def run(*args, env=None):
    """The CLI's output as bytes: what a terminal would get."""
    return subprocess.run([CLI, *args], capture_output=True, check=False, timeout=60,
                          env=None if env is None else dict(os.environ, **env))


def assert_inert(data):
    """Nothing in `data` acts on a terminal: valid UTF-8 without control characters
    other than newlines (C1 controls and bidi overrides included)."""
    text = data.decode("utf-8")  # raises on bytes that are not UTF-8
    for ch in text:
        assert ch == "\n" or not (ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f
                                  or 0x202a <= ord(ch) <= 0x202e), repr(text)


@pytest.fixture
def tree(tmp_path):
    """dgx-a100-roce with a CPU model and a GPU's driver link made of hostile bytes."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "dgx-a100-roce", root, symlinks=True)
    cpuinfo = root / "proc/cpuinfo"
    cpuinfo.write_bytes(cpuinfo.read_bytes().replace(b"AMD EPYC 7742", b"AMD " + HOSTILE))
    driver = os.path.realpath(root / "sys/bus/pci/devices" / GPU) + "/driver"
    os.unlink(driver)
    os.symlink(b"../../../../bus/pci/drivers/nv" + HOSTILE + b"idia", os.fsencode(driver))
    return root


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    return path


def test_host_prints_no_raw_escape(tree):
    result = run("host", "--root", str(tree))
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout)
    out = result.stdout.decode()
    # escaped as the library's messages escape; the bytes that are not UTF-8 are U+FFFD
    assert "CPU AMD \\u001b[31m\\u001b]0;pwned\\u0007\\u001b[2J\ufffd1m\ufffd\ufffd" in out
    assert "driver nv\\u001b[31m" in out


def test_host_json_is_utf8_and_round_trips(tree, spec_file, tmp_path):
    result = run("host", "--root", str(tree), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.decode("utf-8"))  # strict: valid UTF-8
    # the strings are data: their control characters kept, bytes that are not UTF-8 U+FFFD
    assert doc["cpus"]["model"].startswith("AMD \x1b[31m\x1b]0;pwned\x07\x1b[2J\ufffd1m\ufffd\ufffd")
    (gpu,) = [a for a in doc["accelerators"] if a["pci_address"] == GPU]
    assert gpu["driver"] == "nv\x1b[31m\x1b]0;pwned\x07\x1b[2J\ufffd1m\ufffd\ufffdidia"
    saved = tmp_path / "host.json"
    saved.write_bytes(result.stdout)
    from_doc = run("plan", str(spec_file), "--host-json", str(saved), "--json")
    from_tree = run("plan", str(spec_file), "--host-root", str(tree), "--json")
    assert from_doc.returncode == 0, from_doc.stderr
    assert from_doc.stdout == from_tree.stdout
    json.loads(from_doc.stdout.decode("utf-8"))
    human = run("plan", str(spec_file), "--host-json", str(saved))
    assert human.returncode == 0, human.stderr
    assert_inert(human.stdout)


def host_document(**strings):
    """A small host document: one CPU, one node, an accelerator and an RDMA device."""
    return {
        "cpus": {"model": strings.get("model", "CPU"),
                 "list": [{"id": 0, "package": 0, "core": 0, "node": 0},
                          {"id": 1, "package": 0, "core": 1, "node": 0}]},
        "numa_nodes": [{"id": 0, "cpus": "0-1", "memory_bytes": 8 << 30, "free_bytes": 8 << 30,
                        "distances": [10]}],
        "accelerators": [{"pci_address": "0000:41:00.0", "vendor_id": "10de",
                          "device_id": "ffff", "kind": "gpu", "numa_node": 0,
                          "model": strings.get("gpu", "GPU"),
                          "driver": strings.get("driver", "nvidia"),
                          "mdev_types": [{"id": strings.get("mdev", "nvidia-1"),
                                          "name": strings.get("mdev", "nvidia-1"),
                                          "available_instances": 1}]}],
        "rdma": [{"name": strings.get("rdma", "mlx5_0"), "numa_node": 0,
                  "ports": [{"port": 1, "state": strings.get("state", "ACTIVE"),
                             "link_layer": "Ethernet"}]}],
        "findings": [{"severity": "warning", "code": strings.get("code", "x"), "path": "",
                      "message": strings.get("message", "m")}],
    }


def test_plan_on_a_hostile_host_document(tmp_path):
    esc = "\x1b[31m\x1b]0;pwned\x07\u202e\x9b"
    doc = tmp_path / "host.json"
    doc.write_text(json.dumps(host_document(model=esc, gpu="GPU" + esc, driver=esc, mdev=esc,
                                            rdma="mlx" + esc, state=esc, code="c" + esc,
                                            message=esc)))
    assert "\\u001b" in doc.read_text()  # JSON carries the escapes, not raw bytes
    # a vGPU type the GPU lacks: the finding quotes the GPU's model
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(dict(SPEC, accelerators=[{"pci_address": "0000:41:00.0",
                                                         "mode": "vgpu",
                                                         "mdev_type": "nope"}])))
    human = run("plan", str(spec), "--host-json", str(doc))
    assert human.returncode == 2, human.stderr
    assert_inert(human.stdout)
    assert_inert(human.stderr)
    assert "GPU\\u001b[31m\\u001b]0;pwned\\u0007\\u202e\\u009b" in human.stdout.decode()
    as_json = run("plan", str(spec), "--host-json", str(doc), "--json")
    json.loads(as_json.stdout.decode("utf-8"))
    # and one it has: the device line names the host's vGPU type, escaped
    spec.write_text(json.dumps(dict(SPEC, accelerators=[{"pci_address": "0000:41:00.0",
                                                         "mode": "vgpu", "mdev_type": esc}])))
    human = run("plan", str(spec), "--host-json", str(doc))
    assert_inert(human.stdout)
    assert_inert(human.stderr)


def test_errors_quoting_hostile_text_are_escaped(tmp_path, spec_file):
    bad_spec = tmp_path / "bad.json"
    bad_spec.write_text(json.dumps({"name": "a\x1b[31m", "vcpus": 1, "memory": "1GiB"}))
    result = run("plan", str(bad_spec))
    assert result.returncode == 2
    assert_inert(result.stderr)
    assert "\\u001b[31m" in result.stderr.decode()
    odd = tmp_path / "host\x1b[2J.json"
    for args in (["plan", str(spec_file), "--host-json", str(odd)],
                 ["plan", str(spec_file), "--profile", "\x1b]0;pwned\x07"],
                 ["plan", str(spec_file), "--\x1b[31m"],
                 ["host", "--root", str(tmp_path / "no\x1b[5mroot")],
                 ["\x1b[31mcommand"]):
        result = run(*args)
        assert result.returncode != 0
        assert_inert(result.stdout)
        assert_inert(result.stderr)
        assert "\\u001b" in result.stderr.decode(), result.stderr


# ---- VM names and paths that `resume`, `clone` and `run` print -----------------------

needs_libvirt = pytest.mark.skipif(
    "libvirt" not in hpcvirt.backends(), reason="hpcvirt was built without libvirt"
)
# what XML 1.0 lets a libvirt domain name hold: a bidi override, a C1 control (CSI), a tab
VM_NAME = "vm\u202eevil\u009b[31m\ttab"
VM_NAME_SHOWN = b"vm\\u202eevil\\u009b[31m\\ttab"


@pytest.fixture
def test_driver(tmp_path):
    """libvirt's test driver on a custom XML file whose one domain has VM_NAME,
    and on an empty one (a restore there is the only domain)."""
    host = tmp_path / "host.xml"
    host.write_text(f"""<node>
  <domain type="test">
    <name>{VM_NAME}</name>
    <memory>1048576</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
  </domain>
</node>
""", encoding="utf-8")
    empty = tmp_path / "empty.xml"
    empty.write_text("<node/>\n")
    return f"libvirt:test://{host}", f"libvirt:test://{empty}"


@needs_libvirt
def test_resume_and_clone_print_names_and_paths_escaped(test_driver, tmp_path):
    uri, empty_uri = test_driver
    listed = run("list", "--uri", uri)
    assert listed.returncode == 0, listed.stderr
    assert_inert(listed.stdout)
    assert listed.stdout == VM_NAME_SHOWN + b"\n"
    save = os.fsencode(tmp_path) + b"/save\x1b[2J\xff.img"
    saved = run("suspend", VM_NAME, save, "--uri", uri)
    assert saved.returncode == 0, saved.stderr
    assert_inert(saved.stdout)
    assert_inert(saved.stderr)
    # resume FILE on a backend other than kvm:/// prints the restored VM's name
    resumed = run("resume", save, "--uri", empty_uri)
    assert resumed.returncode == 0, resumed.stderr
    assert_inert(resumed.stdout)
    assert_inert(resumed.stderr)
    assert resumed.stdout == VM_NAME_SHOWN + b"\n"
    # clone FILE refuses other backends, naming the file and the connection
    cloned = run("clone", save, "-n", "1", "--uri", uri)
    assert cloned.returncode == 1
    assert_inert(cloned.stdout)
    assert_inert(cloned.stderr)
    assert b"clone " + os.fsencode(tmp_path) + b"/save\\u001b[2J\\xff.img: libvirt:test://" \
        in cloned.stderr


@needs_libvirt
def test_run_prints_the_snapshot_path_escaped(tmp_path):
    payload = tmp_path / "pay.elf"
    payload.write_bytes(b"\x7fELF")  # libvirt runs no payload: its content does not matter
    snapshot = os.fsencode(tmp_path) + b"/snap\x1b]0;pwned\x07\xff"
    # libvirt's backend cannot wait for a guest to end: `run` says the file was not written
    result = run("run", payload, "--suspend-after", "0.1", "--snapshot", snapshot,
                 env={"HPCVIRT_DEFAULT_URI": "libvirt:test:///default"})
    assert result.returncode == 1
    assert_inert(result.stdout)
    assert_inert(result.stderr)
    assert b"snap\\u001b]0;pwned\\u0007\\xff was not written" in result.stderr
