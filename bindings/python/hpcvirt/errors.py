"""Exceptions carrying hv_error_last(): code, symbolic name, message and field
path; and c_string(), which hands Python text to the library as a C string or
raises one of them for text a C string cannot hold."""
import os
import re
from typing import Any, Dict, Optional, Type

from ._native import ffi, lib, to_str


class Error(Exception):
    """An hpcvirt error. `code` is the negative HV_E_* value, `name` its symbol,
    `message` says what is wrong and what to do, `path` locates the input field
    ("accelerators[1].count") or file, or is ''. str() is the message, with
    " (at PATH)" added where the message does not name the path itself."""

    code: int
    name: str
    message: str
    path: str

    def __init__(self, code: int, message: str, path: str = "") -> None:
        self.code = code
        self.name = to_str(lib.hv_error_code_name(code))
        self.message = message
        self.path = path
        # the path once: most messages name it already ("nics[0].model 'e1000' is not ...",
        # "... (line 1, column 24)" for the path "line 1")
        text = message if not path or _names(message, path) else f"{message} (at {path})"
        super().__init__(text)


def _names(message: str, path: str) -> bool:
    """Whether `message` names `path` whole: not inside a longer name or path
    ("vcpus" is not named by "vnuma[0].vcpus", nor "nics[0]" by "nics[0].model")."""
    return re.search(r"(?<![\w.\]])" + re.escape(path) + r"(?![\w\[]|\.\w)", message) is not None


class InvalidArgument(Error, ValueError):
    pass


class ParseError(Error, ValueError):
    pass


class SpecError(Error, ValueError):
    pass


class PlanError(Error):
    pass


class Unsupported(Error):
    pass


class NotFound(Error, LookupError):
    pass


class RangeError(Error, ValueError):
    pass


class IOFailure(Error, OSError):
    """A system call or file operation failed (HV_E_IO); also an OSError."""


IOError_ = IOFailure  # the former name, kept as an alias


class Exists(Error):
    pass


class StateError(Error):
    """The object is in the wrong state for the operation (HV_E_STATE)."""


class BackendError(Error):
    """The backend failed; `message` keeps its own words (HV_E_BACKEND)."""


class TimedOut(Error, TimeoutError):
    """A wait ran out of time (HV_E_TIMEOUT); also a TimeoutError."""


TimeoutError_ = TimedOut  # the former name, kept as an alias


class GuestError(Error):
    """The guest did something that ended its VM (HV_E_GUEST): the message
    says what, with the vCPU's registers."""


class SnapshotError(Error):
    """A snapshot file is truncated, corrupted or was not written by
    hpcvirt (HV_E_SNAPSHOT): the message says which part and why."""


class NoKvm(Error):
    """/dev/kvm is missing or unusable (HV_E_NOKVM): guest payloads need it (load
    kvm_intel or kvm_amd); a VM without a payload can use a libvirt: URI."""


class ImageError(Error):
    """A container image is malformed, corrupt (a digest that does not match),
    unsafe (a layer that would write outside its root) or for another
    machine (HV_E_IMAGE): the message names the blob or file and why."""


class MigrationError(Error):
    """A live migration failed (HV_E_MIGRATION): the message says where and why;
    the source VM runs on, the destination keeps nothing."""


_BY_CODE: Dict[int, Type[Error]] = {
    lib.HV_E_INVAL: InvalidArgument,
    lib.HV_E_PARSE: ParseError,
    lib.HV_E_SPEC: SpecError,
    lib.HV_E_PLAN: PlanError,
    lib.HV_E_UNSUPPORTED: Unsupported,
    lib.HV_E_NOTFOUND: NotFound,
    lib.HV_E_RANGE: RangeError,
    lib.HV_E_IO: IOFailure,
    lib.HV_E_EXISTS: Exists,
    lib.HV_E_STATE: StateError,
    lib.HV_E_BACKEND: BackendError,
    lib.HV_E_TIMEOUT: TimedOut,
    lib.HV_E_GUEST: GuestError,
    lib.HV_E_NOKVM: NoKvm,
    lib.HV_E_SNAPSHOT: SnapshotError,
    lib.HV_E_MIGRATION: MigrationError,
    lib.HV_E_IMAGE: ImageError,
}


def last_error(code: Optional[int] = None) -> Error:
    """The calling thread's last error as an exception instance."""
    err = lib.hv_error_last()
    if code is None:
        code = lib.hv_error_code_of(err)
    cls = _BY_CODE.get(code, Error)
    return cls(code, to_str(lib.hv_error_message(err)), to_str(lib.hv_error_path(err)))


_CODE_OF = {cls: code for code, cls in _BY_CODE.items()}


def c_string(value: object, what: str, error: Optional[Type[Error]] = None, path: str = "",
             filesystem: bool = False) -> Any:
    """A NUL-terminated char[] owned by Python (keep it referenced during the
    call) for `value`: bytes as they are, a str in UTF-8, an os.PathLike (and
    a str when `filesystem`) in the file system's encoding, anything else as
    str(value). C strings end at their first NUL character, so text holding
    one would reach the library cut short without a word: `error` (an Error
    class, default InvalidArgument) is raised instead, with `path`, naming
    `what` and where the NUL is; so it is for a str that is not Unicode text
    UTF-8 can hold (a lone surrogate)."""
    error = error or InvalidArgument
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    elif isinstance(value, os.PathLike) or (filesystem and isinstance(value, str)):
        raw = os.fsencode(value)
    else:
        text = value if isinstance(value, str) else str(value)
        try:
            raw = text.encode()
        except UnicodeEncodeError as exc:
            raise error(_CODE_OF[error],
                        f"{what} is not text UTF-8 can hold: character {exc.start} is "
                        f"{text[exc.start]!r} ({exc.reason}); pass valid Unicode text",
                        path) from None
    at = raw.find(b"\0")
    if at >= 0:
        raise error(_CODE_OF[error],
                    f"{what} has a NUL character at byte {at}: a C string ends there, so the "
                    f"library would see only what comes before it; remove it", path)
    return ffi.new("char[]", raw)


def check(rc: int) -> int:
    """Raise the thread's last error when a C call returned a negative code."""
    if rc < 0:
        raise last_error(rc)
    return rc


__all__ = [
    "Error",
    "InvalidArgument",
    "ParseError",
    "SpecError",
    "PlanError",
    "Unsupported",
    "NotFound",
    "RangeError",
    "IOFailure",
    "IOError_",
    "Exists",
    "MigrationError",
    "ImageError",
    "StateError",
    "BackendError",
    "TimedOut",
    "TimeoutError_",
    "GuestError",
    "NoKvm",
    "SnapshotError",
    "check",
    "last_error",
    "ffi",
]
