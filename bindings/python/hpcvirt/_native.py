"""Loading libhpcvirt through cffi (ABI mode) and turning C errors into exceptions.

The cdef is the library's own public headers, preprocessed at build time
(_cdef.h), so the Python view of the API cannot drift from the C one.
"""
import os

from cffi import FFI

from . import _config

ffi = FFI()
with open(os.path.join(os.path.dirname(__file__), "_cdef.h"), encoding="utf-8") as _f:
    ffi.cdef(_f.read())


def _load():
    tried = []
    for candidate in (os.environ.get("HPCVIRT_LIBRARY"), _config.LIBRARY, "libhpcvirt.so.1"):
        if not candidate:
            continue
        try:
            return ffi.dlopen(candidate, ffi.RTLD_NOW)
        except OSError as exc:
            tried.append(f"{candidate}: {exc}")
    raise ImportError(
        "cannot load libhpcvirt.so.1 (set HPCVIRT_LIBRARY to its path); tried: " + "; ".join(tried)
    )


lib = _load()


# what ffi.string() calls, without its Python-level wrapper (to_str() runs
# for every string of every host and plan copied out)
_string = getattr(getattr(ffi, "_backend", None), "string", None) or ffi.string


def to_str(cdata):
    """A C string owned by the library, as a Python str ('' for NULL)."""
    return _string(cdata).decode("utf-8", "replace") if cdata else ""


def take_str(cdata):
    """A C string the caller owns (freed with hv_free), as a Python str."""
    try:
        return to_str(cdata)
    finally:
        lib.hv_free(cdata)
