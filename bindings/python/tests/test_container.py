"""Containers from Python (hpcvirt.Container): an OCI image (busybox,
made with umoci) run as a Linux micro-VM of the built-in engine, its
output to a callback by stream; and warm starts, eight containers resumed
from one template side by side, each with its own command and output. They
run with the other Linux-guest tests (scripts/lib/kvm-linux-suites),
skipped without /dev/kvm or a kernel to boot."""
import os
import threading

import pytest

import hv_pytest_plugin
import linux_guest
import oci_layout
from hpcvirt import Connection, Container, Host, ImageError, NotFound, VmSpec
from hpcvirt.container import STDERR, STDOUT

KERNEL = linux_guest.kernel()
MODULES = linux_guest.modules_dir()
INIT = os.path.join(os.environ["HV_TEST_GUEST_DIR"], "container-init", "hpcvirt-container-init")

pytestmark = [*hv_pytest_plugin.needs_kvm("hello").marks,
              pytest.mark.skipif(KERNEL is None, reason="no kernel to boot (HV_TEST_LINUX_KERNEL)")]


@pytest.fixture(scope="module")
def host():
    root = os.environ.get("HV_TEST_LINUX_HOST_ROOT")
    return Host.discover(root=root) if root else Host.discover()


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    return oci_layout.busybox_layout(str(tmp_path_factory.mktemp("oci") / "busybox"))


class Output:
    """What the containers write, per (key, stream)."""

    def __init__(self):
        self.data = {}
        self.lock = threading.Lock()

    def callback(self, key):
        def add(stream, chunk):
            with self.lock:
                self.data.setdefault((key, stream), bytearray()).extend(chunk)
        return add

    def text(self, key, stream):
        with self.lock:
            return bytes(self.data.get((key, stream), b"")).decode()


def make(conn, busybox, host, tmp_path, **kwargs):
    return Container(conn, busybox, tag="latest", kernel=KERNEL, modules=MODULES, init=INIT,
                     cache=tmp_path / "cache", host=host, **kwargs)


def test_a_container_from_python(tmp_path, busybox, host):
    out = Output()
    with Connection("kvm:///") as conn:
        # the plan's resources: 2 vCPUs and 160 MiB (huge pages: the test VM plans on a
        # captured host without a free one)
        with make(conn, busybox, host, tmp_path,
                  args=["sh", "-c", "echo to-out; echo to-err >&2; id -u; "
                        "echo cpus $(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l); "
                        "head -n 1 /proc/meminfo; exit 3"],
                  user="65534", spec=VmSpec("c", 2, "160MiB"),
                  output=out.callback(0)) as c:
            assert c.image_digest.startswith("sha256:")
            assert c.name.startswith("latest-")
            c.start()
            assert c.wait() == 3
    text = out.text(0, STDOUT)
    assert text.startswith("to-out\n65534\ncpus 2\nMemTotal:"), text
    mem_kib = int(text.split("MemTotal:")[1].split()[0])
    assert 96 << 10 < mem_kib <= 160 << 10, text
    assert out.text(0, STDERR) == "to-err\n"


def test_refusals_from_python(tmp_path, busybox, host):
    with Connection("kvm:///") as conn:
        with pytest.raises(NotFound, match="no-such-tag"):
            Container(conn, busybox, tag="no-such-tag", kernel=KERNEL, init=INIT,
                      cache=tmp_path / "cache", host=host)
        bad = oci_layout.hand_layout(str(tmp_path / "bad"),
                                     [oci_layout.tar_layer(oci_layout.busybox_entries())],
                                     corrupt_layer=0)
        with pytest.raises(ImageError, match="corrupt"):
            Container(conn, bad, kernel=KERNEL, init=INIT, cache=tmp_path / "cache", host=host)


def test_eight_warm_containers_from_one_template(tmp_path, busybox, host):
    out = Output()
    with Connection("kvm:///") as conn:
        first = make(conn, busybox, host, tmp_path, warm=True, args=["echo", "template"],
                     output=out.callback("first"))
        first.start()
        assert first.wait() == 0
        first.close()
        assert out.text("first", STDOUT) == "template\n"
        containers = [make(conn, busybox, host, tmp_path, warm=True,
                           args=["sh", "-c", "echo warm-%d; echo e%d >&2" % (i, i)],
                           output=out.callback(i)) for i in range(8)]
        for c in containers:
            c.start()
        for i, c in enumerate(containers):
            assert c.wait(timeout_ms=240000) == 0
            assert out.text(i, STDOUT) == "warm-%d\n" % i
            assert out.text(i, STDERR) == "e%d\n" % i
            c.close()
    assert len(list((tmp_path / "cache").glob("template-*.snap"))) == 1
