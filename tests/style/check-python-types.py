#!/usr/bin/python3
"""Type-check the Python package (bindings/python/hpcvirt, with its type
hints and py.typed), the Python examples and benchmarks, and this script with mypy,
as configured in bindings/python/pyproject.toml ([tool.mypy]: every function
annotated, Python 3.8 syntax and library). Exit 77 (meson: skipped) where
mypy is not installed (Debian: python3-mypy, in scripts/test's packages).

usage: check-python-types.py SOURCE_ROOT CACHE_DIR
"""
import glob
import os
import subprocess
import sys


def main() -> int:
    src, cache = sys.argv[1], sys.argv[2]
    try:
        import mypy  # noqa: F401 (only whether it is there)
    except ImportError:
        print("SKIP: mypy is not installed (Debian: apt-get install python3-mypy)")
        return 77
    pkg = os.path.join(src, "bindings", "python")
    targets = [os.path.join(pkg, "hpcvirt"),
               *sorted(glob.glob(os.path.join(src, "examples", "*.py"))),
               *sorted(glob.glob(os.path.join(src, "bench", "*.py"))), os.path.abspath(__file__)]
    env = dict(os.environ, MYPYPATH=pkg)
    cmd = [sys.executable, "-m", "mypy", "--config-file", os.path.join(pkg, "pyproject.toml"),
           "--cache-dir", cache, *targets]
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
