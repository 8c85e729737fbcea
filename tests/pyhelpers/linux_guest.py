"""Linux guests for the tests: a tiny initramfs made here (busybox-static and
an init script, written as a newc cpio archive by this module, so no root
and no cpio tool are needed: /dev/console is a device node in the archive),
the kernel to boot (HV_TEST_LINUX_KERNEL, which scripts/kvm-vm sets to the
Debian kernel it boots itself, else this machine's /boot/vmlinuz) and its
modules for the initramfs (HV_TEST_LINUX_MODULES, scripts/kvm-vm's too, else
this machine's /lib/modules)."""
import os
import stat

BUSYBOX = "/bin/busybox"


def kernel():
    """The kernel file the tests boot, or None."""
    path = os.environ.get("HV_TEST_LINUX_KERNEL")
    if not path:
        path = "/boot/vmlinuz-" + os.uname().release
    return path if os.access(path, os.R_OK) else None


def modules_dir():
    """The kernel's modules folder (with modules.dep), or None."""
    path = os.environ.get("HV_TEST_LINUX_MODULES") or "/lib/modules/" + os.uname().release
    return path if os.path.isfile(os.path.join(path, "modules.dep")) else None


def modules(*names):
    """The kernel modules `names` ("virtio_blk") and what they depend on
    (modules.dep), built-in ones left out: (files for initramfs(), the init
    script's lines that load them in order)."""
    folder = modules_dir()
    if folder is None:
        raise FileNotFoundError("no kernel modules (HV_TEST_LINUX_MODULES)")
    deps = {}
    with open(os.path.join(folder, "modules.dep")) as f:
        for line in f:
            module, _, rest = line.partition(":")
            deps[module.strip()] = rest.split()
    builtin = set()
    if os.path.exists(os.path.join(folder, "modules.builtin")):
        with open(os.path.join(folder, "modules.builtin")) as f:
            builtin = {line.strip() for line in f}

    def short(path):
        return os.path.basename(path).split(".ko")[0].replace("-", "_")

    by_name = {short(m): m for m in deps}
    order = []

    def add(module):
        if module in order:
            return
        for dep in deps[module]:
            add(dep)
        order.append(module)

    for name in names:
        if name in by_name:
            add(by_name[name])
        elif not any(short(b) == name for b in builtin):
            raise FileNotFoundError("no kernel module %s in %s" % (name, folder))
    files, lines = {}, ""
    for module in order:
        if not module.endswith(".ko"):
            raise ValueError("%s is compressed: busybox insmod loads plain .ko files" % module)
        with open(os.path.join(folder, module), "rb") as f:
            files["lib/modules/" + os.path.basename(module)] = f.read()
        lines += "insmod /lib/modules/%s\n" % os.path.basename(module)
    return files, lines


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
               ("lib", stat.S_IFDIR | 0o755, b"", (0, 0)),
               ("lib/modules", stat.S_IFDIR | 0o755, b"", (0, 0)),
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
