"""The examples in examples/*.py and what each must print, run by a given
Python interpreter with a given environment: test_examples.py runs them with
the build tree's package, test_packaging.py with the package pip installed
into a fresh venv. (Not a test module: its name does not start with test_.)"""
import os
import subprocess
from typing import Callable, Dict, List, NamedTuple, Optional

SRC = os.environ.get("HV_TEST_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
FIXTURES = os.environ.get("HV_TEST_FIXTURES") or os.path.join(SRC, "tests", "fixtures")
GUEST = os.environ.get("HV_TEST_GUEST_DIR", "")


def run(python: str, env: Optional[Dict[str, str]], script: str,
        *args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([python, os.path.join(SRC, "examples", script), *args],
                          capture_output=True, text=True, check=False, env=env, timeout=300)


def quickstart(python: str, env: Optional[Dict[str, str]]) -> None:
    r = run(python, env, "quickstart.py")
    assert r.returncode == 0, r.stderr
    assert "1649267441664" in r.stdout
    assert "HV_E_PARSE" in r.stdout


def plan_vm(python: str, env: Optional[Dict[str, str]]) -> None:
    r = run(python, env, "plan_vm.py")
    assert r.returncode == 0, r.stderr
    assert "vNUMA node 0" in r.stdout
    r = run(python, env, "plan_vm.py", os.path.join(FIXTURES, "hosts", "dgx-a100-roce"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("256 CPUs, 2 NUMA nodes; plan ok")
    r = run(python, env, "plan_vm.py", os.path.join(FIXTURES, "no-such-host"))
    assert r.returncode == 1 and "plan_vm.py: cannot open host root" in r.stderr, r.stderr


def vm_lifecycle(python: str, env: Optional[Dict[str, str]]) -> None:
    r = run(python, env, "vm_lifecycle.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "running\n"


def run_on_test_driver(python: str, env: Optional[Dict[str, str]]) -> None:
    r = run(python, env, "run_on_test_driver.py",
            os.path.join(SRC, "examples", "specs", "vgpu-workstation.json"),
            os.path.join(FIXTURES, "hosts", "hugepages-2node"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "plan vgpu-ws: ok, live migration allowed"
    assert "resumed from it: running" in lines
    assert "managed save: suspended, image kept: True" in lines
    assert any(line.startswith("migration refused (HV_E_UNSUPPORTED)") for line in lines)
    # no arguments: the usage, not a traceback
    r = run(python, env, "run_on_test_driver.py")
    assert r.returncode == 2 and r.stderr.startswith("usage: run_on_test_driver.py"), r.stderr
    assert "SPEC.json" in r.stderr and "Traceback" not in r.stderr
    r = run(python, env, "run_on_test_driver.py", "/no/such/spec.json",
            os.path.join(FIXTURES, "hosts", "hugepages-2node"))
    assert r.returncode == 1 and "/no/such/spec.json" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def kvm_worker(python: str, env: Optional[Dict[str, str]]) -> None:
    r = run(python, env, "kvm_worker.py", os.path.join(GUEST, "worker.elf"))
    assert r.returncode == 0, r.stderr
    assert "worker done" in r.stdout
    assert "exit code 0" in r.stdout


class Example(NamedTuple):
    script: str
    check: Callable[[str, Optional[Dict[str, str]]], None]
    backend: Optional[str] = None  # the backend it needs ("libvirt"), if any
    kvm: bool = False  # runs a guest on /dev/kvm (the kvm suite)


EXAMPLES: List[Example] = [
    Example("quickstart.py", quickstart),
    Example("plan_vm.py", plan_vm),
    Example("vm_lifecycle.py", vm_lifecycle, backend="libvirt"),
    Example("run_on_test_driver.py", run_on_test_driver, backend="libvirt"),
    Example("kvm_worker.py", kvm_worker, kvm=True),
]
