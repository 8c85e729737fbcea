"""Every example in examples/*.py runs as the README prints it, with the
build tree's package (test_packaging.py runs them again with the package pip
installs); each answers --help with its usage. kvm_worker.py runs a guest:
it is marked kvm (the kvm suite, where /dev/kvm is) and skipped elsewhere."""
import os
import sys

import pytest

import hpcvirt
import hv_pytest_plugin
from example_runs import EXAMPLES, SRC, run


def test_every_example_is_run():
    scripts = {name for name in os.listdir(os.path.join(SRC, "examples")) if name.endswith(".py")}
    assert scripts == {example.script for example in EXAMPLES}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if not e.kvm], ids=lambda e: e.script)
def test_example_runs(example):
    if example.backend and example.backend not in hpcvirt.backends():
        pytest.skip(f"built without the {example.backend} backend")
    example.check(sys.executable, None)


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kvm], ids=lambda e: e.script)
@hv_pytest_plugin.needs_kvm("worker")
def test_kvm_example_runs(example):
    example.check(sys.executable, None)


@pytest.mark.parametrize("script", [e.script for e in EXAMPLES])
def test_example_has_a_usage_message(script):
    r = run(sys.executable, None, script, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: {script}")
    r = run(sys.executable, None, script, "--no-such-option")
    assert r.returncode == 2 and r.stderr.startswith(f"usage: {script}"), r.stderr
