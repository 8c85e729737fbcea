"""Linux guests of the built-in engine from the command line (issue 15):
`hpcvirt run --kernel FILE --initrd FILE` boots the Debian kernel
scripts/kvm-vm boots itself, with an initramfs made here (busybox-static and
an init script, tests/pyhelpers/linux_guest.py). The guest prints what it
sees; the test compares it with the plan. They run where /dev/kvm is (in
CI: inside scripts/kvm-vm), and skip where there is no kernel to boot."""
import json
import os
import subprocess

import pytest

import hv_pytest_plugin
import linux_guest

CLI = os.environ["HPCVIRT_CLI"]
KERNEL = linux_guest.kernel()
# scripts/lib/kvm-linux-suites says why the test VM plans on a captured host
HOST = (("--host-root", os.environ["HV_TEST_LINUX_HOST_ROOT"])
        if os.environ.get("HV_TEST_LINUX_HOST_ROOT") else ())

pytestmark = [*hv_pytest_plugin.needs_kvm("hello").marks,
              pytest.mark.skipif(KERNEL is None, reason="no kernel to boot (HV_TEST_LINUX_KERNEL)")]

# Two vCPUs on two vNUMA nodes: the guest must see the plan's nodes, CPUs, memory, distances.
TWO_NODES = {"name": "linux-numa", "vcpus": 2, "memory": "512MiB", "page_size": "4k",
             "vnuma": [{"vcpus": 1, "memory": "256MiB"}, {"vcpus": 1, "memory": "256MiB"}]}


def cli(*args, timeout=240):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    try:
        return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        # what the guest printed last says where it stopped (a boot takes 15-30 s in the test VM)
        def tail(data):
            text = data.decode(errors="replace") if isinstance(data, bytes) else data or ""
            return text[-4000:]
        pytest.fail("hpcvirt %s ran past %d s; its console ended with:\n%s\nstderr:\n%s"
                    % (args[0], timeout, tail(e.stdout), tail(e.stderr)))


# What most tests boot with: the default command line and `quiet`. The kernel's ~20 KiB
# of boot messages cost the test VM ~11 s a boot (each byte a port exit of a nested
# guest); test_the_guest_ends_the_vm_with_its_status keeps the engine's default.
QUIET = "console=ttyS0 panic=-1 quiet"


def boot(tmp_path, script, spec=None, cmdline=QUIET, files=None, extra=()):
    initrd = tmp_path / "initrd.cpio"
    linux_guest.initramfs(initrd, linux_guest.INIT_PRELUDE + script, files)
    args = ["run", "--kernel", KERNEL, "--initrd", initrd, *HOST, *extra]
    if spec is not None:
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(spec))
        args += ["--spec", path]
    if cmdline is not None:
        args += ["--cmdline", cmdline]
    return cli(*args)


def test_the_guest_sees_the_plans_vnuma(tmp_path):
    r = boot(tmp_path, """
for n in /sys/devices/system/node/node*; do
  echo "NODE ${n##*node} cpus $(cat $n/cpulist) distance $(cat $n/distance)"
  echo "NODE ${n##*node} kib $(sed -n 's/.*MemTotal: *\\([0-9]*\\) kB/\\1/p' $n/meminfo)"
done
echo "NPROC $(nproc)"
""" + linux_guest.init_exit("0"), spec=TWO_NODES)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    spec_path = tmp_path / "spec.json"
    plan = json.loads(cli("plan", spec_path, "--json", *HOST).stdout)
    lines = [line.split() for line in r.stdout.splitlines() if line.startswith(("NODE", "NPROC"))]
    assert ["NPROC", "2"] in lines
    for node, row in enumerate(plan["vnuma"]["distances"]):
        assert ["NODE", str(node), "cpus", str(node), "distance", *map(str, row)] in lines, lines
    for line in lines:
        if line[0] == "NODE" and line[2] == "kib":
            # the node's 256 MiB less what the kernel keeps (its image, struct pages)
            assert 128 * 1024 < int(line[3]) <= 256 * 1024, line


def test_ram_past_the_32bit_hole(tmp_path):
    # 4 GiB on 2 nodes: node 1 is [2 GiB, 3 GiB) and [4 GiB, 5 GiB), around the devices' hole
    spec = {"name": "linux-4g", "vcpus": 2, "memory": "4GiB", "page_size": "4k",
            "vnuma": [{"vcpus": 1, "memory": "2GiB"}, {"vcpus": 1, "memory": "2GiB"}]}
    r = boot(tmp_path, """
for n in /sys/devices/system/node/node*; do
  echo "NODE ${n##*node} kib $(sed -n 's/.*MemTotal: *\\([0-9]*\\) kB/\\1/p' $n/meminfo)"
done
echo "TOTAL $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo)"
grep -i "system ram" /proc/iomem | sed 's/^/IOMEM /'
""" + linux_guest.init_exit("0"), spec=spec)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    lines = [line.split() for line in r.stdout.splitlines() if line.startswith(("NODE", "TOTAL"))]
    kib = {int(line[1]): int(line[3]) for line in lines if line[0] == "NODE"}
    # each node's 2 GiB less what the kernel keeps (its image, struct pages)
    assert sorted(kib) == [0, 1] and all(1600 * 1024 < v <= 2048 * 1024 for v in kib.values()), lines
    total = [int(line[1]) for line in lines if line[0] == "TOTAL"]
    assert total and total[0] > 3600 * 1024, lines
    iomem = [line for line in r.stdout.splitlines() if line.startswith("IOMEM")]
    assert any(line.split()[1].startswith("100000000-") for line in iomem), iomem


def test_the_guest_sees_the_plans_cpu_topology(tmp_path):
    # cores, not SMT threads: an AMD vCPU without TOPOEXT (the test VM's) has no way to
    # tell Linux of threads; docs/linux-guest.md, "CPUID"
    spec = {"name": "linux-cores", "vcpus": 2, "memory": "256MiB", "page_size": "4k",
            "cores_per_socket": 2}
    r = boot(tmp_path, """
for c in /sys/devices/system/cpu/cpu[0-9]*; do
  t=$c/topology
  echo "CPU ${c##*cpu} package $(cat $t/physical_package_id) core $(cat $t/core_id) siblings $(cat $t/thread_siblings_list)"
done
""" + linux_guest.init_exit("0"), spec=spec)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    cpus = sorted(line.split() for line in r.stdout.splitlines() if line.startswith("CPU "))
    # one socket of two cores, one thread each: the plan's 1 x 2 x 1
    assert cpus == [["CPU", "0", "package", "0", "core", "0", "siblings", "0"],
                    ["CPU", "1", "package", "0", "core", "1", "siblings", "1"]], r.stdout[-3000:]


def test_the_guest_ends_the_vm_with_its_status(tmp_path):
    small = {"name": "linux-exit", "vcpus": 1, "memory": "128MiB", "page_size": "4k"}
    r = boot(tmp_path, "echo about to exit\n" + linux_guest.init_exit("7"), spec=small,
             cmdline=None)
    assert r.returncode == 3, r.stderr + r.stdout[-3000:]
    assert "about to exit" in r.stdout
    assert "linux-exit exited with code 7" in r.stderr


def test_poweroff_ends_the_vm_and_a_reset_is_a_crash(tmp_path):
    small = {"name": "linux-off", "vcpus": 1, "memory": "128MiB", "page_size": "4k"}
    r = boot(tmp_path, "poweroff -f\n", spec=small)
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    assert "linux-off exited with code 0" in r.stderr
    (tmp_path / "reset").mkdir()
    small["name"] = "linux-reset"
    r = boot(tmp_path / "reset", "reboot -f\n", spec=small)
    assert r.returncode == 1, r.stderr + r.stdout[-3000:]
    assert "the guest reset the machine" in r.stderr


def test_the_guest_reads_and_writes_its_disks(tmp_path):
    # vda and vdb from the spec (a serial; a size: the engine makes it), vdc from --disk ...,ro:
    # an ext2 file system (mke2fs -d) the guest mounts and reads
    # ext4 (which mounts ext2) asks the crypto API for crc32c: loaded first, there being no
    # modprobe in the initramfs to load it on demand
    files, load = linux_guest.modules("virtio_mmio", "virtio_blk", "crc32c_generic", "ext4")
    data, made, fs = tmp_path / "data.img", tmp_path / "made.img", tmp_path / "fs.img"
    data.write_bytes(b"HPCVIRT-DATA-0\n".ljust(1 << 20, b"\0"))
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "hello.txt").write_text("hello from a file system\n")
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", tmp_path / "fs",
                    fs, "1M"], check=True)
    fs_bytes = fs.read_bytes()
    spec = {"name": "linux-disks", "vcpus": 1, "memory": "128MiB", "page_size": "4k",
            "disks": [{"path": str(data), "serial": "hpcvirt-data"},
                      {"path": str(made), "size": "16MiB"}]}
    r = boot(tmp_path, load + """
for i in $(seq 100); do [ -b /dev/vdc ] && break; sleep 0.1; done
for d in vda vdb vdc; do
  echo "DISK $d ro $(cat /sys/block/$d/ro) sectors $(cat /sys/block/$d/size) serial $(cat /sys/block/$d/serial)"
done
echo "READ $(head -c 15 /dev/vda)"
mkdir -p /mnt && mount -t ext2 -o ro /dev/vdc /mnt && echo "FILE $(cat /mnt/hello.txt)"
umount /mnt
echo written-by-the-guest | dd of=/dev/vda bs=512 seek=8 conv=fsync 2>/dev/null && echo "WROTE vda"
echo made-by-the-engine | dd of=/dev/vdb bs=512 seek=1 conv=fsync 2>/dev/null && echo "WROTE vdb"
dd if=/dev/zero of=/dev/vdc bs=512 count=1 conv=fsync 2>/dev/null && echo "WROTE vdc"
""" + linux_guest.init_exit("0"), spec=spec, files=files, extra=("--disk", f"{fs},ro"))
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    lines = [line.split() for line in r.stdout.splitlines()
             if line.startswith(("DISK", "READ", "FILE", "WROTE"))]
    assert ["DISK", "vda", "ro", "0", "sectors", "2048", "serial", "hpcvirt-data"] in lines, lines
    assert ["DISK", "vdb", "ro", "0", "sectors", "32768", "serial"] in lines, lines
    assert ["DISK", "vdc", "ro", "1", "sectors", "2048", "serial"] in lines, lines
    assert ["READ", "HPCVIRT-DATA-0"] in lines, lines
    assert ["FILE", "hello", "from", "a", "file", "system"] in lines, r.stdout[-3000:]
    assert ["WROTE", "vda"] in lines and ["WROTE", "vdb"] in lines, lines
    assert ["WROTE", "vdc"] not in lines, lines  # the read-only disk refuses writes
    assert data.read_bytes()[4096:4096 + 21] == b"written-by-the-guest\n"
    assert made.stat().st_size == 16 << 20
    assert made.read_bytes()[512:512 + 19] == b"made-by-the-engine\n"
    assert fs.read_bytes() == fs_bytes


# The guest's end of the channel: /dev/hvc0 made raw and quiet (a tty would echo what the
# host sends), kept open on fd 3; then its hello, which tells the host it listens.
CHANNEL_OPEN = """
for i in $(seq 100); do [ -c /dev/hvc0 ] && break; sleep 0.1; done
exec 3<>/dev/hvc0
stty raw -echo <&3
echo hello-from-the-guest >&3
"""


def test_the_channel_carries_messages_both_ways(tmp_path):
    files, load = linux_guest.modules("virtio_mmio", "virtio_console")
    message = tmp_path / "in.txt"
    message.write_bytes(b"ping-from-the-host\n")
    out = tmp_path / "out.txt"
    small = {"name": "linux-chan", "vcpus": 1, "memory": "128MiB", "page_size": "4k"}
    r = boot(tmp_path, load + CHANNEL_OPEN + """
read -r line <&3
echo "got:$line" >&3
echo "CONSOLE got:$line"
""" + linux_guest.init_exit("0"), spec=small, files=files,
             extra=("--channel-in", message, "--channel-out", out))
    assert r.returncode == 0, r.stderr + r.stdout[-3000:]
    assert "CONSOLE got:ping-from-the-host" in r.stdout, r.stdout[-3000:]
    assert out.read_bytes() == b"hello-from-the-guest\ngot:ping-from-the-host\n"
    # a payload has no channel
    r = cli("run", os.environ["HV_TEST_GUEST_DIR"] + "/hello.elf", "--channel-out", out, *HOST)
    assert r.returncode == 64 and "go with --kernel" in r.stderr, r.stderr


def test_disks_the_engine_cannot_give_are_refused_before_anything_runs(tmp_path):
    img = tmp_path / "img.qcow2"
    img.write_bytes(b"QFI\xfb\0\0\0\x03".ljust(4096, b"\0"))
    spec = {"name": "linux-qcow2", "vcpus": 1, "memory": "128MiB", "page_size": "4k",
            "disks": [{"path": str(img), "format": "qcow2"}]}
    r = boot(tmp_path, "poweroff -f\n", spec=spec)
    assert r.returncode == 1, r.stderr
    assert "disks[0]" in r.stderr and "raw images only" in r.stderr, r.stderr
    spec = {"name": "linux-missing", "vcpus": 1, "memory": "128MiB", "page_size": "4k",
            "disks": [{"path": str(tmp_path / "missing.img")}]}
    r = boot(tmp_path, "poweroff -f\n", spec=spec)
    assert r.returncode == 1 and "give the disk a size to create it" in r.stderr, r.stderr
    # a payload has no disk driver
    r = cli("run", os.environ["HV_TEST_GUEST_DIR"] + "/hello.elf", "--memory", "64MiB",
            "--disk", str(tmp_path / "img.qcow2"), *HOST)
    assert r.returncode == 1 and "no disk driver" in r.stderr, r.stderr


def test_a_kernel_panic_is_reported_with_its_words(tmp_path):
    # /init ends: the kernel panics ("Attempted to kill init!"), and panic=-1 resets at once
    small = {"name": "linux-panic", "vcpus": 1, "memory": "128MiB", "page_size": "4k"}
    r = boot(tmp_path, "echo about to panic\nexit 3\n", spec=small)
    assert r.returncode == 1, r.stderr + r.stdout[-3000:]
    assert "about to panic" in r.stdout
    assert ("the guest's kernel panicked (Kernel panic - not syncing: Attempted to kill init! "
            "exitcode=0x00000300) and reset the machine (panic=-1)") in r.stderr, r.stderr


def test_a_counting_guest_suspended_goes_on_in_another_process(tmp_path):
    # a loop printing a counter, suspended 20 s into the run (a boot takes 15-30 s in the test
    # VM, so mid-loop or mid-boot: interrupts, timers, the PIT and APIC timer in flight), then
    # `hpcvirt resume FILE`, a new process, goes on: every count once, in order, no restart
    small = {"name": "linux-susp", "vcpus": 2, "memory": "256MiB", "page_size": "4k"}
    snapshot = tmp_path / "linux.snap"
    r = boot(tmp_path, 'echo "booted with $(nproc) cpus"\n'
             'for i in $(seq 40); do echo "count $i"; sleep 0.25; done\n' +
             linux_guest.init_exit("9"), spec=small,
             extra=("--suspend-after", "20", "--snapshot", snapshot))
    assert r.returncode == 0, r.stderr
    assert snapshot.stat().st_size > 0
    first = r.stdout
    r = cli("resume", snapshot, "--timeout", "200")
    assert r.returncode == 3, r.stderr + r.stdout[-3000:]
    assert "linux-susp exited with code 9" in r.stderr
    both = first + r.stdout
    counts = [int(line.split()[1]) for line in both.splitlines() if line.startswith("count ")]
    assert counts == list(range(1, 41)), both[-3000:]
    assert both.count("booted with 2 cpus") == 1, both[-3000:]


def test_files_that_do_not_boot_are_refused_before_anything_runs(tmp_path):
    initrd = tmp_path / "initrd.cpio"
    linux_guest.initramfs(initrd, linux_guest.INIT_PRELUDE + "poweroff -f\n")
    not_a_kernel = tmp_path / "vmlinuz-text"
    not_a_kernel.write_text("this is no kernel at all\n" * 100)
    r = cli("run", "--kernel", not_a_kernel, "--memory", "128MiB", *HOST)
    assert r.returncode == 1, r.stderr
    assert str(not_a_kernel) in r.stderr and "[HV_E_PARSE]" in r.stderr, r.stderr
    # a bzImage of boot protocol 2.10: too old for a 64-bit entry
    with open(KERNEL, "rb") as f:
        old = bytearray(f.read())
    old[0x206:0x208] = (0x020A).to_bytes(2, "little")
    old_kernel = tmp_path / "vmlinuz-old"
    old_kernel.write_bytes(bytes(old))
    r = cli("run", "--kernel", old_kernel, "--initrd", initrd, "--memory", "128MiB", *HOST)
    assert r.returncode == 1, r.stderr
    assert "2.10" in r.stderr, r.stderr
    # an initrd larger than the guest's RAM
    big = tmp_path / "big.img"
    with open(big, "wb") as f:
        f.truncate(200 << 20)
    r = cli("run", "--kernel", KERNEL, "--initrd", big, "--memory", "128MiB", *HOST)
    assert r.returncode == 1, r.stderr
    assert "initrd" in r.stderr, r.stderr
