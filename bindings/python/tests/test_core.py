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


def test_errors_give_the_path_once():
    # a message that names its path is shown as it is; one that does not gets " (at PATH)"
    inval = hpcvirt.lib.HV_E_INVAL
    cases = [
        ("nics[0].model 'e1000' is not a NIC model", "nics[0].model",
         "nics[0].model 'e1000' is not a NIC model"),
        ("not valid JSON: it ends here (line 1, column 24)", "line 1",
         "not valid JSON: it ends here (line 1, column 24)"),
        ("cannot open '/no/such': gone", "/no/such", "cannot open '/no/such': gone"),
        ("the path is vcpus.", "vcpus", "the path is vcpus."),
        # a longer name or path is not the path
        ("vnuma[0].vcpus is required", "vcpus", "vnuma[0].vcpus is required (at vcpus)"),
        ("nics[0].model is bad", "nics[0]", "nics[0].model is bad (at nics[0])"),
        ("nics[0] is bad", "nics[0].model", "nics[0] is bad (at nics[0].model)"),
        ("2 vCPUs is too few", "vcpus", "2 vCPUs is too few (at vcpus)"),
        ("no path", "", "no path"),
    ]
    for message, path, text in cases:
        assert str(hpcvirt.InvalidArgument(inval, message, path)) == text
    # from the library: a JSON syntax error names its line once
    with pytest.raises(hpcvirt.ParseError) as info:
        hpcvirt.VmSpec.from_json('{"name": "x", "vcpus": ')
    assert info.value.path == "line 1"
    assert str(info.value).count("line 1") == 1 and "(at " not in str(info.value)


def test_log_handler_roundtrip():
    hpcvirt.set_log_handler(lambda level, domain, msg: None, hpcvirt.LOG_DEBUG)
    hpcvirt.set_log_handler(None)
    with pytest.raises(hpcvirt.InvalidArgument):
        hpcvirt.set_log_handler(lambda *a: None, 9)
