"""`hpcvirt run PAYLOAD`: the built-in engine from the command line - console
on stdout, exit status 0 / 3 (the guest's non-zero code) / 1 (crash,
timeout), usage errors 64; `run --kernel FILE [--initrd FILE] [--cmdline STR]
[--disk FILE[,ro]]`: the spec's boot source and disks. The runs are skipped
where there is no /dev/kvm; the usage checks run everywhere."""
import json
import os
import subprocess

import pytest

import hv_pytest_plugin

CLI = os.environ["HPCVIRT_CLI"]
GUEST = os.environ.get("HV_TEST_GUEST_DIR", "")

needs_kvm = hv_pytest_plugin.needs_kvm("hello")


def run(*args, timeout=120):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    return subprocess.run([CLI, "run", *map(str, args)], capture_output=True, text=True,
                          check=False, timeout=timeout, env=env)


def payload(name):
    return os.path.join(GUEST, name + ".elf")


@needs_kvm
def test_hello():
    r = run(payload("hello"), "--stats")
    assert r.returncode == 0, r.stderr
    assert "hello from the hpcvirt guest: 1 vCPUs, 1 vNUMA nodes, 64 MiB" in r.stdout
    assert "hello exited with code 0" in r.stderr
    assert "statistics: exits=" in r.stderr and "exits_io=" in r.stderr


@needs_kvm
def test_vcpus_memory_and_spec(tmp_path):
    r = run(payload("hello"), "--vcpus", "2", "--memory", "128MiB")
    assert r.returncode == 0, r.stderr
    assert "2 vCPUs, 1 vNUMA nodes, 128 MiB" in r.stdout
    spec = tmp_path / "spec.json"
    spec.write_text('{"name": "two-nodes", "vcpus": 2, "memory": "128MiB", "page_size": "4k",'
                    ' "vnuma": [{"vcpus": 1, "memory": "64MiB"}, {"vcpus": 1, "memory": "64MiB"}]}')
    r = run(payload("hello"), "--spec", spec)
    assert r.returncode == 0, r.stderr
    assert "2 vCPUs, 2 vNUMA nodes" in r.stdout
    assert "two-nodes exited with code 0" in r.stderr


@needs_kvm
def test_exit_codes():
    r = run(payload("exit-code"))
    assert r.returncode == 3
    assert "exited with code 42" in r.stderr
    r = run(payload("bad-port"))
    assert r.returncode == 1
    assert "OUT to port 0x60" in r.stderr and "[HV_E_GUEST]" in r.stderr
    r = run(payload("endless-loop"), "--timeout", "1")
    assert r.returncode == 1
    assert "spinning" in r.stdout
    assert "[HV_E_TIMEOUT]" in r.stderr


@needs_kvm
def test_failures_before_the_guest(tmp_path):
    r = run("/nonexistent/payload.elf")
    assert r.returncode == 1 and "/nonexistent/payload.elf" in r.stderr
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF but not really")
    r = run(bad)
    assert r.returncode == 1 and "[HV_E_PARSE]" in r.stderr
    spec = tmp_path / "nic.json"
    spec.write_text('{"name": "nic", "vcpus": 1, "memory": "64MiB",'
                    ' "nics": [{"model": "virtio-net", "queues": 1}]}')
    r = run(payload("hello"), "--spec", spec)
    assert r.returncode == 1 and "libvirt" in r.stderr and "[HV_E_UNSUPPORTED]" in r.stderr


def test_usage_errors():
    assert run().returncode == 64
    assert run("a.elf", "b.elf").returncode == 64
    assert run("a.elf", "--bogus").returncode == 64
    assert run("a.elf", "--vcpus", "zero").returncode == 64
    assert run("a.elf", "--vcpus", "0").returncode == 64
    assert run("a.elf", "--memory", "lots").returncode == 64
    assert run("a.elf", "--timeout", "-1").returncode == 64
    assert run("a.elf", "--spec", "x.json", "--vcpus", "2").returncode == 64
    assert run("a.elf", "--timeout").returncode == 64
    r = run("--help")
    assert r.returncode == 0 and "PAYLOAD" in r.stdout


def test_connection_failures_name_the_uri():
    # as every command that connects says it
    r = run("a.elf", "--uri", "nosuch:///")
    assert r.returncode == 1
    assert r.stderr.startswith("hpcvirt: error: connecting to nosuch:///: ")
    assert r.stderr.rstrip().endswith("[HV_E_NOTFOUND]")


def test_no_kvm_device_says_what_to_use(tmp_path):
    env = dict(os.environ, HPCVIRT_KVM_DEVICE="/nonexistent/kvm")
    env.pop("HPCVIRT_DEFAULT_URI", None)
    r = subprocess.run([CLI, "run", "whatever.elf"], capture_output=True, text=True, check=False,
                       env=env)
    assert r.returncode == 1
    assert "[HV_E_NOKVM]" in r.stderr
    # the libvirt backend runs no payloads: what `run` needs is KVM itself
    assert "guest payloads (hpcvirt run) run on nothing else" in r.stderr
    assert "load kvm_intel or kvm_amd" in r.stderr


# ---- --kernel: a Linux kernel booted directly (the spec's boot source) -----------------
# Until the built-in engine boots Linux it refuses such a VM with its own error: these check
# what the command line becomes, up to the engine.


@pytest.fixture
def kernel_files(tmp_path):
    (tmp_path / "vmlinuz-6.1").write_bytes(b"MZ not a real kernel")
    (tmp_path / "initrd.img").write_bytes(b"070701")
    (tmp_path / "root.img").write_bytes(bytes(4096))
    (tmp_path / "data.img").write_bytes(bytes(4096))
    return tmp_path


def test_kernel_usage_errors(kernel_files):
    k = kernel_files / "vmlinuz-6.1"
    r = run("a.elf", "--kernel", k)
    assert r.returncode == 64 and "pick one" in r.stderr
    r = run("--initrd", kernel_files / "initrd.img")
    assert r.returncode == 64 and "go with --kernel" in r.stderr
    r = run("--cmdline", "quiet", "a.elf")
    assert r.returncode == 64 and "go with --kernel" in r.stderr
    r = run("--kernel", k, "--cmdline", "x" * 4096)
    assert r.returncode == 64 and "--cmdline" in r.stderr and "at most 4095" in r.stderr
    r = run("--kernel", k, "--cmdline", "a\nb")
    assert r.returncode == 64 and "--cmdline" in r.stderr
    assert run("--kernel").returncode == 64
    assert run("--kernel", k, "--disk").returncode == 64
    r = run("--disk", kernel_files / "root.img")
    assert r.returncode == 64 and "or --kernel FILE" in r.stderr
    # a Linux guest's channel: not a payload's; --channel-in not with suspend or migration
    r = run("a.elf", "--channel-out", kernel_files / "out.txt")
    assert r.returncode == 64 and "go with --kernel" in r.stderr
    r = run("--kernel", k, "--channel-in", kernel_files / "root.img", "--suspend-after", "1",
            "--snapshot", kernel_files / "s.snap")
    assert r.returncode == 64 and "--channel-in excludes" in r.stderr
    assert run("--kernel", k, "--channel-in").returncode == 64
    r = run("--kernel", k, "--channel-in", kernel_files / "missing.txt")
    assert r.returncode == 1 and "--channel-in" in r.stderr and "[HV_E_NOTFOUND]" in r.stderr
    assert not (kernel_files / "out.txt").exists()


def test_kernel_files_must_be_there(kernel_files, monkeypatch):
    k = kernel_files / "vmlinuz-6.1"
    r = run("--kernel", kernel_files / "missing")
    assert r.returncode == 1
    assert r.stderr == (f"hpcvirt: error: run: --kernel {kernel_files / 'missing'}: "
                        "No such file or directory [HV_E_NOTFOUND]\n")
    r = run("--kernel", kernel_files)
    assert r.returncode == 1 and "not a regular file" in r.stderr
    r = run("--kernel", k, "--initrd", kernel_files / "no-initrd.img")
    assert r.returncode == 1 and "--initrd" in r.stderr and "[HV_E_NOTFOUND]" in r.stderr
    r = run("--kernel", k, "--disk", str(kernel_files / "no-root.img") + ",ro")
    assert r.returncode == 1 and "--disk" in r.stderr and "no-root.img:" in r.stderr
    assert ",ro" not in r.stderr  # the suffix is not part of the file's name
    # relative names are taken from the current directory
    monkeypatch.chdir(kernel_files)
    r = run("--kernel", "vmlinuz-6.1", "--initrd", "initrd.img", "--disk", "root.img,ro",
            "--uri", "nosuch:///")
    assert r.returncode == 1 and r.stderr.startswith("hpcvirt: error: connecting to nosuch:///")


def test_kernel_gets_to_the_backend(kernel_files):
    # all of it parsed and checked: what fails is the connection, the next step
    r = run("--kernel", kernel_files / "vmlinuz-6.1", "--initrd", kernel_files / "initrd.img",
            "--cmdline", "console=ttyS0 root=/dev/vda ro", "--disk",
            str(kernel_files / "root.img") + ",ro", "--disk", kernel_files / "data.img",
            "--vcpus", "2", "--memory", "256MiB", "--uri", "nosuch:///")
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("hpcvirt: error: connecting to nosuch:///: ")


def test_spec_with_a_boot_source(kernel_files):
    spec = kernel_files / "linux.json"
    spec.write_text(json.dumps({"name": "linux", "vcpus": 1, "memory": "256MiB",
                                "boot": {"kernel": str(kernel_files / "vmlinuz-6.1")}}))
    # the spec says what to boot: no PAYLOAD needed, and none taken
    r = run("--spec", spec, "--uri", "nosuch:///")
    assert r.returncode == 1 and "connecting to nosuch:///" in r.stderr
    r = run("a.elf", "--spec", spec)
    assert r.returncode == 64 and "boots a kernel (boot.kernel)" in r.stderr
    # a spec without one needs a PAYLOAD or --kernel
    plain = kernel_files / "plain.json"
    plain.write_text('{"vcpus": 1, "memory": "64MiB"}')
    r = run("--spec", plain)
    assert r.returncode == 64 and "no boot source" in r.stderr
    r = run("--spec", plain, "--kernel", kernel_files / "vmlinuz-6.1", "--uri", "nosuch:///")
    assert r.returncode == 1 and "connecting to nosuch:///" in r.stderr
