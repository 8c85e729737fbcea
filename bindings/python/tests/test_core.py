"""Python bindings: versions, sizes, errors, the log hook."""
import re

import pytest

import hpcvirt


def test_version():
    v = hpcvirt.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    assert hpcvirt.version_info() == tuple(int(x) for x in v.split("."))


def test_sizes():
    assert hpcvirt.parse_size("1.5TiB") == 1649267441664
    assert hpcvirt.parse_size("512GiB") == 512 << 30
    assert hpcvirt.format_size(1649267441664) == "1.5 TiB"


def test_errors_carry_code_message_path():
    with pytest.raises(hpcvirt.ParseError) as info:
        hpcvirt.parse_size("lots")
    err = info.value
    assert err.code == hpcvirt.lib.HV_E_PARSE
    assert err.name == "HV_E_PARSE"
    assert "1.5TiB" in err.message
    assert isinstance(err, ValueError)
    with pytest.raises(hpcvirt.RangeError):
        hpcvirt.parse_size("1.5")


def test_log_handler_roundtrip():
    hpcvirt.set_log_handler(lambda level, domain, msg: None, hpcvirt.LOG_DEBUG)
    hpcvirt.set_log_handler(None)
    with pytest.raises(hpcvirt.InvalidArgument):
        hpcvirt.set_log_handler(lambda *a: None, 9)
