"""The README's Python example runs as printed."""
import os
import subprocess
import sys

SRC = os.environ.get("HV_TEST_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def test_quickstart_runs():
    r = subprocess.run([sys.executable, os.path.join(SRC, "examples", "quickstart.py")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "1649267441664" in r.stdout
    assert "HV_E_PARSE" in r.stdout


def test_plan_vm_runs_on_this_machine_and_a_fixture():
    script = os.path.join(SRC, "examples", "plan_vm.py")
    r = subprocess.run([sys.executable, script], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "vNUMA node 0" in r.stdout
    fixture = os.path.join(SRC, "tests", "fixtures", "hosts", "dgx-a100-roce")
    r = subprocess.run([sys.executable, script, fixture], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("256 CPUs, 2 NUMA nodes; plan ok")


def test_vm_lifecycle_runs():
    from hpcvirt import backends
    if "libvirt" not in backends():
        import pytest
        pytest.skip("built without the libvirt backend")
    r = subprocess.run([sys.executable, os.path.join(SRC, "examples", "vm_lifecycle.py")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "running\n"


def test_run_on_test_driver_runs_the_vgpu_example():
    from hpcvirt import backends
    if "libvirt" not in backends():
        import pytest
        pytest.skip("built without the libvirt backend")
    r = subprocess.run([sys.executable, os.path.join(SRC, "examples", "run_on_test_driver.py"),
                        os.path.join(SRC, "examples", "specs", "vgpu-workstation.json"),
                        os.path.join(SRC, "tests", "fixtures", "hosts", "hugepages-2node")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "plan vgpu-ws: ok, live migration allowed"
    assert "resumed from it: running" in lines
    assert "managed save: suspended, image kept: True" in lines
    assert any(line.startswith("migration refused (HV_E_UNSUPPORTED)") for line in lines)


def test_kvm_worker_runs_where_kvm_is():
    import pytest
    guest = os.environ.get("HV_TEST_GUEST_DIR", "")
    worker = os.path.join(guest, "worker.elf")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not os.path.exists(worker):
        pytest.skip("SKIP: no /dev/kvm (or no guest payloads)")
    r = subprocess.run([sys.executable, os.path.join(SRC, "examples", "kvm_worker.py"), worker],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "worker done" in r.stdout
    assert "exit code 0" in r.stdout
