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
