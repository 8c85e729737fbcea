"""Python bindings: connections and VMs (hpcvirt.Connection, hpcvirt.Vm) on
libvirt's test driver (libvirt:test:///default, in-process: its state dies
with the process) - the whole lifecycle, errors with their codes and
messages, migration refused by the driver and by a plan; the test plugin
backend; handle lifetimes; and one guest really started by QEMU (software
emulation) under libvirt's embedded driver in a private root."""
import gc
import os
import re
import shutil
from pathlib import Path

import pytest

import hpcvirt
import libvirt_embed
from hpcvirt import Connection, Host, Plan, Vm
from hpcvirt._native import lib
from hpcvirt.errors import IOFailure

SRC = Path(
    os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent.parent
)
FIXTURES = Path(os.environ.get("HV_TEST_FIXTURES") or SRC / "tests" / "fixtures") / "hosts"
TEST_URI = "libvirt:test:///default"
# The package is assembled in <build>/bindings/python/hpcvirt: the test plugin
# is built next to it, in <build>/tests/backend/plugins.
BUILD = Path(hpcvirt.__file__).resolve().parent.parent.parent.parent
PLUGIN_DIR = Path(os.environ.get("HV_TEST_PLUGIN_DIR") or BUILD / "tests" / "backend" / "plugins")

needs_libvirt = pytest.mark.skipif(
    "libvirt" not in hpcvirt.backends(), reason="hpcvirt was built without libvirt"
)

_HOSTS = {}


def fixture_host(name="dgx-a100-roce"):
    if name not in _HOSTS:
        _HOSTS[name] = Host.discover(root=str(FIXTURES / name))
    return _HOSTS[name]


def plan_on_fixture(doc):
    """A plan on the DGX fixture host: libvirt's test driver reports only a
    few MiB free, so plans for it are made on a fixture host instead."""
    return Plan.create(fixture_host(), doc)


@pytest.fixture
def conn():
    """A connection to the test driver; VMs a test leaves behind are removed."""
    c = Connection(TEST_URI)
    before = set(c.list_vms())
    yield c
    if c.closed:
        return
    for name in set(c.list_vms()) - before:
        vm = c.lookup(name)
        if vm.state in ("running", "paused"):
            vm.destroy()
        vm.undefine()
    c.close()


# ---- backends and plugins ----------------------------------------------------


def test_backends_are_named_once():
    names = hpcvirt.backends()
    assert isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    assert len(names) == len(set(names))


def test_options_versions_match_the_header():
    # the #defines the generated cdef does not carry, mirrored in hpcvirt.vm
    header = (SRC / "include" / "hpcvirt" / "vm.h").read_text()
    versions = dict(re.findall(r"#define HV_((?:VM|MIGRATE)_\w+_VERSION) (\d+)", header))
    assert len(versions) >= 6
    for name, value in versions.items():
        assert getattr(hpcvirt, name) == int(value), name
        assert name in hpcvirt.__all__
    assert hpcvirt.VM_CLONE_MODES == ("instant", "full", "cold", "linked")
    assert hpcvirt.SnapshotError is hpcvirt.errors.SnapshotError
    assert hpcvirt.errors.last_error(lib.HV_E_SNAPSHOT).__class__ is hpcvirt.SnapshotError


def test_unknown_scheme_is_not_found():
    with pytest.raises(hpcvirt.NotFound) as exc:
        Connection("nosuch:///")
    assert exc.value.code == lib.HV_E_NOTFOUND
    assert exc.value.name == "HV_E_NOTFOUND"
    assert "nosuch:///" in exc.value.message


def test_default_uri_from_environment(monkeypatch):
    if "libvirt" not in hpcvirt.backends():
        pytest.skip("hpcvirt was built without libvirt")
    monkeypatch.setenv("HPCVIRT_DEFAULT_URI", TEST_URI)
    with Connection() as c:
        assert c.uri == TEST_URI
        assert c.backend == "libvirt"
    assert hpcvirt.DEFAULT_URI == "kvm:///"


def test_plugin_backend():
    if not (PLUGIN_DIR / "testplug.so").exists():
        pytest.skip(f"the test plugin is not built ({PLUGIN_DIR / 'testplug.so'})")
    with pytest.raises(IOFailure) as exc:
        hpcvirt.load_plugins("/nonexistent/plugins")
    assert exc.value.code == lib.HV_E_IO
    # a directory is loaded once per process
    assert hpcvirt.load_plugins(str(PLUGIN_DIR)) == 1
    assert hpcvirt.load_plugins(PLUGIN_DIR) == 0
    assert "testplug" in hpcvirt.backends()

    with Connection("testplug:ok") as c:
        assert c.backend == "testplug" and c.uri == "testplug:ok"
        vm = c.create(plan_on_fixture({"name": "plugvm", "vcpus": 2, "memory": "4GiB"}),
                      start=True)
        assert vm.name == "plugvm" and vm.state == "running"
        assert c.lookup("plugvm").state == "running"
        with pytest.raises(hpcvirt.NotFound, match="testplug has no VM other"):
            c.lookup("other")
        # what the plugin leaves out: Unsupported, naming the backend and the operation
        with pytest.raises(hpcvirt.Unsupported) as exc:
            vm.pause()
        assert exc.value.code == lib.HV_E_UNSUPPORTED
        assert "testplug backend does not support pausing VMs" in exc.value.message
        with pytest.raises(hpcvirt.Unsupported, match="migration"):
            vm.migrate("testplug:ok")
        with pytest.raises(hpcvirt.Unsupported):
            vm.snapshot_list()
        # nor a channel (vm_channel_send)
        with pytest.raises(hpcvirt.Unsupported, match="sending to a guest's channel"):
            vm.channel_send(b"hello")
        with pytest.raises(TypeError, match="data must be bytes"):
            vm.channel_send("text")  # type: ignore[arg-type]
        with pytest.raises(hpcvirt.Unsupported):
            c.list_vms()
        with pytest.raises(hpcvirt.Unsupported):
            c.host()
        with pytest.raises(hpcvirt.Unsupported):
            c.resume_from("/tmp/nothing")
        # a failed start keeps the backend's message; the VM is removed again
        with pytest.raises(hpcvirt.Error) as exc:
            c.create(plan_on_fixture({"name": "wont-start", "vcpus": 2, "memory": "4GiB"}),
                     start=True)
        assert exc.value.code == lib.HV_E_BACKEND and exc.value.name == "HV_E_BACKEND"
        assert "testplug cannot start wont-start" in exc.value.message
        assert "removed again" in exc.value.message
    # the plugin's own refusals come through
    with pytest.raises(hpcvirt.Error) as exc:
        Connection("testplug:fail")
    assert exc.value.code == lib.HV_E_BACKEND
    assert "testplug refuses testplug:fail on purpose" in str(exc.value)
    with pytest.raises(hpcvirt.NotFound):
        Connection("testplug:decline")


# ---- the libvirt test driver --------------------------------------------------


@needs_libvirt
def test_connection_facts(conn):
    assert conn.uri == TEST_URI
    assert conn.backend == "libvirt"
    assert "libvirt:test:///default" in repr(conn)
    assert "test" in conn.list_vms()  # the driver's own domain
    host = conn.host()
    assert isinstance(host, Host)
    # the test driver describes 2 cells of 8 CPUs, 2 GiB and 4 GiB
    assert host.cpu_count == 16
    assert [n.cpulist for n in host.nodes] == ["0-7", "8-15"]
    assert [n.memory_bytes for n in host.nodes] == [2 << 30, 4 << 30]
    assert host.root == TEST_URI


@needs_libvirt
def test_lifecycle(conn, tmp_path):
    plan = plan_on_fixture({
        "name": "hv-py-life", "vcpus": 4, "memory": "1GiB", "firmware": "efi",
        "vnuma": [{"vcpus": 2, "memory": "512MiB"}, {"vcpus": 2, "memory": "512MiB"}],
    })
    assert plan.ok, [str(f) for f in plan.errors]
    vm = conn.create(plan, start=True)
    assert isinstance(vm, Vm)
    assert vm.name == "hv-py-life" and vm.connection is conn
    assert vm.state == "running"
    assert vm.state in hpcvirt.VM_STATES
    assert "hv-py-life" in conn.list_vms()

    vm.pause()
    assert vm.state == "paused"
    vm.resume()
    assert vm.state == "running"

    # suspend to a file and resume from it
    save = tmp_path / "hv-py-life.save"
    vm.suspend(save)
    assert vm.state == "defined"
    again = conn.resume_from(str(save))
    assert again.name == "hv-py-life" and again.state == "running"

    # suspend, keep running
    vm.suspend(tmp_path / "second.save", keep_running=True)
    assert vm.state == "running"

    # resuming paused: the test driver takes no restore flags (libvirt's words)
    vm.suspend(tmp_path / "third.save")
    with pytest.raises(hpcvirt.Error) as exc:
        conn.resume_from(tmp_path / "third.save", paused=True)
    assert exc.value.code == lib.HV_E_BACKEND and "unsupported flags" in exc.value.message
    conn.resume_from(tmp_path / "third.save")
    assert vm.state == "running"

    # managed save: the next start resumes
    assert vm.has_managed_save is False
    vm.managed_save()
    assert vm.has_managed_save is True
    assert vm.state == "suspended"
    vm.start()
    assert vm.state == "running"
    assert vm.has_managed_save is False

    # snapshots
    assert vm.snapshot_list() == []
    vm.snapshot_create("before")
    vm.snapshot_create("after")
    assert sorted(vm.snapshot_list()) == ["after", "before"]
    vm.snapshot_revert("before")
    vm.snapshot_delete("after")
    assert vm.snapshot_list() == ["before"]
    vm.snapshot_delete("before")
    assert vm.snapshot_list() == []

    # graceful stop (the test driver shuts down at once), then gone
    vm.stop(timeout_ms=2000)
    assert vm.state == "defined"
    vm.start()
    vm.stop(timeout_ms=0)
    assert vm.state == "defined"
    vm.start()
    vm.destroy()
    assert vm.state == "defined"
    vm.undefine()
    assert "hv-py-life" not in conn.list_vms()
    with pytest.raises(hpcvirt.NotFound) as exc:
        conn.lookup("hv-py-life")
    assert exc.value.code == lib.HV_E_NOTFOUND
    assert "hv-py-life" in exc.value.message


@needs_libvirt
def test_lookup_by_name(conn):
    vm = conn.create(plan_on_fixture({"name": "hv-py-look", "vcpus": 2, "memory": "1GiB"}))
    assert vm.state == "defined"
    found = conn.lookup("hv-py-look")
    assert found.name == "hv-py-look" and found is not vm
    found.start()
    assert vm.state == "running"
    assert repr(found) == "<hpcvirt.Vm 'hv-py-look' on 'libvirt:test:///default'>"


@needs_libvirt
def test_errors_carry_code_and_message(conn):
    plan = plan_on_fixture({"name": "hv-py-err", "vcpus": 2, "memory": "1GiB"})
    vm = conn.create(plan, start=True)
    # defining it twice: libvirt's own message
    with pytest.raises(hpcvirt.Error) as exc:
        conn.create(plan)
    assert exc.value.code == lib.HV_E_BACKEND and exc.value.name == "HV_E_BACKEND"
    assert "already exists" in exc.value.message
    # resuming a running VM
    with pytest.raises(hpcvirt.Error) as exc:
        vm.resume()
    assert exc.value.code == lib.HV_E_BACKEND
    assert "not paused" in exc.value.message
    # snapshots
    with pytest.raises(hpcvirt.NotFound) as exc:
        vm.snapshot_revert("nope")
    assert "nope" in exc.value.message and exc.value.path == "name"
    with pytest.raises(hpcvirt.InvalidArgument) as exc:
        vm.snapshot_create("bad name")
    assert exc.value.code == lib.HV_E_INVAL and exc.value.path == "name"
    # unknown VMs
    with pytest.raises(hpcvirt.NotFound) as exc:
        conn.lookup("no-such-vm")
    assert "no-such-vm" in str(exc.value)
    # a file that is no save image
    with pytest.raises(hpcvirt.Error) as exc:
        conn.resume_from("/nonexistent/hv.save")
    assert exc.value.code < 0 and exc.value.message
    # arguments checked in Python
    with pytest.raises(TypeError):
        conn.create({"name": "x", "vcpus": 1, "memory": "1GiB"})
    with pytest.raises(hpcvirt.InvalidArgument):
        vm.stop(timeout_ms=-1)
    with pytest.raises(hpcvirt.InvalidArgument):
        vm.migrate(TEST_URI, bandwidth_mib_per_s=-5)
    with pytest.raises(hpcvirt.InvalidArgument):
        vm.migrate(TEST_URI, max_downtime_ms=1 << 32)


@needs_libvirt
def test_backend_options_are_checked(conn):
    plan = plan_on_fixture({"name": "hv-py-opts", "vcpus": 2, "memory": "1GiB"})
    with pytest.raises(hpcvirt.InvalidArgument) as exc:
        conn.create(plan, backend_options="domain_type=kvm,nosuch=1")
    assert exc.value.path == "backend_options"
    assert "no option 'nosuch'" in exc.value.message
    with pytest.raises(hpcvirt.InvalidArgument) as exc:
        conn.create(plan, backend_options="domain_type=xen")
    assert exc.value.path == "backend_options"
    assert "domain_type 'xen'" in exc.value.message and "domain_type=qemu" in exc.value.message
    assert "hv-py-opts" not in conn.list_vms()


@needs_libvirt
def test_plan_with_errors_is_refused(conn):
    plan = plan_on_fixture({"name": "hv-py-toolarge", "vcpus": 200, "memory": "4GiB"})
    assert not plan.ok
    with pytest.raises(hpcvirt.PlanError) as exc:
        conn.create(plan, start=True)
    assert exc.value.code == lib.HV_E_PLAN and exc.value.name == "HV_E_PLAN"
    assert "plan.max.vcpus" in exc.value.message
    assert exc.value.path == "vcpus"
    # nothing reached the backend
    with pytest.raises(hpcvirt.NotFound):
        conn.lookup("hv-py-toolarge")


@needs_libvirt
def test_migration_unsupported_by_the_test_driver(conn):
    vm = conn.create(plan_on_fixture({"name": "hv-py-mig", "vcpus": 2, "memory": "1GiB"}),
                     start=True)
    with pytest.raises(hpcvirt.Unsupported) as exc:
        vm.migrate(TEST_URI, bandwidth_mib_per_s=100)
    assert exc.value.code == lib.HV_E_UNSUPPORTED
    assert "libvirt: migrating the domain" in exc.value.message
    # the downtime is set before anything is sent: the driver refuses that first
    with pytest.raises(hpcvirt.Unsupported, match="setting the maximum downtime"):
        vm.migrate(TEST_URI, max_downtime_ms=50)
    with pytest.raises(hpcvirt.Unsupported, match="migrating the domain"):
        vm.migrate(TEST_URI, offline=True)
    assert vm.state == "running"
    # libvirt's domains have no channel of hpcvirt's: Unsupported, naming the operation
    with pytest.raises(hpcvirt.Unsupported, match="libvirt backend does not support sending to "
                                                  "a guest's channel"):
        vm.channel_send(b"hello")


@needs_libvirt
def test_migrate_incoming_host_is_checked(conn):
    # the inventory a destination plans against is an hpcvirt.Host, checked before anything
    with pytest.raises(TypeError, match="hpcvirt.Host"):
        conn.migrate_incoming("fd:0", host="dgx-a100-roce")
    # libvirt's test driver receives no migrations of the built-in engine
    with pytest.raises(hpcvirt.Unsupported, match="receiving migrated VMs"):
        conn.migrate_incoming("fd:0", host=fixture_host())


@needs_libvirt
def test_migration_refused_for_gpu_passthrough(conn):
    plan = plan_on_fixture({"name": "hv-py-gpu", "vcpus": 4, "memory": "4GiB",
                            "accelerators": [{"pci_address": "0000:07:00.0"}]})
    assert plan.ok and not plan.live_migratable
    vm = conn.create(plan, start=True)
    with pytest.raises(hpcvirt.Unsupported) as exc:
        vm.migrate("qemu+ssh://elsewhere/system")
    assert "0000:07:00.0" in exc.value.message
    # QEMU saves to a file through migration, with the same checks: no file detour
    assert "suspend it to a file" not in exc.value.message
    assert "move it with an offline migration" in exc.value.message
    assert "hpcvirt migrate --offline" in exc.value.message
    # a handle found by name reads the verdict from the domain's metadata, says the same
    found = conn.lookup("hv-py-gpu")
    with pytest.raises(hpcvirt.Unsupported, match="passed through") as exc:
        found.migrate("qemu+ssh://elsewhere/system")
    assert "move it with an offline migration" in exc.value.message
    assert vm.state == "running"


@needs_libvirt
def test_connection_errors():
    with pytest.raises(hpcvirt.Error) as exc:
        Connection("libvirt:nosuchdriver:///")
    assert exc.value.code == lib.HV_E_BACKEND
    with pytest.raises(hpcvirt.InvalidArgument):
        Connection("libvirt:")


# ---- handle lifetimes ---------------------------------------------------------


@needs_libvirt
def test_vm_keeps_its_connection_alive():
    c = Connection(TEST_URI)
    vm = c.create(plan_on_fixture({"name": "hv-py-alive", "vcpus": 2, "memory": "1GiB"}),
                  start=True)
    del c
    gc.collect()
    # the VM's connection is the one that defined it (test:///default state
    # lives as long as a connection to it is open)
    assert vm.state == "running"
    assert "hv-py-alive" in vm.connection.list_vms()
    vm.destroy()
    vm.undefine()
    conn = vm.connection
    del vm
    gc.collect()
    assert not conn.closed
    conn.close()


@needs_libvirt
def test_close_releases_vm_handles():
    with Connection(TEST_URI) as c:
        vm = c.create(plan_on_fixture({"name": "hv-py-closed", "vcpus": 2, "memory": "1GiB"}))
        vm.undefine()
    assert c.closed and "closed" in repr(c)
    with pytest.raises(hpcvirt.InvalidArgument, match="hv-py-closed"):
        vm.state
    with pytest.raises(hpcvirt.InvalidArgument, match="closed"):
        c.list_vms()
    c.close()  # twice is fine
    assert vm.name == "hv-py-closed"


@needs_libvirt
def test_vm_is_a_context_manager_that_leaves_the_vm_alone(conn):
    plan = plan_on_fixture({"name": "hv-py-with", "vcpus": 2, "memory": "1GiB"})
    with conn.create(plan, start=True) as vm:
        assert isinstance(vm, Vm) and not vm.closed
        assert vm.state == "running"
    assert vm.closed
    with pytest.raises(hpcvirt.InvalidArgument, match="hv-py-with"):
        vm.state
    vm.close()  # twice is fine
    # the VM itself runs on: a new handle finds it
    with conn.lookup("hv-py-with") as again:
        assert again.state == "running"
    # an exception in the block still releases the handle and is not swallowed
    with pytest.raises(KeyError):
        with conn.lookup("hv-py-with") as third:
            raise KeyError("x")
    assert third.closed and "hv-py-with" in conn.list_vms()


@needs_libvirt
def test_vm_destroy_on_exit(conn):
    plan = plan_on_fixture({"name": "hv-py-gone", "vcpus": 2, "memory": "1GiB"})
    with conn.create(plan, start=True).destroy_on_exit() as vm:
        vm.pause()
    assert vm.closed
    with conn.lookup("hv-py-gone") as again:
        assert again.state == "defined"
    with conn.lookup("hv-py-gone").destroy_on_exit(undefine=True) as vm:
        vm.start()
    assert "hv-py-gone" not in conn.list_vms()
    # a VM that is not running is only undefined
    with conn.create(plan).destroy_on_exit(undefine=True):
        pass
    assert "hv-py-gone" not in conn.list_vms()


def test_vm_constructor_is_internal():
    with pytest.raises(ValueError):
        Vm(None, hpcvirt.ffi.NULL)


# ---- a real guest: QEMU under libvirt's embedded driver -----------------------


@pytest.fixture
def embed_root():
    """A private libvirt root; whatever QEMU is left behind is killed."""
    reason = libvirt_embed.skip_reason()
    if reason:
        pytest.skip(reason)
    with libvirt_embed.private_root("hv-pyembed.") as root:
        yield root


def test_embedded_qemu_guest(embed_root):
    with Connection(f"libvirt:qemu:///embed?root={embed_root}") as c:
        host = c.host()
        assert host.cpu_count >= 1
        plan = Plan.create(host, {"name": "hv-py-embed", "vcpus": 1, "memory": "256MiB",
                                  "page_size": "4k"})
        assert plan.ok, [str(f) for f in plan.errors]
        # software emulation: /dev/kvm is not usable here
        vm = c.create(plan, start=True, backend_options="domain_type=qemu")
        try:
            assert vm.name == "hv-py-embed"
            assert vm.state == "running"
            assert c.list_vms() == ["hv-py-embed"]
            vm.destroy()
            assert vm.state == "defined"
        finally:
            if vm.state in ("running", "paused"):
                vm.destroy()
            vm.undefine()
        assert c.list_vms() == []


def test_error_codes_map_to_exception_classes():
    for code, cls in ((lib.HV_E_STATE, hpcvirt.StateError), (lib.HV_E_BACKEND, hpcvirt.BackendError),
                      (lib.HV_E_EXISTS, hpcvirt.Exists), (lib.HV_E_TIMEOUT, hpcvirt.TimedOut)):
        lib.hv_error_report(code, b"field", b"made up for the test")
        err = hpcvirt.errors.last_error()
        assert type(err) is cls and err.code == code and err.path == "field"
        assert isinstance(err, hpcvirt.Error)


def test_io_and_timeout_errors_have_plain_names_and_keep_the_old_ones():
    assert hpcvirt.IOFailure is hpcvirt.IOError_ and issubclass(hpcvirt.IOFailure, OSError)
    assert hpcvirt.TimedOut is hpcvirt.TimeoutError_ and issubclass(hpcvirt.TimedOut, TimeoutError)
    assert hpcvirt.IOFailure.__name__ == "IOFailure" and hpcvirt.TimedOut.__name__ == "TimedOut"
    for code, cls in ((lib.HV_E_IO, hpcvirt.IOFailure), (lib.HV_E_TIMEOUT, hpcvirt.TimedOut)):
        lib.hv_error_report(code, b"", b"made up for the test")
        assert type(hpcvirt.errors.last_error()) is cls
    assert "IOFailure" in hpcvirt.__all__ and "TimedOut" in hpcvirt.__all__


@needs_libvirt
def test_linked_clones_on_the_test_driver(conn, tmp_path):
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (package qemu-utils)")
    root = tmp_path / "root.img"
    plan = plan_on_fixture({"name": "hv-py-lparent", "vcpus": 1, "memory": "1GiB",
                            "disks": [{"path": str(root), "size": "16MiB"}]})
    assert plan.ok, [str(f) for f in plan.errors]
    parent = conn.create(plan)
    with pytest.raises(hpcvirt.Unsupported, match="kvm:///"):
        parent.clone(1)
    clones = parent.clone(2, mode=hpcvirt.CLONE_LINKED, paused=True)
    assert [c.name for c in clones] == ["hv-py-lparent-linked1", "hv-py-lparent-linked2"]
    assert [c.state for c in clones] == ["paused", "paused"]
    for c in clones:
        assert (tmp_path / f"{c.name}-vda.qcow2").exists()
    # named by a pattern, each with its identity as an SMBIOS OEM string
    named = parent.clone(2, mode="linked", name_pattern="hv-py-web-{index}",
                         identities=["rank=0", "rank=1 <&>"])
    assert [c.name for c in named] == ["hv-py-web-1", "hv-py-web-2"]
    assert all((tmp_path / f"{c.name}-vda.qcow2").exists() for c in named)
    more = parent.clone(1, mode="linked", names=["hv-py-alpha"])
    assert more[0].name == "hv-py-alpha"
    with pytest.raises(hpcvirt.Exists, match="'hv-py-alpha' exists already"):
        parent.clone(1, mode="linked", names=["hv-py-alpha"])
    with pytest.raises(hpcvirt.InvalidArgument, match="list of 2 str"):
        parent.clone(2, mode="linked", names=["hv-py-one"])
    with pytest.raises(hpcvirt.InvalidArgument, match="list of 1 str"):
        parent.clone(1, mode="linked", identities="rank=0")
    with pytest.raises(TypeError, match=r"names\[0\] must be a str"):
        parent.clone(1, mode="linked", names=[7])
    with pytest.raises(hpcvirt.InvalidArgument, match="NUL"):
        parent.clone(1, mode="linked", identities=["a\0b"])
    with pytest.raises(hpcvirt.InvalidArgument, match="given twice"):
        parent.clone(2, mode="linked", names=["hv-py-x", "hv-py-x"])
    with pytest.raises(hpcvirt.InvalidArgument, match="no \"{index}\""):
        parent.clone(2, mode="linked", name_pattern="hv-py-web")
    for c in [*named, *more]:
        c.destroy()
        c.undefine()
    parent.start()
    with pytest.raises(hpcvirt.StateError, match="shut it down"):
        parent.clone(1, mode="linked")
    # clones of a snapshot: an internal one (the test driver makes no other kind) keeps its
    # state inside the parent's images, out of the overlays' reach (the QEMU driver's external
    # ones: tests/backend/test-libvirt-embed.c)
    parent.snapshot_create("t1")
    with pytest.raises(hpcvirt.Unsupported, match="snapshot 't1' of 'hv-py-lparent' is internal"):
        parent.clone(1, mode="linked", snapshot="t1")
    with pytest.raises(hpcvirt.NotFound, match="no snapshot named 't9'"):
        parent.clone(1, mode="linked", snapshot="t9")
    with pytest.raises(hpcvirt.InvalidArgument, match="hv_vm_resume_from"):
        parent.clone(1, snapshot="t1")
    with pytest.raises(hpcvirt.InvalidArgument, match="NUL"):
        parent.clone(1, mode="linked", snapshot="t\0")
    with pytest.raises(hpcvirt.NotFound):  # nothing was made
        conn.lookup("hv-py-lparent-linked3")
