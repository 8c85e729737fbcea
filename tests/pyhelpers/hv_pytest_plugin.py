"""A pytest plugin for the Python and CLI tests (meson passes -p hv_pytest_plugin):
the `kvm` marker, for the tests that run guests on /dev/kvm. meson's python
suite runs the others (-m "not kvm"); its kvm suite runs these, inside
scripts/kvm-vm where the machine has no /dev/kvm of its own
(tests/pyhelpers/run-kvm-pytest), so they are counted as passed or failed
there, never skipped."""
import os

import pytest

GUEST = os.environ.get("HV_TEST_GUEST_DIR", "")


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: runs guests on /dev/kvm (meson's kvm suite)")


def needs_kvm(payload="hello"):
    """A decorator for a test that runs guests: the `kvm` mark, and a skip
    where /dev/kvm or the payload is missing (a developer running pytest by
    hand). Its .marks are the same for a module's pytestmark."""
    marks = [
        pytest.mark.kvm,
        pytest.mark.skipif(not os.access("/dev/kvm", os.R_OK | os.W_OK), reason="no /dev/kvm"),
        pytest.mark.skipif(not os.path.exists(os.path.join(GUEST, payload + ".elf")),
                           reason="the guest payloads are not built (HV_TEST_GUEST_DIR)"),
    ]

    def apply(test):
        for mark in marks:
            test = mark(test)
        return test

    apply.marks = marks
    return apply
