"""The built-in KVM engine from Python (kvm:///): payloads run with console
and progress callbacks, exit codes, crashes as GuestError, the lifecycle,
statistics and memory reports. Skipped where there is no /dev/kvm."""
import os
import threading

import pytest

import hpcvirt
from hpcvirt import Connection, Host, Plan

GUEST = os.environ.get("HV_TEST_GUEST_DIR", "")

pytestmark = [
    pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="SKIP: no /dev/kvm"),
    pytest.mark.skipif(not os.path.exists(os.path.join(GUEST, "hello.elf")),
                       reason="the guest payloads are not built (HV_TEST_GUEST_DIR)"),
]


def payload(name):
    return os.path.join(GUEST, name + ".elf")


@pytest.fixture(scope="module")
def host():
    return Host.discover()


@pytest.fixture
def conn():
    with Connection("kvm:///") as c:
        yield c


def small(host, name, vcpus=1, **extra):
    return Plan.create(host, {"name": name, "vcpus": vcpus, "memory": "64MiB",
                              "page_size": "4k", **extra})


def test_hello_with_callbacks(conn, host):
    chunks = []
    lock = threading.Lock()

    def on_console(data):
        with lock:
            chunks.append(data)

    vm = conn.create(small(host, "py-hello"), start=True, payload=payload("hello"),
                     console=on_console)
    assert vm.wait(timeout_ms=10000) == 0
    assert vm.state == "exited"
    assert vm.exit_code == 0
    text = b"".join(chunks).decode()
    assert "hello from the hpcvirt guest: 1 vCPUs, 1 vNUMA nodes, 64 MiB" in text
    assert vm.console() == text
    stats = vm.stats()
    assert stats["exits_io"] >= 1 and stats["console_bytes"] == len(text)
    memory = vm.memory()
    assert len(memory) == 1 and memory[0]["bytes"] == 64 << 20
    assert memory[0]["page_bytes"] == 4096 and memory[0]["bound"]
    vm.undefine()


def test_progress_and_exit_code(conn, host):
    markers = []
    vm = conn.create(small(host, "py-worker"), start=True, payload=payload("worker"),
                     progress=lambda vcpu, marker: markers.append((vcpu, marker)))
    assert vm.wait(timeout_ms=120000) == 0
    assert markers == [(0, m) for m in range(1, 7)]
    assert vm.progress(0) == (6, 6)
    vm.undefine()
    vm = conn.create(small(host, "py-code"), start=True, payload=payload("exit-code"))
    assert vm.wait(timeout_ms=10000) == 42
    vm.undefine()


@pytest.mark.parametrize("name, what", [
    ("bad-port", "OUT to port 0x60"),
    ("bad-mmio", "stray MMIO"),
    ("triple-fault", "triple fault"),
])
def test_crashes_raise_guest_error(conn, host, name, what):
    vm = conn.create(small(host, "py-" + name), start=True, payload=payload(name))
    with pytest.raises(hpcvirt.GuestError) as exc:
        vm.wait(timeout_ms=10000)
    assert what in exc.value.message and "rip 0x" in exc.value.message
    assert exc.value.code == hpcvirt._native.lib.HV_E_GUEST
    assert vm.state == "crashed"
    vm.undefine()


def test_lifecycle(conn, host):
    vm = conn.create(small(host, "py-spin", vcpus=2), start=True, payload=payload("endless-loop"))
    with pytest.raises(hpcvirt.TimeoutError_):
        vm.wait(timeout_ms=50)
    vm.pause()
    assert vm.state == "paused"
    with pytest.raises(hpcvirt.StateError):
        vm.pause()
    vm.resume()
    assert vm.state == "running"
    assert conn.lookup("py-spin").state == "running"
    vm.destroy()
    assert vm.state == "defined"
    with pytest.raises(hpcvirt.StateError):
        vm.wait(timeout_ms=0)
    vm.undefine()
    assert "py-spin" not in conn.list_vms()


def test_bad_input(conn, host):
    plan = small(host, "py-bad")
    with pytest.raises(hpcvirt.InvalidArgument) as exc:
        conn.create(plan, payload=None)
    assert exc.value.path == "payload"
    with pytest.raises(hpcvirt.IOError_):
        conn.create(plan, payload="/nonexistent.elf")
    with pytest.raises(TypeError):
        conn.create(plan, payload=payload("hello"), console="not callable")
    nic = Plan.create(host, {"name": "py-nic", "vcpus": 1, "memory": "64MiB",
                             "nics": [{"model": "virtio-net", "queues": 1}]})
    with pytest.raises(hpcvirt.Unsupported, match="libvirt"):
        conn.create(nic, payload=payload("hello"))
    assert conn.list_vms() == []


def test_no_kvm_device(monkeypatch):
    monkeypatch.setenv("HPCVIRT_KVM_DEVICE", "/nonexistent/kvm")
    with pytest.raises(hpcvirt.NoKvm, match="libvirt:"):
        Connection("kvm:///")
