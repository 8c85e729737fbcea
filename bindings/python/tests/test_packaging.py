"""The package as pip installs it: bindings/python/pyproject.toml installed
with pip (--no-build-isolation, no index: Debian's setuptools and wheel) into
a fresh venv that sees the system's cffi (--system-site-packages); it finds
libhpcvirt.so.1 through $HPCVIRT_LIBRARY or the dynamic loader, and the
examples run with it. Also: the cdef kept in the source tree for pip
installs is what the build generates from the headers, and pyproject.toml's
version is the library's."""
import os
import re
import shutil
import subprocess
import sys

import pytest

import hpcvirt
from example_runs import EXAMPLES, SRC

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PKG_SRC = os.path.join(SRC, "bindings", "python")
# the library this build made (the build tree's package was configured with it)
LIBRARY = os.environ.get("HPCVIRT_LIBRARY") or hpcvirt._native._BUILT_LIBRARY


def test_shipped_cdef_is_what_the_headers_give():
    built = os.path.join(os.path.dirname(hpcvirt.__file__), "_cdef.h")
    shipped = os.path.join(PKG_SRC, "hpcvirt", "_cdef.h")
    if os.path.samefile(built, shipped):
        pytest.skip("the package is imported from the source tree, not a build")
    with open(built, encoding="utf-8") as f, open(shipped, encoding="utf-8") as g:
        assert f.read() == g.read(), (
            f"{shipped} differs from the cdef the build generated from the public headers: "
            f"copy it (cp {built} {shipped}) and commit it")


def test_pyproject_version_is_the_library_version():
    with open(os.path.join(PKG_SRC, "pyproject.toml"), encoding="utf-8") as f:
        version = re.search(r'^version = "([^"]+)"$', f.read(), re.M).group(1)
    assert version == hpcvirt.version()


def _child_env(**extra):
    """An environment in which nothing points at the build tree's package or
    library: only what `extra` adds."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "HPCVIRT_LIBRARY")}
    if os.environ.get("HV_SANITIZER_PRELOAD"):  # an instrumented library needs its runtimes
        env["LD_PRELOAD"] = os.environ["HV_SANITIZER_PRELOAD"]
    env.update(PYTHONNOUSERSITE="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_CACHE_DIR="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """The Python of a fresh venv into which pip installed bindings/python."""
    for module, package in (("ensurepip", "python3-venv"), ("pip", "python3-pip"),
                            ("setuptools", "python3-setuptools"), ("wheel", "python3-wheel"),
                            ("cffi", "python3-cffi")):
        if subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True,
                          check=False).returncode != 0:
            pytest.skip(f"{PYTHON} has no {module} (Debian: {package})")
    tmp = tmp_path_factory.mktemp("pip-install")
    # pip builds a local directory in place: a copy keeps the source tree clean
    src = tmp / "src"
    shutil.copytree(PKG_SRC, src, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__"))
    subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", str(tmp / "venv")],
                   check=True, env=_child_env(), capture_output=True)
    python = str(tmp / "venv" / "bin" / "python")
    r = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", str(src)],
                       capture_output=True, text=True, check=False, env=_child_env())
    assert r.returncode == 0, r.stdout + r.stderr
    return python


def _import(python, env, code="import hpcvirt; print(hpcvirt.__file__, hpcvirt.version())"):
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=False,
                          env=env)


def test_pip_installs_the_package_with_its_cdef_and_type_hints(venv):
    r = _import(venv, _child_env(HPCVIRT_LIBRARY=LIBRARY))
    assert r.returncode == 0, r.stderr
    where, version = r.stdout.split()
    assert version == hpcvirt.version()
    pkg = os.path.dirname(where)
    assert pkg.startswith(os.path.dirname(os.path.dirname(venv)))  # inside the venv
    files = set(os.listdir(pkg))
    assert {"__init__.py", "_cdef.h", "py.typed", "plan.py"} <= files
    assert "_config.py" not in files  # a build's copy only


def test_the_installed_package_finds_the_library_through_the_dynamic_loader(venv):
    r = _import(venv, _child_env(LD_LIBRARY_PATH=os.path.dirname(LIBRARY)))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == hpcvirt.version()


def test_the_installed_package_says_how_to_find_the_library(venv):
    r = _import(venv, _child_env())
    if r.returncode == 0:
        pytest.skip("libhpcvirt.so.1 is installed system-wide: the loader finds it")
    assert "ImportError: cannot load libhpcvirt.so.1 (set HPCVIRT_LIBRARY" in r.stderr


@pytest.mark.parametrize("example", [e for e in EXAMPLES if not e.kvm], ids=lambda e: e.script)
def test_example_runs_with_the_installed_package(venv, example):
    if example.backend and example.backend not in hpcvirt.backends():
        pytest.skip(f"built without the {example.backend} backend")
    example.check(venv, _child_env(HPCVIRT_LIBRARY=LIBRARY))
