"""Containers as micro-VMs of the built-in engine (hpcvirt/container.h):
an OCI image layout run as its own Linux VM (docs/containers.md).

    with Connection("kvm:///") as conn:
        c = Container(conn, "/images/busybox", tag="latest", args=["echo", "hi"],
                      output=lambda stream, data: ...)
        c.start()
        status = c.wait()
"""
import os
from typing import Any, Callable, List, Optional, Sequence, Union

from ._native import ffi, lib, to_str
from .errors import InvalidArgument, c_string, check
from .host import Host
from .spec import VmSpec
from .vm import ConsoleFn, Connection

CONTAINER_OPTIONS_VERSION = 1  # HV_CONTAINER_OPTIONS_VERSION

STDOUT = 1  # HV_CONTAINER_STDOUT
STDERR = 2  # HV_CONTAINER_STDERR

OutputFn = Callable[[int, bytes], None]
PathLike = Union[str, "os.PathLike[str]"]


def _strv(values: Sequence[str], what: str, keep: List[Any]) -> Any:
    """A C array of C strings for `values` (each kept alive in `keep`)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of strings, not one string")
    items = [c_string(v, f"{what}[{i}]") for i, v in enumerate(values)]
    keep.extend(items)
    arr = ffi.new("const char *[]", max(len(items), 1))
    for i, item in enumerate(items):
        arr[i] = item
    keep.append(arr)
    return arr


class Container:
    """A container of the image in the OCI image layout at `layout` (a
    folder: oci-layout, index.json, blobs/), ready to start(). Everything
    is checked here, before anything boots: the image (every digest and
    size; ImageError for one that is malformed, corrupt, unsafe or for
    another machine; NotFound for a `tag` the layout lacks), its root disk
    (made once per image in `cache`), the VM (`spec`: vCPUs, memory, ...;
    None: 1 vCPU and 256 MiB, planned on `host` or the connection's).

    `args` replace the image's Cmd, `entrypoint` its Entrypoint ("": none),
    `env` ("NAME=VALUE") is added over its environment, `workdir` and
    `user` replace its own. `output(stream, data)` gets the command's
    standard output (stream 1, hpcvirt.container.STDOUT) and error (2) as
    they come, from a vCPU thread; `console(data)` the guest kernel's
    console. `warm`: start from the image's template (a VM suspended where
    its init waits for a command; made by the first warm start). `kernel`
    and `modules`: the guest's kernel and its modules folder (default: this
    machine's); `init`: the guest's init (default: the one installed)."""

    def __init__(self, conn: Connection, layout: PathLike, tag: Optional[str] = None,
                 args: Optional[Sequence[str]] = None, entrypoint: Optional[str] = None,
                 env: Optional[Sequence[str]] = None, workdir: Optional[str] = None,
                 user: Optional[str] = None, spec: Optional[VmSpec] = None,
                 host: Optional[Host] = None, name: Optional[str] = None,
                 kernel: Optional[PathLike] = None, modules: Optional[PathLike] = None,
                 cache: Optional[PathLike] = None, init: Optional[PathLike] = None,
                 output: Optional[OutputFn] = None, console: Optional[ConsoleFn] = None,
                 warm: bool = False) -> None:
        if not isinstance(conn, Connection):
            raise TypeError(f"conn must be an hpcvirt.Connection, not {type(conn).__name__}")
        if spec is not None and not isinstance(spec, VmSpec):
            raise TypeError(f"spec must be an hpcvirt.VmSpec, not {type(spec).__name__}")
        if host is not None and not isinstance(host, Host):
            raise TypeError(f"host must be an hpcvirt.Host, not {type(host).__name__}")
        keep: List[Any] = []
        opts = ffi.new("hv_container_options *")
        check(lib.hv_container_options_init(opts, CONTAINER_OPTIONS_VERSION))
        opts.flags = lib.HV_CONTAINER_WARM if warm else 0

        def text(value: Optional[Any], what: str, filesystem: bool = False) -> Any:
            if value is None:
                return ffi.NULL
            raw = c_string(value, what, filesystem=filesystem)
            keep.append(raw)
            return raw

        opts.name, opts.tag = text(name, "name"), text(tag, "tag")
        opts.kernel_path = text(kernel, "kernel", True)
        opts.modules_path = text(modules, "modules", True)
        opts.cache_path = text(cache, "cache", True)
        opts.init_path = text(init, "init", True)
        opts.entrypoint = text(entrypoint, "entrypoint")
        opts.workdir, opts.user = text(workdir, "workdir"), text(user, "user")
        if args:
            opts.args, opts.arg_count = _strv(args, "args", keep), len(args)
        if env:
            opts.env, opts.env_count = _strv(env, "env", keep), len(env)
        if spec is not None:
            opts.spec = spec._h
        if host is not None:
            opts.host = host._h
        # the callbacks live as long as the connection (the VM calls them)
        if output is not None:
            if not callable(output):
                raise TypeError("output must be callable: output(stream: int, data: bytes)")
            fn: OutputFn = output

            def _output(_data: Any, stream: int, raw: Any, length: int,
                        _fn: OutputFn = fn) -> None:
                _fn(int(stream), ffi.buffer(raw, length)[:])

            opts.output = conn._keep(ffi.callback("void(void *, int, const void *, size_t)",
                                                  _output))
        opts.console = conn._console_cb(console)
        c_layout = c_string(layout, "layout", filesystem=True)
        out = ffi.new("hv_container **")
        check(lib.hv_container_create(conn._handle(), c_layout, opts, out))
        self._conn = conn  # the container's VM belongs to the connection: keep it open
        self._h: Any = ffi.gc(out[0], lib.hv_container_free)

    def _handle(self) -> Any:
        if self._h is None:
            raise InvalidArgument(lib.HV_E_INVAL, "the container is closed")
        return self._h

    @property
    def name(self) -> str:
        """The container's (its VM's) name."""
        return to_str(lib.hv_container_name(self._handle()))

    @property
    def image_digest(self) -> str:
        """The image's manifest digest ("sha256:...")."""
        return to_str(lib.hv_container_image_digest(self._handle()))

    def start(self, timeout_ms: int = 0) -> None:
        """Boot the VM (or resume the image's template, warm) and give its init
        the command; TimedOut when init is not ready within `timeout_ms` (0:
        300 s)."""
        check(lib.hv_container_start(self._handle(), timeout_ms))

    def wait(self, timeout_ms: int = -1) -> int:
        """The command's exit status (0-255; 128+N when signal N killed it),
        once it has ended (`timeout_ms` negative: wait for ever; TimedOut
        while it runs). NotFound when the command is not in the image
        (status 127), an Error with code HV_E_PERM when it cannot run (126),
        GuestError when init or the guest failed: the message is the
        guest's."""
        status = ffi.new("int *")
        check(lib.hv_container_wait(self._handle(), timeout_ms, status))
        return int(status[0])

    def kill(self) -> None:
        """Power the container's VM off (wait() then gives 137)."""
        check(lib.hv_container_kill(self._handle()))

    def close(self) -> None:
        """Power off a running container and free it. Safe to call twice."""
        if self._h is not None:
            handle, self._h = self._h, None
            ffi.release(handle)

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Container", "STDOUT", "STDERR"]
