"""Linux guests for the tests: a tiny initramfs made here (busybox-static and
an init script, written as a newc cpio archive by this module, so no root
and no cpio tool are needed: /dev/console is a device node in the archive),
and the kernel to boot (HV_TEST_LINUX_KERNEL, which scripts/kvm-vm sets to
the Debian kernel it boots itself, else this machine's /boot/vmlinuz)."""
import os
import stat

BUSYBOX = "/bin/busybox"


def kernel():
    """The kernel file the tests boot, or None."""
    path = os.environ.get("HV_TEST_LINUX_KERNEL")
    if not path:
        path = "/boot/vmlinuz-" + os.uname().release
    return path if os.access(path, os.R_OK) else None


def _entry(ino, name, mode, data=b"", rdev=(0, 0)):
    name_bytes = name.encode() + b"\0"
    header = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0))
    out = header.encode() + name_bytes
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def initramfs(path, init_script, files=None):
    """Write a newc cpio archive to `path`: /init (the shell script
    `init_script`, run by busybox sh), /bin/busybox, /dev/console and the
    usual empty folders; `files` maps more archive paths to bytes."""
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    entries = [("dev", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
               ("bin", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("bin/busybox", stat.S_IFREG | 0o755, busybox, (0, 0)),
               ("bin/sh", stat.S_IFLNK | 0o777, b"busybox", (0, 0)),
               ("proc", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("sys", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("tmp", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("init", stat.S_IFREG | 0o755, ("#!/bin/sh\n" + init_script).encode(), (0, 0))]
    for name, data in (files or {}).items():
        entries.append((name, stat.S_IFREG | 0o644, data, (0, 0)))
    with open(path, "wb") as f:
        for ino, (name, mode, data, rdev) in enumerate(entries, start=1):
            f.write(_entry(ino, name, mode, data, rdev))
        f.write(_entry(0, "TRAILER!!!", 0))


# The start of every test init: busybox's applets, /proc, /sys, /dev.
INIT_PRELUDE = """\
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
"""

# The end: the guest's status to the engine's exit port (0xF0) through /dev/port.
def init_exit(code_expr="$?"):
    return ('code=%s\nprintf "$(printf \'\\\\%%03o\' "$code")" | '
            'dd of=/dev/port bs=1 seek=240 count=1 conv=notrunc\npoweroff -f\n' % code_expr)
