"""hpcvirt: HPC and ML/DL virtualization for KVM hosts (Python bindings).

A Pythonic layer over libhpcvirt's C API: functions and classes, exceptions
that carry the library's error code, message and field path.
"""
from typing import Any, Callable, Optional, Tuple, Union

from ._native import ffi, lib, to_str
from .errors import (
    BackendError,
    Error,
    Exists,
    GuestError,
    IOError_,
    IOFailure,
    ImageError,
    MigrationError,
    NoKvm,
    StateError,
    TimedOut,
    TimeoutError_,
    InvalidArgument,
    NotFound,
    ParseError,
    PlanError,
    RangeError,
    SnapshotError,
    SpecError,
    Unsupported,
    c_string as _c_string,
    check,
)
from .finding import Finding
from . import host as _host
from .host import *  # noqa: F401,F403 (the names in host.__all__)
from . import spec as _spec
from .spec import *  # noqa: F401,F403 (the names in spec.__all__)
from . import plan as _plan
from .plan import *  # noqa: F401,F403 (the names in plan.__all__)
from . import profile as _profile
from .profile import *  # noqa: F401,F403 (the names in profile.__all__)
from . import vm as _vm
from .vm import *  # noqa: F401,F403 (the names in vm.__all__)
from .container import Container  # noqa: F401 (STDOUT, STDERR: hpcvirt.container's)

LOG_ERROR = lib.HV_LOG_ERROR
LOG_WARNING = lib.HV_LOG_WARNING
LOG_INFO = lib.HV_LOG_INFO
LOG_DEBUG = lib.HV_LOG_DEBUG


def version() -> str:
    """The version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return to_str(lib.hv_version())


def version_info() -> Tuple[int, int, int]:
    """The version of the loaded library as a (major, minor, patch) tuple."""
    nums = ffi.new("int[3]")
    check(lib.hv_version_numbers(nums, nums + 1, nums + 2))
    return (nums[0], nums[1], nums[2])


def parse_size(text: Union[str, bytes]) -> int:
    """Bytes in a size string such as "1.5TiB", "512GiB" or "64M"."""
    out = ffi.new("uint64_t *")
    check(lib.hv_size_parse(_c_string(text, "the size", ParseError), out))
    return int(out[0])


def format_size(nbytes: int) -> str:
    """A size for people: 1649267441664 -> "1.5 TiB"."""
    buf = ffi.new("char[64]")
    check(lib.hv_size_format(nbytes, buf, 64))
    return to_str(buf)


_log_callback: Any = None  # keeps the cffi callback alive while installed


def set_log_handler(handler: Optional[Callable[[int, str, str], None]],
                    level: int = LOG_INFO) -> None:
    """Send the library's log records to handler(level, domain, message).

    Pass None to remove the handler. The handler may be called from library
    threads; exceptions it raises are printed by cffi and otherwise ignored.
    """
    global _log_callback
    if handler is None:
        check(lib.hv_set_log_handler(ffi.NULL, level, ffi.NULL))
        _log_callback = None
        return
    fn = handler  # (a name the closure can use, never None)

    @ffi.callback("void(int, const char *, const char *, void *)")
    def _trampoline(lvl: int, domain: Any, message: Any, _userdata: Any) -> None:
        fn(lvl, to_str(domain), to_str(message))

    check(lib.hv_set_log_handler(_trampoline, level, ffi.NULL))
    _log_callback = _trampoline


__all__ = [
    "Error",
    "BackendError",
    "Exists",
    "GuestError",
    "IOFailure",
    "InvalidArgument",
    "MigrationError",
    "ImageError",
    "NoKvm",
    "NotFound",
    "ParseError",
    "PlanError",
    "RangeError",
    "SnapshotError",
    "SpecError",
    "StateError",
    "TimedOut",
    "Unsupported",
    "version",
    "version_info",
    "parse_size",
    "format_size",
    "set_log_handler",
    "LOG_ERROR",
    "LOG_WARNING",
    "LOG_INFO",
    "LOG_DEBUG",
    "Finding",
]
for _module in (_host, _spec, _plan, _profile, _vm):
    __all__ += [name for name in _module.__all__ if name not in __all__]
__all__.append("Container")
del _module
