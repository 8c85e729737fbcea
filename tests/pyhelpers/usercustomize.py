"""Imported by every Python of the test suites (tests/pyhelpers is on
PYTHONPATH): in a sanitizer build's tests (tests/meson.build sets
HV_SANITIZER_PRELOAD), Python runs with the sanitizer runtimes preloaded,
since the library it loads through cffi is instrumented and /usr/bin/python3
is not. The programs the tests start must not inherit that preload (pkill,
for one, hangs under it): it is taken out of the environment here, once this
process has it, and Python children are started through a wrapper that puts
it back (sys.executable)."""
import os
import sys

if os.environ.get("HV_SANITIZER_PRELOAD"):
    os.environ.pop("LD_PRELOAD", None)
    sys.executable = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sanitized-python")
