"""Shared by the Python and CLI tests: a private root for libvirt's embedded
QEMU driver (qemu:///embed?root=DIR), whose QEMU processes are killed and
whose files are removed whatever the tests do."""
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import hpcvirt


def skip_reason():
    """Why a real guest cannot run under the embedded driver here, or None."""
    if "libvirt" not in hpcvirt.backends():
        return "hpcvirt was built without libvirt"
    if not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 is not installed (package qemu-system-x86)"
    if os.geteuid() != 0:
        return "libvirt's embedded QEMU driver runs QEMU as root here: run the tests as root"
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        return "libvirt's QEMU driver needs the libvirt-qemu user"
    return None


def kill_qemu(root):
    """Kill every process started under `root` (QEMU's command line names it)."""
    subprocess.run(["pkill", "-KILL", "-f", "--", root], check=False)
    time.sleep(0.2)


@contextlib.contextmanager
def private_root(prefix):
    """A short root under /tmp (QEMU's monitor socket lives under it, and
    socket paths are limited to 108 bytes) with a qemu.conf for running QEMU
    as root without a security driver."""
    root = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "qemu.conf"), "w", encoding="utf-8") as f:
            f.write('stdio_handler = "file"\nuser = "root"\ngroup = "root"\n'
                    'security_driver = "none"\n')
        yield root
    finally:
        kill_qemu(root)
        shutil.rmtree(root, ignore_errors=True)
