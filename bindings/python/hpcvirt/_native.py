"""Loading libhpcvirt through cffi (ABI mode) and turning C errors into exceptions.

The cdef is the library's own public headers, preprocessed (_cdef.h): a build
makes it from the headers, and the copy kept in the source tree for pip
installs is checked against them by the test suite, so the Python view of the
API cannot drift from the C one.

The library is looked for in $HPCVIRT_LIBRARY, then where the build or
install that made this copy of the package put it (_config.py, written by
meson; a pip install has none), then as "libhpcvirt.so.1" through the dynamic
loader (ld.so.conf, LD_LIBRARY_PATH).
"""
import os
from typing import Any, List

from cffi import FFI

try:
    from ._config import LIBRARY as _BUILT_LIBRARY
except ImportError:  # installed with pip: the dynamic loader finds it
    _BUILT_LIBRARY = ""

ffi = FFI()
with open(os.path.join(os.path.dirname(__file__), "_cdef.h"), encoding="utf-8") as _f:
    ffi.cdef(_f.read())


def _load() -> Any:
    tried: List[str] = []
    for candidate in (os.environ.get("HPCVIRT_LIBRARY"), _BUILT_LIBRARY, "libhpcvirt.so.1"):
        if not candidate:
            continue
        try:
            return ffi.dlopen(candidate, ffi.RTLD_NOW)
        except OSError as exc:
            tried.append(f"{candidate}: {exc}")
    raise ImportError(
        "cannot load libhpcvirt.so.1 (set HPCVIRT_LIBRARY to its path); tried: " + "; ".join(tried)
    )


lib: Any = _load()


# what ffi.string() calls, without its Python-level wrapper (to_str() runs
# for every string of every host and plan copied out)
_string = getattr(getattr(ffi, "_backend", None), "string", None) or ffi.string


def to_str(cdata: Any) -> str:
    """A C string owned by the library, as a Python str ('' for NULL)."""
    return _string(cdata).decode("utf-8", "replace") if cdata else ""


def take_str(cdata: Any) -> str:
    """A C string the caller owns (freed with hv_free), as a Python str."""
    try:
        return to_str(cdata)
    finally:
        lib.hv_free(cdata)
