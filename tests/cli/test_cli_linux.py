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


def cli(*args, timeout=300):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          timeout=timeout, env=env)


def boot(tmp_path, script, spec=None, cmdline=None, files=None, extra=()):
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
    r = boot(tmp_path, "echo about to exit\n" + linux_guest.init_exit("7"), spec=small)
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


def test_a_linux_guest_is_not_suspended_yet(tmp_path):
    small = {"name": "linux-susp", "vcpus": 1, "memory": "128MiB", "page_size": "4k"}
    snapshot = tmp_path / "linux.snap"
    r = boot(tmp_path, "sleep 600\n", spec=small,
             extra=("--suspend-after", "0.2", "--snapshot", snapshot))
    assert r.returncode == 1, r.stderr
    assert "linux-susp is a Linux guest: the built-in engine cannot suspend one yet" in r.stderr
    assert not snapshot.exists()


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
