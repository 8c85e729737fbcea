#!/usr/bin/python3
"""bench/bench-linux.py - a Linux guest of the built-in engine, timed: from
hv_vm_start() to the first line its /init prints (kernel entry plus the
kernel's boot), suspend to a file and resume from it to the guest's first
answer, and instant clones of the booted guest: hv_vm_clone() itself, each
clone's first answer on its own channel after the host speaks to it, and the
host memory (RssAnon of this process) each idle clone adds. Prints the
figures and the machine they came from; not a pass/fail test.

The guest is Debian's kernel (HV_TEST_LINUX_KERNEL, else
/boot/vmlinuz-$(uname -r)) with an initramfs made here (busybox-static, the
virtio console module, tests/pyhelpers/linux_guest.py): /init prints
"init-start" on COM1, says "ready" on its channel (/dev/hvc0), then echoes
each line the host sends it.

usage: bench-linux.py [--clones N] [--vcpus N] [--memory SIZE]
  (run from the source root with PYTHONPATH=<build>/bindings/python; meson:
   `meson test -C build --benchmark bench-linux`; needs /dev/kvm)
Timings inside the KVM test VM (scripts/kvm-vm, nested under emulation) are
not speed figures: run it on hardware KVM for those.
"""
import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from typing import Dict, List

SRC = os.environ.get("HV_TEST_SRCDIR") or os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, os.path.join(SRC, "tests", "pyhelpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hpcvirt  # noqa: E402
from bench_common import machine, rss_anon_kib  # noqa: E402
import linux_guest  # type: ignore[import]  # noqa: E402 (tests/pyhelpers, untyped)

GUEST = linux_guest.INIT_PRELUDE + 'echo "init-start"\n' + """
for i in $(seq 200); do [ -c /dev/hvc0 ] && break; sleep 0.05; done
exec 3<>/dev/hvc0
stty raw -echo <&3
echo ready >&3
while read -r line <&3; do echo "answer $line" >&3; done
"""


class Waiter:
    """Bytes from callbacks, per key, and when each text first arrived."""

    def __init__(self) -> None:
        self.data: Dict[object, bytearray] = {}
        self.cond = threading.Condition()

    def add(self, key: object, chunk: bytes) -> None:
        with self.cond:
            self.data.setdefault(key, bytearray()).extend(chunk)
            self.cond.notify_all()

    def wait(self, key: object, text: bytes, timeout: float = 600) -> float:
        """Seconds until `text` is there (monotonic clock at its arrival)."""
        with self.cond:
            if not self.cond.wait_for(lambda: text in self.data.get(key, b""), timeout=timeout):
                raise SystemExit(f"bench-linux: {key!r} never said {text!r}")
        return time.monotonic()




def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clones", type=int, default=4)
    ap.add_argument("--vcpus", type=int, default=1)
    ap.add_argument("--memory", default="256MiB")
    args = ap.parse_args()
    kernel = linux_guest.kernel() or "/boot/vmlinuz-" + platform.release()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench-linux: skipped: no /dev/kvm here (run it where KVM is, or in scripts/kvm-vm)")
        return 0
    if not os.access(kernel, os.R_OK):
        print(f"bench-linux: skipped: no kernel to boot ({kernel}; set HV_TEST_LINUX_KERNEL)")
        return 0
    files, load = linux_guest.modules("virtio_mmio", "virtio_console")
    root = os.environ.get("HV_TEST_LINUX_HOST_ROOT")
    host = hpcvirt.Host.discover(root=root) if root else hpcvirt.Host.discover()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        initrd = os.path.join(tmp, "initrd.cpio")
        linux_guest.initramfs(initrd, GUEST.replace(
            'echo "init-start"\n', 'echo "init-start"\n' + load), files)
        spec = hpcvirt.VmSpec("bench-linux", args.vcpus, args.memory, page_size="4k",
                              boot={"kernel": kernel, "initrd": initrd,
                                    "cmdline": "console=ttyS0 panic=-1 quiet"})
        w = Waiter()
        with hpcvirt.Connection("kvm:///") as conn:
            vm = conn.create(hpcvirt.Plan.create(host, spec),
                             console=lambda c: w.add("console", c),
                             channel=lambda c: w.add("parent", c))
            t0 = time.monotonic()
            vm.start()
            t_init = w.wait("console", b"init-start")
            t_ready = w.wait("parent", b"ready\n")
            print(f"boot: start to /init's first line {1000 * (t_init - t0):.1f} ms, "
                  f"to its channel {1000 * (t_ready - t0):.1f} ms "
                  f"({args.vcpus} vCPU, {args.memory}, Debian's kernel, quiet)")

            snap = os.path.join(tmp, "linux.snap")
            t0 = time.monotonic()
            vm.suspend(snap, keep_running=True)
            t1 = time.monotonic()
            print(f"suspend: {1000 * (t1 - t0):.1f} ms, file {os.path.getsize(snap) >> 10} KiB "
                  f"({os.stat(snap).st_blocks * 512 >> 10} KiB on disk)")
            t0 = time.monotonic()
            resumed = conn.resume_from(snap, name="bench-linux-resumed",
                                       channel=lambda c: w.add("resumed", c))
            t1 = time.monotonic()
            resumed.channel_send(b"hello\n")
            t2 = w.wait("resumed", b"answer hello")
            print(f"resume: {1000 * (t1 - t0):.1f} ms to a running VM, "
                  f"{1000 * (t2 - t0):.1f} ms to its first answer")
            resumed.destroy()
            resumed.undefine()

            before = rss_anon_kib()
            t0 = time.monotonic()
            clones = vm.clone(args.clones, channel=w.add)
            t1 = time.monotonic()
            after = rss_anon_kib()
            answers: List[float] = []
            for i, c in enumerate(clones):
                t2 = time.monotonic()
                c.channel_send(b"clone %d\n" % i)
                answers.append(w.wait(i, b"answer clone %d" % i) - t2)
            print(f"instant clones: {args.clones} in {1000 * (t1 - t0):.1f} ms "
                  f"({1000 * (t1 - t0) / args.clones:.2f} ms each); a clone's first answer "
                  f"{1000 * min(answers):.1f} ms best, {1000 * max(answers):.1f} ms worst "
                  f"after the host spoke to it")
            print(f"host memory per new clone (RssAnon of this process): "
                  f"{(after - before) / args.clones:.0f} KiB")
            for c in clones:
                c.destroy()
            vm.destroy()
    print("(inside the KVM test VM these are not speed figures: nested KVM under emulation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
