#!/usr/bin/python3
"""bench/bench-container.py - containers of the built-in engine, timed
(hpcvirt.Container): a busybox image (made with umoci) run cold (the VM
boots) and warm (resumed from the image's template), from start() to the
first byte of the command's output, and the host memory (RssAnon of this
process) each idle warm container adds. Prints the figures and the machine
they came from; not a pass/fail test.

The first cold run also makes the image's root disk and the initramfs in a
fresh cache (timed apart, as "first create"); the first warm run makes the
template (timed apart). The kernel is Debian's (HV_TEST_LINUX_KERNEL and
HV_TEST_LINUX_MODULES, else this machine's).

usage: bench-container.py [--runs N] [--idle N] [--memory SIZE]
  (PYTHONPATH=<build>/bindings/python; meson: `meson test -C build
   --benchmark bench-container`; needs /dev/kvm, umoci and the built
   hpcvirt-container-init, HV_TEST_CONTAINER_INIT or <build>/guest/...)
Timings inside the KVM test VM (scripts/kvm-vm, nested under emulation) are
not speed figures: run it on hardware KVM for those.
"""
import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

SRC = os.environ.get("HV_TEST_SRCDIR") or os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, os.path.join(SRC, "tests", "pyhelpers"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hpcvirt  # noqa: E402
from bench_common import machine, rss_anon_kib  # noqa: E402
import linux_guest  # type: ignore[import]  # noqa: E402 (tests/pyhelpers, untyped)
import oci_layout  # type: ignore[import]  # noqa: E402 (tests/pyhelpers, untyped)
from hpcvirt.container import STDOUT  # noqa: E402


class FirstByte:
    """When each container's first output byte came (monotonic clock)."""

    def __init__(self) -> None:
        self.first: Dict[int, float] = {}
        self.cond = threading.Condition()

    def callback(self, key: int) -> Any:
        def add(stream: int, chunk: bytes) -> None:
            with self.cond:
                if stream == STDOUT and chunk and key not in self.first:
                    self.first[key] = time.monotonic()
                    self.cond.notify_all()
        return add

    def wait(self, key: int, timeout: float = 600) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: key in self.first, timeout=timeout):
                raise SystemExit(f"bench-container: container {key} printed nothing")
            return self.first[key]




def init_program() -> Optional[str]:
    path = os.environ.get("HV_TEST_CONTAINER_INIT")
    if not path:
        build = os.path.dirname(os.path.dirname(os.path.abspath(hpcvirt.__file__)))
        path = os.path.join(build, "..", "..", "guest", "container-init", "hpcvirt-container-init")
    return path if os.access(path, os.X_OK) else None


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="cold and warm starts timed (each)")
    ap.add_argument("--idle", type=int, default=4, help="idle warm containers for the memory")
    ap.add_argument("--memory", default="256MiB")
    args = ap.parse_args()
    kernel = linux_guest.kernel() or "/boot/vmlinuz-" + platform.release()
    modules = linux_guest.modules_dir()
    init = init_program()
    for missing, why in ((not os.access("/dev/kvm", os.R_OK | os.W_OK), "no /dev/kvm here"),
                         (not os.access(kernel, os.R_OK), f"no kernel to boot ({kernel})"),
                         (init is None, "no hpcvirt-container-init (HV_TEST_CONTAINER_INIT)"),
                         (shutil.which("umoci") is None, "no umoci to make the image")):
        if missing:
            print(f"bench-container: skipped: {why}")
            return 0
    root = os.environ.get("HV_TEST_LINUX_HOST_ROOT")
    host = hpcvirt.Host.discover(root=root) if root else hpcvirt.Host.discover()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        image = oci_layout.busybox_layout(os.path.join(tmp, "busybox"))
        cache = os.path.join(tmp, "cache")
        out = FirstByte()
        spec = hpcvirt.VmSpec("bench", 1, args.memory, page_size="4k")

        def make(key: int, warm: bool, command: List[str]) -> hpcvirt.Container:
            return hpcvirt.Container(conn, image, tag="latest", kernel=kernel, modules=modules,
                                     init=init, cache=cache, host=host, spec=spec, warm=warm,
                                     args=command, output=out.callback(key))

        with hpcvirt.Connection("kvm:///") as conn:
            t0 = time.monotonic()
            c = make(0, False, ["echo", "first"])
            print(f"first create (the root disk and initramfs made): {ms(time.monotonic() - t0)}")
            c.start()
            c.wait()
            c.close()
            key = 1
            for warm in (False, True):
                if warm:  # the template, made once
                    t0 = time.monotonic()
                    c = make(key, True, ["echo", "template"])
                    c.start()
                    c.wait()
                    c.close()
                    key += 1
                    print(f"warm: the first start (the template made, then resumed): "
                          f"{ms(time.monotonic() - t0)}")
                create: List[float] = []
                first: List[float] = []
                for _ in range(args.runs):
                    t0 = time.monotonic()
                    c = make(key, warm, ["echo", "hello"])
                    t1 = time.monotonic()
                    c.start()
                    first.append(out.wait(key) - t1)
                    create.append(t1 - t0)
                    c.wait()
                    c.close()
                    key += 1
                print(f"{'warm' if warm else 'cold'}: start to the first byte of output "
                      f"{ms(statistics.median(first))} median ({ms(min(first))} best, "
                      f"{args.runs} runs); create {ms(statistics.median(create))}")
            # idle warm containers: what each adds to this process beyond its guest's memory
            before = rss_anon_kib()
            idle = []
            for _ in range(args.idle):
                c = make(key, True, ["sh", "-c", "echo up; sleep 600"])
                c.start()
                out.wait(key)
                idle.append(c)
                key += 1
            after = rss_anon_kib()
            print(f"host memory per idle warm container (RssAnon of this process, {args.idle} "
                  f"running 'sleep'; the pages each guest wrote since its template included): "
                  f"{(after - before) / args.idle:.0f} KiB")
            for c in idle:
                c.kill()
                c.close()
    print("(inside the KVM test VM these are not speed figures: nested KVM under emulation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
