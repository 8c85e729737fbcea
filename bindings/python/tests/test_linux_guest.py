"""A Linux guest of the built-in engine from Python: a VmSpec whose boot
source names a kernel (boot=, VmSpec.set_boot()) is planned and created by
Connection.create() with no payload; its console reaches the callback and
the VM ends with the guest's status; it is suspended and resumed, and
cloned, with its devices and channel. It runs with the other Linux-guest tests in their own test VM
(scripts/lib/kvm-linux-suites, which says why), skipped without /dev/kvm or a
kernel to boot."""
import os
import threading

import pytest

import hv_pytest_plugin
import linux_guest
from hpcvirt import Connection, Host, Plan, Unsupported, VmSpec

KERNEL = linux_guest.kernel()

pytestmark = [*hv_pytest_plugin.needs_kvm("hello").marks,
              pytest.mark.skipif(KERNEL is None, reason="no kernel to boot (HV_TEST_LINUX_KERNEL)")]


@pytest.fixture(scope="module")
def host():
    root = os.environ.get("HV_TEST_LINUX_HOST_ROOT")
    return Host.discover(root=root) if root else Host.discover()


def linux_spec(tmp_path, name, script, files=None):
    initrd = tmp_path / "initrd.cpio"
    linux_guest.initramfs(initrd, linux_guest.INIT_PRELUDE + script, files)
    return VmSpec(name, 2, "256MiB", page_size="4k",
                  boot={"kernel": KERNEL, "initrd": str(initrd),
                        "cmdline": "console=ttyS0 panic=-1 quiet"})


def test_a_linux_guest_from_python(tmp_path, host):
    chunks = []
    spec = linux_spec(tmp_path, "py-linux",
                      'echo "python guest: $(nproc) cpus"\n' + linux_guest.init_exit("5"))
    assert spec.boot_kernel == KERNEL
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, spec), start=True, console=chunks.append)
        assert vm.wait(timeout_ms=240000) == 5
        assert vm.state == "exited"
        text = b"".join(chunks).decode(errors="replace")
        assert "python guest: 2 cpus" in text, text[-3000:]
        assert "python guest: 2 cpus" in vm.console()


def test_a_linux_guest_boots_again(tmp_path, host):
    # a second start is a new boot: fresh memory (the tmpfs file is gone), a fresh machine; a
    # disk keeps what the first boot wrote
    files, load = linux_guest.modules("virtio_mmio", "virtio_blk")
    disk = tmp_path / "count.img"
    disk.write_bytes(bytes(1 << 20))
    spec = linux_spec(tmp_path, "py-reboot", load + """
for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
[ -e /tmp/mark ] && echo "stale memory"
touch /tmp/mark
n=$(head -c 1 /dev/vda | od -An -tu1 | tr -d ' ')
n=$((n + 1))
printf "$(printf '\\\\%03o' "$n")" | dd of=/dev/vda bs=1 count=1 conv=notrunc,fsync 2>/dev/null
echo "boot number $n"
""" + linux_guest.init_exit("$n"), files)
    spec.add_disk(str(disk))
    chunks = []
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, spec), start=True, console=chunks.append)
        assert vm.wait(timeout_ms=240000) == 1
        vm.start()
        assert vm.wait(timeout_ms=240000) == 2
        # the callback has both boots; the VM's console ring, the last one
        text = b"".join(chunks).decode(errors="replace")
        assert "boot number 1" in text and "boot number 2" in text, text[-3000:]
        assert "boot number 2" in vm.console() and "boot number 1" not in vm.console()
        assert "stale memory" not in text
        vm.undefine()
    assert disk.read_bytes()[0] == 2


class ChannelLog:
    """What guests write to their channels, per key (a clone's position; None for one VM)."""

    def __init__(self):
        self.data = {}
        self.cond = threading.Condition()

    def add(self, key, chunk):
        with self.cond:
            self.data.setdefault(key, bytearray()).extend(chunk)
            self.cond.notify_all()

    def wait_for(self, key, text, timeout=180):
        with self.cond:
            assert self.cond.wait_for(lambda: text in self.data.get(key, b""), timeout=timeout), \
                (key, text, bytes(self.data.get(key, b""))[-500:])


# The guest of the suspend and clone tests: a read-only disk, a file in its tmpfs, then it
# waits for a word on its channel and answers with what its memory and disk hold.
CHANNEL_GUEST = """
echo "guest up"
for i in $(seq 100); do [ -c /dev/hvc0 ] && [ -b /dev/vda ] && break; sleep 0.1; done
echo "before: $(head -c 9 /dev/vda)" > /tmp/state
exec 3<>/dev/hvc0
stty raw -echo <&3
echo ready >&3
read -r word <&3
echo "$word" >> /tmp/state
echo "answer: $(tr '\\n' ' ' < /tmp/state) disk: $(head -c 9 /dev/vda)" >&3
sleep 1
"""


def channel_spec(tmp_path, name):
    files, load = linux_guest.modules("virtio_mmio", "virtio_blk", "virtio_console")
    disk = tmp_path / "ro.img"
    disk.write_bytes(b"disk-data" + bytes(4096 - 9))
    spec = linux_spec(tmp_path, name, load + CHANNEL_GUEST + linux_guest.init_exit("7"), files)
    spec.add_disk(str(disk), read_only=True)
    return spec


def test_a_linux_guest_suspends_and_resumes(tmp_path, host):
    # suspended while it waits on its channel, resumed twice from the one file: two VMs that
    # each go on from there (no second boot), with their memory, disk, channel and exit status
    log = ChannelLog()
    snap = tmp_path / "linux.snap"
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, channel_spec(tmp_path, "py-susp")), start=True,
                         channel=lambda chunk: log.add("parent", chunk))
        log.wait_for("parent", b"ready\n")
        vm.suspend(str(snap))
        assert vm.state == "defined"
        assert snap.stat().st_mode & 0o777 == 0o600
        resumed, consoles = [], []
        for i in range(2):
            consoles.append([])
            resumed.append(conn.resume_from(snap, name=f"py-susp-{i}",
                                            console=consoles[i].append,
                                            channel=lambda chunk, i=i: log.add(i, chunk)))
        for i, r in enumerate(resumed):
            r.channel_send(b"word-%d\n" % i)
        for i, r in enumerate(resumed):
            log.wait_for(i, b"answer: before: disk-data word-%d  disk: disk-data" % i)
            assert r.wait(timeout_ms=240000) == 7
            text = b"".join(consoles[i]).decode(errors="replace")
            assert "guest up" not in text, text[-2000:]  # it went on; it did not boot again
            assert b"ready" not in log.data[i]
            assert "guest up" in r.console()  # the ring kept the output from before


def test_instant_clones_of_a_linux_guest(tmp_path, host):
    # two instant clones of a guest waiting on its channel each get their own word; the parent,
    # resumed, gets a third: none sees another's (memory is copy-on-write, devices are their own)
    log = ChannelLog()
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, channel_spec(tmp_path, "py-tmpl")), start=True,
                         channel=lambda chunk: log.add("parent", chunk))
        log.wait_for("parent", b"ready\n")
        clones = vm.clone(2, name_pattern="py-tmpl-{index}", channel=log.add)
        assert vm.state == "paused"
        assert [c.clone_identity[1] for c in clones] == [1, 2]
        for i, c in enumerate(clones):
            c.channel_send(b"clone-%d\n" % i)
        vm.resume()
        vm.channel_send(b"parent\n")
        for i, c in enumerate(clones):
            log.wait_for(i, b"answer: before: disk-data clone-%d  disk: disk-data" % i)
            assert c.wait(timeout_ms=240000) == 7
        log.wait_for("parent", b"answer: before: disk-data parent  disk: disk-data")
        assert vm.wait(timeout_ms=240000) == 7
        assert not any(b"ready" in log.data[i] for i in range(2))


def test_a_cold_clone_of_a_linux_guest_boots_afresh(tmp_path, host):
    # a cold clone is a new boot of the parent's kernel, initrd and command line; the parent
    # (defined, never started) is left as it is
    spec = linux_spec(tmp_path, "py-cold", 'echo "cold boot"\n' + linux_guest.init_exit("4"))
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, spec))
        (clone,) = vm.clone(1, mode="cold")
        assert clone.wait(timeout_ms=240000) == 4
        assert "cold boot" in clone.console()
        assert vm.state == "defined"


def test_a_linux_guest_with_a_writable_disk_is_not_cloned(tmp_path, host):
    disk = tmp_path / "rw.img"
    disk.write_bytes(bytes(4096))
    spec = linux_spec(tmp_path, "py-rw", "sleep 600\n")
    spec.add_disk(str(disk))
    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, spec))
        with pytest.raises(Unsupported, match=r"py-rw cannot be cloned: its disks\[0\] .* is "
                                              "writable"):
            vm.clone(1)
        assert vm.state == "defined"


def test_the_channel_from_python(tmp_path, host):
    # the guest says hello on /dev/hvc0 once it is raw and quiet, then echoes 24 KiB back (what
    # its driver has not posted buffers for waits in the engine's queue; the queue's limit is
    # test-engine.c's test_linux_disks)
    data = b"".join(b"line-%05d\n" % i for i in range(2200))  # 24200 bytes
    files, load = linux_guest.modules("virtio_mmio", "virtio_console")
    spec = linux_spec(tmp_path, "py-chan", load + """
for i in $(seq 100); do [ -c /dev/hvc0 ] && break; sleep 0.1; done
exec 3<>/dev/hvc0
stty raw -echo <&3
echo hello >&3
head -c %d <&3 >&3
""" % len(data) + linux_guest.init_exit("0"), files)
    received = bytearray()
    lock = threading.Condition()

    def channel(chunk):
        with lock:
            received.extend(chunk)
            lock.notify_all()

    def wait_for(what, condition):
        with lock:
            assert lock.wait_for(condition, timeout=180), (what, len(received))

    with Connection("kvm:///") as conn:
        vm = conn.create(Plan.create(host, spec), start=True, channel=channel)
        wait_for("hello", lambda: received.startswith(b"hello\n"))
        sent = vm.channel_send(data)
        while sent < len(data):
            echoed = len(received)
            wait_for("more echo", lambda: len(received) > echoed)
            sent += vm.channel_send(data[sent:])
        wait_for("all of it", lambda: len(received) >= 6 + len(data))
        assert vm.wait(timeout_ms=240000) == 0
    assert bytes(received) == b"hello\n" + data
