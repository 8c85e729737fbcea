"""Python bindings: text a C string cannot hold. A NUL character ends a C
string, so a spec, host document, name or path holding one would reach the
library cut short without a word (a spec whose second half is ignored, a
path to another file); every place the bindings hand text to the library
raises instead, with an error that names the text and where the NUL is."""
import json
import os
from pathlib import Path

import pytest

import hpcvirt
from hpcvirt import Host, VmSpec

FIXTURES = Path(
    os.environ.get("HV_TEST_FIXTURES")
    or Path(__file__).resolve().parent.parent.parent.parent / "tests" / "fixtures"
) / "hosts"
ROOT = FIXTURES / "hugepages-2node"
SPEC = '{"name": "t", "vcpus": 2, "memory": "1GiB"}'


@pytest.fixture(scope="module")
def host():
    return Host.discover(root=str(ROOT))


def assert_names_nul(exc, what):
    assert what in exc.message and "NUL character" in exc.message, exc.message


@pytest.mark.parametrize("tail", ["\0", "\0garbage", '\0, "vcpus": 4000}'])
@pytest.mark.parametrize("kind", [str, bytes])
def test_spec_json_with_a_nul(kind, tail):
    text = SPEC + tail
    with pytest.raises(hpcvirt.ParseError) as err:
        VmSpec.from_json(text if kind is str else text.encode())
    assert_names_nul(err.value, "the spec JSON")
    assert f"byte {len(SPEC)}" in err.value.message


@pytest.mark.parametrize("kind", [str, bytes])
def test_host_json_with_a_nul(host, kind):
    text = host.to_json() + "\0" + "trailing"
    with pytest.raises(hpcvirt.ParseError) as err:
        Host.from_json(text if kind is str else text.encode())
    assert_names_nul(err.value, "the host JSON")


def test_host_json_cut_inside_by_a_nul(host):
    # what the library would have read is valid JSON: the NUL must not hide the rest
    doc = host.to_json()
    with pytest.raises(hpcvirt.ParseError):
        Host.from_json(doc + "\0{")


@pytest.mark.parametrize("setter, field", [
    (lambda s: s.set_name("demo\0evil"), "name"),
    (lambda s: s.set_profile("kvm-q35\0"), "profile"),
    (lambda s: s.add_accelerator("0000:41:00.0\0x"), "pci_address"),
    (lambda s: s.add_accelerator_model("a100-sxm4-80gb\0", count=1), "model"),
    (lambda s: s.add_accelerator_model("a100-sxm4-80gb", mode="vgpu", mdev_type="x\0y"),
     "mdev_type"),
    (lambda s: s.add_nic(model="virtio-net\0"), "model"),
    (lambda s: s.set_memory("1GiB\0 and more"), "memory"),
])
def test_spec_fields_with_a_nul(setter, field):
    spec = VmSpec.from_json(SPEC)
    before = spec.to_dict()
    with pytest.raises(hpcvirt.SpecError) as err:
        setter(spec)
    assert_names_nul(err.value, field)
    assert err.value.path == field
    assert spec.to_dict() == before  # nothing was set


def test_spec_name_unicode_that_utf8_cannot_hold():
    spec = VmSpec.from_json(SPEC)
    with pytest.raises(hpcvirt.SpecError) as err:
        spec.set_name("demo\udcff")
    assert "not text UTF-8 can hold" in err.value.message


@pytest.mark.parametrize("kind", [str, bytes, Path])
def test_discover_root_with_a_nul(kind):
    # without the check the library would read ROOT itself: the part before the NUL
    root = str(ROOT) + "\0/elsewhere"
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        Host.discover(root=root.encode() if kind is bytes else kind(root))
    assert_names_nul(err.value, "root")


def test_discover_root_not_utf8_is_a_path(tmp_path):
    # a path is bytes to the file system: a str from os.fsdecode() names it exactly
    odd = tmp_path / os.fsdecode(b"root-\xff")
    odd.symlink_to(ROOT)
    host = Host.discover(root=str(odd))
    assert host.cpu_count == Host.discover(root=str(ROOT)).cpu_count
    assert json.loads(host.to_json())["root"].endswith("root-\ufffd")


def test_profile_with_a_nul(host):
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        Host.discover(root=str(ROOT), profile="kvm-q35\0")
    assert_names_nul(err.value, "profile")
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        hpcvirt.Plan.create(host, SPEC, profile="kvm-q35\0x")
    assert_names_nul(err.value, "profile")
    with pytest.raises(hpcvirt.InvalidArgument):
        hpcvirt.profile_limit("kvm-q35\0", "vm_max_vcpus")
    with pytest.raises(hpcvirt.InvalidArgument):
        hpcvirt.profile_limit("kvm-q35", "vm_max_vcpus\0")
    with pytest.raises(hpcvirt.InvalidArgument):
        hpcvirt.profile_description("kvm-q35\0")


def test_parse_size_with_a_nul():
    with pytest.raises(hpcvirt.ParseError) as err:
        hpcvirt.parse_size("1GiB\0000")
    assert_names_nul(err.value, "the size")


def test_libvirt_xml_options_with_a_nul(host):
    plan = hpcvirt.Plan.create(host, SPEC)
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        plan.to_libvirt_xml(console_log="/tmp/console.log\0/etc/passwd")
    assert_names_nul(err.value, "console_log")


def test_connection_arguments_with_a_nul():
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        hpcvirt.Connection("libvirt:test:///default\0")
    assert_names_nul(err.value, "uri")
    with pytest.raises(hpcvirt.InvalidArgument) as err:
        hpcvirt.load_plugins("/nonexistent\0dir")
    assert_names_nul(err.value, "dir")


def test_vm_names_and_paths_with_a_nul(host):
    with hpcvirt.Connection("libvirt:test:///default") as conn:
        with pytest.raises(hpcvirt.InvalidArgument) as err:
            conn.lookup("test\0")  # the test driver's own VM is named "test"
        assert_names_nul(err.value, "name")
        with pytest.raises(hpcvirt.InvalidArgument) as err:
            conn.resume_from("/tmp/x.save\0")
        assert_names_nul(err.value, "path")
        plan = hpcvirt.Plan.create(host, SPEC)
        with pytest.raises(hpcvirt.InvalidArgument) as err:
            conn.create(plan, backend_options="domain_type=qemu\0,network=evil")
        assert_names_nul(err.value, "backend_options")
        assert "t" not in conn.list_vms()  # nothing was created


def test_strings_from_a_hostile_document_are_data():
    # \u001b in a host document is kept as data; findings it holds come back printable
    doc = {"cpus": {"model": "\x1b[31mRed\x1b[0m", "list": [{"id": 0, "package": 0, "core": 0,
                                                            "node": 0}]},
           "numa_nodes": [{"id": 0, "cpus": "0", "memory_bytes": 1 << 30, "free_bytes": 0,
                           "distances": [10]}],
           "findings": [{"severity": "warning", "code": "x", "path": "",
                         "message": "look \x1b]0;pwned\x07 here"}]}
    host = Host.from_json(json.dumps(doc))
    assert host.cpu_model == "\x1b[31mRed\x1b[0m"
    (finding,) = host.findings
    assert finding.message == "look \\u001b]0;pwned\\u0007 here"
    assert Host.from_json(host.to_json()).to_json() == host.to_json()
