"""Connections to backends and the VMs they run (hpcvirt/vm.h, backend.h).

    with hpcvirt.Connection("libvirt:test:///default") as conn:
        host = hpcvirt.Host.discover(root="tests/fixtures/hosts/dgx-a100-roce")
        plan = hpcvirt.Plan.create(host, {"name": "demo", "vcpus": 2, "memory": "1GiB"})
        vm = conn.create(plan, start=True)
        vm.state                       # "running"
        vm.suspend("/tmp/demo.save")   # to a file; conn.resume_from() continues it
        vm.destroy(); vm.undefine()

The built-in engine (kvm:///) runs guest payloads in this process; its VMs
can be suspended to a file and resumed from it in any process, any number
of times, and cloned:

    with hpcvirt.Connection("kvm:///") as conn:
        vm = conn.create(plan, start=True, payload="build/guest/worker.elf")
        vm.suspend("/tmp/w.snap")                          # it stops there
        again = conn.resume_from("/tmp/w.snap", name="w2",
                                 console=lambda data: print(data.decode(), end=""))
        again.wait()                                       # its exit code
        parent = conn.resume_from("/tmp/w.snap", name="w3", paused=True)
        clones = parent.clone(64, mode="instant")          # or "full", "cold"
        # libvirt: qcow2 overlays on a shut-off domain's disks
        linked = conn.lookup("base").clone(2, mode="linked")
        [c.clone_identity for c in clones]                 # (id, 1), (id, 2), ...

A Connection picks a backend by URI like hv_conn_open(): None means
$HPCVIRT_DEFAULT_URI, else "kvm:///"; "libvirt:<libvirt URI>" drives libvirt.
A Vm is a handle on a VM the backend knows; it keeps its Connection alive.
Closing a Connection (close() or leaving its `with` block) releases the
handles of its Vms too: using one afterwards raises InvalidArgument.
Operations a backend does not offer raise Unsupported naming the backend and
the operation; a plan with errors raises PlanError naming its first error
finding; the backend's own failures (libvirt's messages) raise Error with
code HV_E_BACKEND; a snapshot file that is truncated, corrupted or foreign
raises SnapshotError. A name, URI, option string or path with a NUL
character (which a C string cannot hold) raises InvalidArgument naming it.
"""
import os
import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ._native import ffi, lib, to_str
from .errors import Error, InvalidArgument, RangeError, c_string, check
from .host import Host
from .plan import Plan

# These mirror the #define constants of include/hpcvirt/vm.h, which the
# generated cffi cdef does not carry (it holds only declarations and enums).
DEFAULT_URI = "kvm:///"  # HV_DEFAULT_URI
VM_CREATE_OPTIONS_VERSION = 3  # HV_VM_CREATE_OPTIONS_VERSION
VM_MEMORY_INFO_VERSION = 2  # HV_VM_MEMORY_INFO_VERSION
VM_SUSPEND_OPTIONS_VERSION = 1  # HV_VM_SUSPEND_OPTIONS_VERSION
VM_RESUME_OPTIONS_VERSION = 3  # HV_VM_RESUME_OPTIONS_VERSION
VM_CLONE_OPTIONS_VERSION = 4  # HV_VM_CLONE_OPTIONS_VERSION
MIGRATE_OPTIONS_VERSION = 3  # HV_MIGRATE_OPTIONS_VERSION
# hv_migrate_progress's numbers, as Vm.migrate(progress=...) passes them on
_MIGRATE_PROGRESS = ("round", "memory_bytes", "bytes_sent", "remaining_bytes",
                     "dirty_bytes_per_s", "bandwidth_bytes_per_s", "expected_downtime_ns",
                     "throttle_percent")
MIGRATE_INCOMING_OPTIONS_VERSION = 2  # HV_MIGRATE_INCOMING_OPTIONS_VERSION

# Vm.clone() modes (hv_vm_clone_mode): copy-on-write views of the parent's
# memory, the memory copied, or fresh boots of the parent's payload (the
# built-in engine); new domains on qcow2 overlays of the parent's disks (libvirt).
CLONE_INSTANT = "instant"  # HV_VM_CLONE_INSTANT
CLONE_FULL = "full"  # HV_VM_CLONE_FULL
CLONE_COLD = "cold"  # HV_VM_CLONE_COLD
CLONE_LINKED = "linked"  # HV_VM_CLONE_LINKED
VM_CLONE_MODES = (CLONE_INSTANT, CLONE_FULL, CLONE_COLD, CLONE_LINKED)
_CLONE_MODE_VALUES = {
    CLONE_INSTANT: lib.HV_VM_CLONE_INSTANT,
    CLONE_FULL: lib.HV_VM_CLONE_FULL,
    CLONE_COLD: lib.HV_VM_CLONE_COLD,
    CLONE_LINKED: lib.HV_VM_CLONE_LINKED,
}

_MAX_CLONES = 1000000  # what one hv_vm_clone() call makes at most

_UINT_MAX = 0xFFFFFFFF
_UINT64_MAX = 0xFFFFFFFFFFFFFFFF

# The names hv_vm_state_name() gives, for comparisons: vm.state == "running".
VM_STATES = tuple(
    to_str(lib.hv_vm_state_name(v))
    for v in (
        lib.HV_VM_STATE_UNKNOWN,
        lib.HV_VM_STATE_DEFINED,
        lib.HV_VM_STATE_RUNNING,
        lib.HV_VM_STATE_PAUSED,
        lib.HV_VM_STATE_SUSPENDED,
        lib.HV_VM_STATE_STOPPING,
        lib.HV_VM_STATE_CRASHED,
        lib.HV_VM_STATE_EXITED,
    )
)


# the callbacks a VM takes
ConsoleFn = Callable[[bytes], None]
ProgressFn = Callable[[int, int], None]
Path = Union[str, bytes, "os.PathLike[str]"]


def _key_bytes(key: Union[str, bytes, bytearray]) -> Any:
    """A migration key (bytes, or str in UTF-8) as a char[] (its NUL not counted)."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise InvalidArgument(lib.HV_E_INVAL, "key must be non-empty bytes or str")
    return ffi.new("char[]", bytes(key))


def _uint(value: object, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidArgument(lib.HV_E_INVAL,
                              f"{what} must be a whole number from 0 to {maximum}, not {value!r}")
    return value


def _take_strv(names_out: Any, count_out: Any) -> List[str]:
    """An array of strings returned by the library, as a list (freed with hv_strv_free)."""
    names, count = names_out[0], int(count_out[0])
    try:
        return [to_str(names[i]) for i in range(count)]
    finally:
        lib.hv_strv_free(names, count)


def backends() -> List[str]:
    """Names of the registered backends, in the order URIs are offered to them."""
    return [to_str(lib.hv_backend_name_at(i)) for i in range(lib.hv_backend_count())]


def load_plugins(dir: Optional[Path] = None) -> int:  # noqa: A002 (the C parameter)
    """Load every *.so in `dir` (None: $HPCVIRT_PLUGIN_DIR; nothing when
    unset) and call its hv_plugin_init(). A directory is loaded once per
    process. Returns the number of plugins loaded; raises IOFailure or Error
    (HV_E_BACKEND) naming the file that failed (the others are still loaded)."""
    c_dir = c_string(dir, "dir", filesystem=True) if dir is not None else ffi.NULL
    return check(lib.hv_backend_load_plugins(c_dir))


class Connection:
    """A connection to a backend, by URI. Use it as a context manager or call
    close(); the C connection is also closed when it is garbage collected
    and no Vm needs it any more."""

    _h: Any

    def __init__(self, uri: Optional[str] = None) -> None:
        c_uri = c_string(uri, "uri") if uri is not None else ffi.NULL
        out = ffi.new("hv_conn **")
        check(lib.hv_conn_open(c_uri, out))
        # C callbacks (console, progress) given to VMs of this connection: the
        # destructor keeps them alive until the C connection, which stops
        # those VMs, is closed.
        self._callbacks: List[Any] = []

        def _close(handle: Any, _callbacks: List[Any] = self._callbacks) -> None:
            lib.hv_conn_close(handle)

        self._h = ffi.gc(out[0], _close)
        self._uri = to_str(lib.hv_conn_uri(self._h))
        self._backend = to_str(lib.hv_conn_backend(self._h))
        self._vms: "weakref.WeakSet[Vm]" = weakref.WeakSet()

    # -- lifetime --

    def close(self) -> None:
        """Release the handles of this connection's Vms, then close it. Safe to call twice."""
        if self._h is None:
            return
        for vm in list(self._vms):
            vm._release()
        self._vms = weakref.WeakSet()
        handle, self._h = self._h, None
        ffi.release(handle)

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self) -> Any:
        if self._h is None:
            raise InvalidArgument(lib.HV_E_INVAL, f"the connection to {self._uri} is closed")
        return self._h

    # -- facts --

    @property
    def uri(self) -> str:
        """The URI it was opened with (after the $HPCVIRT_DEFAULT_URI default)."""
        return self._uri

    @property
    def backend(self) -> str:
        """Name of the backend serving it ("libvirt")."""
        return self._backend

    def host(self) -> Host:
        """The inventory of the host behind the connection (for libvirt: its
        capabilities), as an hpcvirt.Host."""
        out = ffi.new("hv_host **")
        check(lib.hv_conn_host(self._handle(), out))
        return Host(out[0])

    def list_vms(self) -> List[str]:
        """Names of the VMs the backend knows."""
        names = ffi.new("char ***")
        count = ffi.new("size_t *")
        check(lib.hv_conn_list_vms(self._handle(), names, count))
        return _take_strv(names, count)

    # -- VMs --

    def _keep(self, cb: Any) -> Any:
        """A C callback that must live as long as the C connection (its VMs call it)."""
        self._callbacks.append(cb)
        return cb

    def _bytes_cb(self, fn: Optional[ConsoleFn], what: str, signature: str) -> Any:
        """fn(data: bytes) as a C callback of `signature` (data, bytes, length); NULL for None."""
        if fn is None:
            return ffi.NULL
        if not callable(fn):
            raise TypeError(f"{what} must be callable: {what}(data: bytes)")
        call: ConsoleFn = fn  # not None here (for mypy)

        def _bytes(_data: Any, data: Any, length: int, _fn: ConsoleFn = call) -> None:
            _fn(ffi.buffer(data, length)[:])

        return self._keep(ffi.callback(signature, _bytes))

    def _console_cb(self, console: Optional[ConsoleFn]) -> Any:
        """console(data: bytes) as a C hv_vm_console_fn (NULL for None)."""
        return self._bytes_cb(console, "console", "void(void *, const char *, size_t)")

    def _channel_cb(self, channel: Optional[ConsoleFn]) -> Any:
        """channel(data: bytes) as a C hv_vm_channel_fn (NULL for None)."""
        return self._bytes_cb(channel, "channel", "void(void *, const void *, size_t)")

    def _progress_cb(self, progress: Optional[ProgressFn]) -> Any:
        """progress(vcpu: int, marker: int) as a C hv_vm_progress_fn (NULL for None)."""
        if progress is None:
            return ffi.NULL
        if not callable(progress):
            raise TypeError("progress must be callable: progress(vcpu: int, marker: int)")
        fn: ProgressFn = progress  # not None here (for mypy)

        def _progress(_data: Any, vcpu: int, marker: int, _fn: ProgressFn = fn) -> None:
            _fn(int(vcpu), int(marker))

        return self._keep(ffi.callback("void(void *, unsigned int, uint32_t)", _progress))

    def _wrap(self, handle: Any) -> "Vm":
        vm = Vm(self, handle)
        self._vms.add(vm)
        return vm

    def create(self, plan: Plan, start: bool = False, backend_options: Optional[str] = None,
               payload: Optional[Path] = None, console: Optional[ConsoleFn] = None,
               progress: Optional[ProgressFn] = None,
               channel: Optional[ConsoleFn] = None) -> "Vm":
        """Create (define) a VM from `plan` (an hpcvirt.Plan) and start it when
        `start`. `backend_options` is "key=value,..." for the backend (libvirt:
        domain_type=kvm|qemu, network=NAME, console_log=PATH). A plan with
        errors raises PlanError naming its first error finding; nothing
        reaches the backend. When the start fails the VM is removed again.

        The built-in engine (kvm:///) runs `payload`, a static ELF64 guest
        (docs/guest-abi.md), or, with no payload, boots the Linux kernel of
        the spec's boot source (`VmSpec.set_boot()`, docs/linux-guest.md: its
        console is the guest's COM1). `console(data: bytes)` gets its console output and
        `progress(vcpu: int, marker: int)` its progress markers; a Linux
        guest's `channel(data: bytes)` what it writes to its channel
        (/dev/hvc0; Vm.channel_send() writes to it): all three called from
        the vCPU threads (keep them short; do not call back into the VM)."""
        if not isinstance(plan, Plan):
            raise TypeError(f"plan must be an hpcvirt.Plan, not {type(plan).__name__}")
        conn = self._handle()
        opts = ffi.new("hv_vm_create_options *")
        check(lib.hv_vm_create_options_init(opts, VM_CREATE_OPTIONS_VERSION))
        opts.flags = lib.HV_VM_CREATE_START if start else 0
        # The char[]s must outlive the call: keep them in locals.
        c_options = (c_string(backend_options, "backend_options")
                     if backend_options is not None else ffi.NULL)
        opts.backend_options = c_options
        c_payload = (c_string(payload, "payload", filesystem=True)
                     if payload is not None else ffi.NULL)
        opts.payload = c_payload
        opts.console, opts.progress = self._console_cb(console), self._progress_cb(progress)
        opts.channel = self._channel_cb(channel)
        out = ffi.new("hv_vm **")
        check(lib.hv_vm_create(conn, plan._h, opts, out))
        return self._wrap(out[0])

    def lookup(self, name: str) -> "Vm":
        """The VM named `name`; NotFound when the backend has none."""
        c_name = c_string(name, "name")
        out = ffi.new("hv_vm **")
        check(lib.hv_vm_lookup(self._handle(), c_name, out))
        return self._wrap(out[0])

    def resume_from(self, path: Path, paused: bool = False, eager: bool = False,
                    name: Optional[str] = None, console: Optional[ConsoleFn] = None,
                    progress: Optional[ProgressFn] = None,
                    channel: Optional[ConsoleFn] = None) -> "Vm":
        """The VM that continues from a file written by Vm.suspend(); with
        `paused` its vCPUs stay paused, with `eager` all memory is read (and
        checked) now instead of on demand (always so, onto hugetlb pages, when
        the plan in the file asks for them). The built-in engine (kvm:///) also
        takes `name` (None: the name in the file, which must be free) and the
        `console`, `progress` and (a Linux guest's) `channel` callbacks, as
        create() does; its console
        callback gets only the output written after the resume (Vm.console()
        keeps what came before too). One file may be resumed any number of
        times, under different names. A file that is truncated, corrupted or
        not a snapshot raises SnapshotError."""
        opts = ffi.new("hv_vm_resume_options *")
        check(lib.hv_vm_resume_options_init(opts, VM_RESUME_OPTIONS_VERSION))
        flags = 0
        if paused:
            flags |= lib.HV_VM_RESUME_PAUSED
        if eager:
            flags |= lib.HV_VM_RESUME_EAGER
        opts.flags = flags
        conn = self._handle()
        c_name = c_string(name, "name") if name is not None else ffi.NULL
        opts.name = c_name
        opts.console, opts.progress = self._console_cb(console), self._progress_cb(progress)
        opts.channel = self._channel_cb(channel)
        c_path = c_string(path, "path", filesystem=True)
        out = ffi.new("hv_vm **")
        check(lib.hv_vm_resume_from(conn, c_path, opts, out))
        return self._wrap(out[0])

    def migrate_incoming(self, source: str, key: Optional[Union[str, bytes]] = None,
                         timeout_ms: int = 0, name: Optional[str] = None, paused: bool = False,
                         console: Optional[ConsoleFn] = None,
                         progress: Optional[ProgressFn] = None,
                         host_nodes: Optional[Iterable[int]] = None,
                         host: Optional[Host] = None) -> "Vm":
        """The destination of a live migration (the built-in engine): take
        one VM from `source` - "tcp://HOST:PORT" (listened on for one
        connection) or "fd:N" (a connected socket) - and return it running
        here. `key` (bytes or str) must be the source's; `timeout_ms` bounds
        each wait for the source (0: 30 s); `name` (None: the source's),
        `paused`, `console` and `progress` as for create(). A VM that came
        with a plan is planned again on this host - `host`, an hpcvirt.Host
        (None: this machine, discovered when the VM arrives) - and refused
        with the planner's reason when it cannot run here; that plan places
        its vNUMA nodes unless `host_nodes` does (a host node of this
        machine per vNUMA node; its vCPUs run on that node's CPUs). On any
        failure MigrationError (InvalidArgument for a host node this host
        does not have), nothing is kept and the source runs on."""
        if host is not None and not isinstance(host, Host):
            raise TypeError(f"host must be an hpcvirt.Host, not {type(host).__name__}")
        opts = ffi.new("hv_migrate_incoming_options *")
        check(lib.hv_migrate_incoming_options_init(opts, MIGRATE_INCOMING_OPTIONS_VERSION))
        keep: List[Any] = []
        opts.flags = lib.HV_MIGRATE_INCOMING_PAUSED if paused else 0
        if key is not None:
            keep.append(_key_bytes(key))
            opts.key, opts.key_bytes = keep[-1], len(keep[-1]) - 1
        opts.timeout_ms = _uint(timeout_ms, "timeout_ms", _UINT_MAX)
        if name is not None:
            keep.append(c_string(name, "name"))
            opts.name = keep[-1]
        opts.console, opts.progress = self._console_cb(console), self._progress_cb(progress)
        if host_nodes is not None:
            nodes = [int(n) for n in host_nodes]
            keep.append(ffi.new("int[]", nodes))
            opts.host_nodes, opts.host_node_count = keep[-1], len(nodes)
        if host is not None:
            opts.host = host._h  # `host` outlives the call: it is the caller's
        c_source = c_string(source, "source")
        out = ffi.new("hv_vm **")
        check(lib.hv_vm_migrate_incoming(self._handle(), c_source, opts, out))
        return self._wrap(out[0])

    def __repr__(self) -> str:
        state = " closed" if self._h is None else ""
        return f"<hpcvirt.Connection {self._uri!r} backend={self._backend!r}{state}>"


class Vm:
    """A VM a backend knows. Get one from Connection.create(), lookup() or
    resume_from(); the constructor is internal. Releasing the handle (close(),
    leaving its `with` block, garbage collection) leaves the VM itself alone:

        with conn.create(plan, start=True) as vm:      # the VM runs on after it
            ...
        with conn.create(plan, start=True).destroy_on_exit(undefine=True) as vm:
            ...                                        # powered off and removed after it
    """

    _h: Any

    def __init__(self, connection: Connection, _handle: Any) -> None:
        if not isinstance(connection, Connection) or _handle == ffi.NULL:
            raise ValueError("Vm() wraps a C hv_vm; use Connection.create() or lookup()")
        self._conn = connection

        # The destructor holds the Connection, so the C connection outlives
        # the C VM handle whatever order the garbage collector takes.
        def _free(handle: Any, _keep: Connection = connection) -> None:
            lib.hv_vm_free(handle)

        self._h = ffi.gc(_handle, _free)
        self._name = to_str(lib.hv_vm_name(self._h))
        self._exit_destroy = False
        self._exit_undefine = False

    def _release(self) -> None:
        if self._h is not None:
            handle, self._h = self._h, None
            ffi.release(handle)

    def _handle(self) -> Any:
        if self._h is None:
            raise InvalidArgument(
                lib.HV_E_INVAL,
                f"the handle of VM {self._name} was released (Vm.close(), the end of its "
                f"`with` block, or its connection was closed)",
            )
        return self._h

    # -- lifetime of the handle --

    def close(self) -> None:
        """Release the handle (hv_vm_free); the VM itself is left as it is.
        Using the Vm afterwards raises InvalidArgument. Safe to call twice."""
        self._release()
        self._conn._vms.discard(self)

    @property
    def closed(self) -> bool:
        """Whether the handle was released (close(), or the connection's)."""
        return self._h is None

    def destroy_on_exit(self, undefine: bool = False) -> "Vm":
        """Ask for the VM to be powered off (destroy()) when its `with` block
        ends, and its definition removed too with `undefine`; returns the Vm:
        `with conn.create(plan, start=True).destroy_on_exit() as vm:`."""
        self._exit_destroy = True
        self._exit_undefine = bool(undefine)
        return self

    def __enter__(self) -> "Vm":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Destroy (and undefine) the VM if destroy_on_exit() asked for it,
        then release the handle. A failure to clean up is raised unless the
        block is already raising."""
        try:
            if self._exit_destroy and self._h is not None:
                try:
                    if self.state in ("running", "paused", "stopping"):
                        self.destroy()
                    if self._exit_undefine:
                        self.undefine()
                except Error:
                    if exc_type is None:
                        raise
        finally:
            self.close()

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def name(self) -> str:
        return self._name

    @property
    def state(self) -> str:
        """The state's name: "defined", "running", "paused", "suspended",
        "stopping", "crashed", "exited" or "unknown" (see VM_STATES)."""
        out = ffi.new("int *")
        check(lib.hv_vm_state(self._handle(), out))
        return to_str(lib.hv_vm_state_name(out[0]))

    # -- lifecycle --

    def start(self) -> None:
        check(lib.hv_vm_start(self._handle()))

    def pause(self) -> None:
        check(lib.hv_vm_pause(self._handle()))

    def resume(self) -> None:
        """Continue a paused VM."""
        check(lib.hv_vm_resume(self._handle()))

    def stop(self, timeout_ms: int = 60000) -> None:
        """Ask the guest to shut down; after `timeout_ms` (0 = at once) power it off."""
        check(lib.hv_vm_stop(self._handle(), _uint(timeout_ms, "timeout_ms", _UINT_MAX)))

    def destroy(self) -> None:
        """Power off at once."""
        check(lib.hv_vm_destroy(self._handle()))

    def undefine(self) -> None:
        """Remove the VM's definition (it must not be running)."""
        check(lib.hv_vm_undefine(self._handle()))

    # -- suspend and resume --

    def suspend(self, path: Path, keep_running: bool = False) -> None:
        """Write the VM's state and memory to `path`; the VM stops unless
        `keep_running`. Connection.resume_from(path) continues it."""
        opts = ffi.new("hv_vm_suspend_options *")
        check(lib.hv_vm_suspend_options_init(opts, VM_SUSPEND_OPTIONS_VERSION))
        opts.flags = lib.HV_VM_SUSPEND_KEEP_RUNNING if keep_running else 0
        c_path = c_string(path, "path", filesystem=True)
        check(lib.hv_vm_suspend(self._handle(), c_path, opts))

    def managed_save(self) -> None:
        """Suspend into the backend's own storage; the next start() resumes there."""
        check(lib.hv_vm_managed_save(self._handle()))

    @property
    def has_managed_save(self) -> bool:
        out = ffi.new("bool *")
        check(lib.hv_vm_has_managed_save(self._handle(), out))
        return bool(out[0])

    # -- snapshots --

    def snapshot_create(self, name: str) -> None:
        c_name = c_string(name, "name")
        check(lib.hv_vm_snapshot_create(self._handle(), c_name))

    def snapshot_revert(self, name: str) -> None:
        c_name = c_string(name, "name")
        check(lib.hv_vm_snapshot_revert(self._handle(), c_name))

    def snapshot_delete(self, name: str) -> None:
        c_name = c_string(name, "name")
        check(lib.hv_vm_snapshot_delete(self._handle(), c_name))

    def snapshot_list(self) -> List[str]:
        """Snapshot names."""
        names = ffi.new("char ***")
        count = ffi.new("size_t *")
        check(lib.hv_vm_snapshot_list(self._handle(), names, count))
        return _take_strv(names, count)

    # -- migration --

    def migrate(self, dest: str, bandwidth_mib_per_s: int = 0, max_downtime_ms: int = 0,
                offline: bool = False, key: Optional[Union[str, bytes]] = None,
                max_rounds: int = 0, timeout_ms: int = 0, fail_unconverged: bool = False,
                throttle: bool = False,
                progress: Optional[Callable[[Dict[str, Any]], None]] = None) -> Dict[str, int]:
        """Live-migrate the running VM to `dest` (for libvirt: the destination's
        libvirt URI, peer to peer; for the built-in engine "tcp://HOST:PORT"
        of a Connection.migrate_incoming() or "fd:N", a connected socket);
        `offline` moves a stopped VM's definition only. 0 means unlimited
        bandwidth and the backend's default downtime. `throttle` slows down a
        guest that dirties memory faster than it can be sent (libvirt: auto-
        converge). The built-in engine also takes `key` (bytes or str, the
        destination's), `max_rounds` of pre-copy (0: 30; past them it stops
        the VM for the rest, or gives up with `fail_unconverged`),
        `timeout_ms` for each wait (0: 30 s) and `progress`, called as
        progress(dict) with round, stopped, memory_bytes, bytes_sent,
        remaining_bytes, dirty_bytes_per_s, bandwidth_bytes_per_s,
        expected_downtime_ns and throttle_percent after each batch (at most
        every 100 ms), each round and before the stop: an exception it raises
        cancels the migration (the VM runs on) and is raised here. It
        returns the statistics as a dict (total_ns, downtime_ns, bytes_sent,
        pages_sent, zero_pages, rounds); on a failure it raises
        MigrationError and the VM runs on here. A VM whose plan forbids live
        migration raises Unsupported with the plan's reason; nothing is sent."""
        opts = ffi.new("hv_migrate_options *")
        check(lib.hv_migrate_options_init(opts, MIGRATE_OPTIONS_VERSION))
        flags = lib.HV_MIGRATE_OFFLINE if offline else 0
        if fail_unconverged:
            flags |= lib.HV_MIGRATE_FAIL_UNCONVERGED
        if throttle:
            flags |= lib.HV_MIGRATE_THROTTLE
        opts.flags = flags
        raised: List[BaseException] = []
        if progress is not None:
            if not callable(progress):
                raise TypeError("progress must be callable: progress(state: dict)")
            fn: Callable[[Dict[str, Any]], None] = progress  # not None here (for mypy)

            def _progress(c_progress: Any, _data: Any,
                          _fn: Callable[[Dict[str, Any]], None] = fn) -> int:
                try:
                    state: Dict[str, Any] = {field: int(getattr(c_progress, field))
                                             for field in _MIGRATE_PROGRESS}
                    state["stopped"] = bool(c_progress.stopped)
                    _fn(state)
                    return 0
                except BaseException as exc:  # pylint: disable=broad-except
                    raised.append(exc)
                    return 1

            c_progress_cb = ffi.callback("int(const hv_migrate_progress *, void *)", _progress)
            opts.progress = c_progress_cb
        opts.bandwidth_mib_per_s = _uint(bandwidth_mib_per_s, "bandwidth_mib_per_s", _UINT64_MAX)
        opts.max_downtime_ms = _uint(max_downtime_ms, "max_downtime_ms", _UINT_MAX)
        opts.max_rounds = _uint(max_rounds, "max_rounds", _UINT_MAX)
        opts.timeout_ms = _uint(timeout_ms, "timeout_ms", _UINT_MAX)
        c_key = None
        if key is not None:
            c_key = _key_bytes(key)
            opts.key, opts.key_bytes = c_key, len(c_key) - 1
        stats = ffi.new("hv_migrate_stats *")
        opts.stats = stats
        c_dest = c_string(dest, "dest")
        rc = lib.hv_vm_migrate(self._handle(), c_dest, opts)
        if raised:
            raise raised[0]
        check(rc)
        return {field: int(getattr(stats, field)) for field in
                ("total_ns", "downtime_ns", "bytes_sent", "pages_sent", "zero_pages", "rounds")}

    # -- running guests (the built-in engine) --

    def wait(self, timeout_ms: Optional[int] = None) -> int:
        """Wait for the guest to end and return its exit code. GuestError when
        it crashed (the message has the exit reason and registers),
        TimedOut after `timeout_ms` (None: no limit), StateError when it
        is not running."""
        timeout = -1 if timeout_ms is None else _uint(timeout_ms, "timeout_ms", 0x7FFFFFFF)
        code = ffi.new("int *")
        check(lib.hv_vm_wait(self._handle(), timeout, code))
        return int(code[0])

    @property
    def exit_code(self) -> int:
        """The exit code of a guest that exited (StateError before; GuestError after a crash)."""
        code = ffi.new("int *")
        check(lib.hv_vm_exit_code(self._handle(), code))
        return int(code[0])

    def console(self) -> str:
        """The console output kept for the VM (its most recent 64 KiB), as str."""
        length = ffi.new("size_t *")
        buf = ffi.new("char[]", 64 * 1024 + 1)
        check(lib.hv_vm_console_read(self._handle(), buf, len(buf), length))
        return ffi.string(buf).decode("utf-8", "replace")

    def channel_send(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """Send `data` to a Linux guest's channel (it reads /dev/hvc0): the
        number of bytes taken, fewer than len(data) when the engine's queue
        (HV_VM_CHANNEL_QUEUE_BYTES) is full - send the rest later. Never
        waits for the guest. Unsupported for payload VMs and on libvirt."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        raw = bytes(data)
        sent = ffi.new("size_t *")
        check(lib.hv_vm_channel_send(self._handle(), raw, len(raw), sent))
        return int(sent[0])

    def stats(self) -> Dict[str, int]:
        """Exit counters and times: {"exits": n, "exits_io": n, ..., "guest_ns": n}."""
        value = ffi.new("uint64_t *")
        out: Dict[str, int] = {}
        for stat in range(lib.HV_VM_STAT_COUNT):
            check(lib.hv_vm_stat(self._handle(), stat, value))
            out[to_str(lib.hv_vm_stat_name(stat))] = int(value[0])
        return out

    def progress(self, vcpu: int) -> Tuple[int, int]:
        """(last marker, markers written) of one vCPU."""
        marker = ffi.new("uint32_t *")
        count = ffi.new("uint64_t *")
        check(lib.hv_vm_progress(self._handle(), _uint(vcpu, "vcpu", _UINT_MAX), marker, count))
        return int(marker[0]), int(count[0])

    def memory(self) -> List[Dict[str, Any]]:
        """How each vNUMA node's memory is really backed: a list of dicts with
        guest_base, bytes, page_bytes, host_node, bound, thp_requested,
        thp_bytes, resident_bytes, and where the kernel has put the resident
        bytes: host_node_bytes (on host_node) and other_node_bytes."""
        count = ffi.new("size_t *")
        check(lib.hv_vm_memory_node_count(self._handle(), count))
        nodes = []
        for i in range(int(count[0])):
            info = ffi.new("hv_vm_memory_info *")
            check(lib.hv_vm_memory_info_init(info, VM_MEMORY_INFO_VERSION))
            check(lib.hv_vm_memory_node_info(self._handle(), i, info))
            nodes.append({
                "guest_base": int(info.guest_base),
                "bytes": int(info.bytes),
                "page_bytes": int(info.page_bytes),
                "host_node": int(info.host_node),
                "bound": bool(info.bound),
                "thp_requested": bool(info.thp_requested),
                "thp_bytes": int(info.thp_bytes),
                "resident_bytes": int(info.resident_bytes),
                "host_node_bytes": int(info.host_node_bytes),
                "other_node_bytes": int(info.other_node_bytes),
            })
        return nodes

    # -- clones (the built-in engine; linked clones: libvirt) --

    def clone(self, count: int, mode: str = CLONE_INSTANT, paused: bool = False, threads: int = 0,
              console: Optional[ConsoleFn] = None, progress: Optional[ProgressFn] = None,
              names: Optional[Sequence[str]] = None, name_pattern: Optional[str] = None,
              identities: Optional[Sequence[str]] = None,
              channel: Optional[Callable[[int, bytes], None]] = None,
              snapshot: Optional[str] = None) -> List["Vm"]:
        """Make `count` clones of this running or paused VM and return them
        as a list of Vm. The VM is paused at a consistent point and stays
        paused (resume() it to go on); each clone starts where it stood, with
        its own identity (clone_identity), console and memory, isolated from
        the parent and the others. `mode`: "instant" (copy-on-write views of
        the parent's memory), "full" (the memory copied) or "cold" (fresh
        boots of its payload); on libvirt "linked": this VM, shut off, stays
        as it is and each clone is a new domain (new name, UUID, MACs) whose
        writable disks are qcow2 overlays of its images, started (paused
        with `paused`); a VM suspended with managed_save() gives clones that
        start from its memory (QEMU driver on this host; refused when it was
        saved with a network interface). `snapshot` (linked only) names one
        of this VM's external libvirt snapshots to clone instead, this VM
        running or not: the clones' overlays are backed by the images it
        froze, and with its memory they start from that memory; an internal
        snapshot is Unsupported. `paused` leaves the clones paused; `threads`
        make them (0: one per host CPU). `console(data: bytes)` gets every
        clone's console (None: this VM's callback); `progress(done: int,
        total: int)` is called as they are made. `names` (one per clone) or
        `name_pattern` ("web-{index}": {index} becomes the clone's index)
        name them; `identities` (one str per clone, at most 4096 bytes of
        UTF-8) is what each clone reads as its own: from its boot info on the
        built-in engine (instant and full clones), from its SMBIOS OEM strings
        on libvirt (a Linux guest has no boot info: send its clones their
        identities over their channels). A Linux guest's clones write their
        channels to `channel(i: int, data: bytes)`, i being the clone's
        position in the list returned (None: this VM's callback); clones of
        a Linux guest share its disks, which must all be read-only. All or
        nothing: when one fails, none is kept. RangeError
        for a count outside 1..1000000, InvalidArgument for another mode, a
        bad name or identity; Unsupported on other backends."""
        count = _uint(count, "count", _UINT64_MAX)
        if not 1 <= count <= _MAX_CLONES:  # before the array is allocated
            raise RangeError(lib.HV_E_RANGE,
                             f"count {count}: make 1 to {_MAX_CLONES} clones at a time")
        if mode not in _CLONE_MODE_VALUES:
            raise InvalidArgument(lib.HV_E_INVAL,
                                  f"mode must be one of {', '.join(VM_CLONE_MODES)}, not {mode!r}")
        conn = self._conn
        opts = ffi.new("hv_vm_clone_options *")
        check(lib.hv_vm_clone_options_init(opts, VM_CLONE_OPTIONS_VERSION))
        opts.flags = lib.HV_VM_CLONE_PAUSED if paused else 0
        opts.mode = _CLONE_MODE_VALUES[mode]
        opts.threads = _uint(threads, "threads", _UINT_MAX)
        opts.console = conn._console_cb(console)
        if progress is not None:
            if not callable(progress):
                raise TypeError("progress must be callable: progress(done: int, total: int)")
            fn: ProgressFn = progress  # not None here (for mypy)

            def _progress(_data: Any, done: int, total: int, _fn: ProgressFn = fn) -> None:
                _fn(int(done), int(total))

            opts.progress = conn._keep(ffi.callback("void(void *, size_t, size_t)", _progress))
        keep: List[Any] = []  # the C strings live until hv_vm_clone() returns

        def _strings(values: Sequence[str], what: str) -> Any:
            if isinstance(values, (str, bytes)) or len(values) != count:
                raise InvalidArgument(lib.HV_E_INVAL,
                                      f"{what} must be a list of {count} str, one per clone")
            array = ffi.new("char *[]", count)
            for i, value in enumerate(values):
                if not isinstance(value, str):
                    raise TypeError(f"{what}[{i}] must be a str, not {type(value).__name__}")
                keep.append(c_string(value, f"{what}[{i}]"))
                array[i] = keep[-1]
            keep.append(array)
            return array

        if names is not None:
            opts.names = _strings(names, "names")
        if name_pattern is not None:
            keep.append(c_string(name_pattern, "name_pattern"))
            opts.name_pattern = keep[-1]
        if identities is not None:
            opts.identities = _strings(identities, "identities")
        if snapshot is not None:
            keep.append(c_string(snapshot, "snapshot"))
            opts.snapshot = keep[-1]
        if channel is not None:
            if not callable(channel):
                raise TypeError("channel must be callable: channel(i: int, data: bytes)")
            chan: Callable[[int, bytes], None] = channel  # not None here (for mypy)

            def _channel(data: Any, raw: Any, length: int,
                         _fn: Callable[[int, bytes], None] = chan) -> None:
                _fn(int(ffi.cast("uintptr_t", data)), ffi.buffer(raw, length)[:])

            opts.channel = conn._keep(ffi.callback("void(void *, const void *, size_t)",
                                                   _channel))
            positions = ffi.new("void *[]", count)
            for i in range(count):
                positions[i] = ffi.cast("void *", i)
            keep.append(positions)
            opts.channel_data = positions
        out = ffi.new("hv_vm *[]", count)
        check(lib.hv_vm_clone(self._handle(), count, opts, out))
        return [conn._wrap(out[i]) for i in range(count)]

    def clone_prepare(self, count: int) -> None:
        """Make `count` empty VMs like this one ahead of need, so that the
        next clone() costs only the mappings and register writes."""
        check(lib.hv_vm_clone_prepare(self._handle(), _uint(count, "count", _UINT64_MAX)))

    @property
    def clone_identity(self) -> Tuple[int, int]:
        """(clone_id, clone_index): a clone's unique id and which clone of its
        parent it is (1, 2, ...); (0, 0) for a VM that is not a clone."""
        clone_id = ffi.new("uint64_t *")
        clone_index = ffi.new("uint64_t *")
        check(lib.hv_vm_clone_identity(self._handle(), clone_id, clone_index))
        return int(clone_id[0]), int(clone_index[0])

    def __repr__(self) -> str:
        return f"<hpcvirt.Vm {self._name!r} on {self._conn.uri!r}>"


__all__ = [
    "DEFAULT_URI",
    "VM_CREATE_OPTIONS_VERSION",
    "VM_MEMORY_INFO_VERSION",
    "VM_SUSPEND_OPTIONS_VERSION",
    "VM_RESUME_OPTIONS_VERSION",
    "VM_CLONE_OPTIONS_VERSION",
    "VM_CLONE_MODES",
    "CLONE_INSTANT",
    "CLONE_FULL",
    "CLONE_COLD",
    "CLONE_LINKED",
    "MIGRATE_OPTIONS_VERSION",
    "MIGRATE_INCOMING_OPTIONS_VERSION",
    "VM_STATES",
    "Connection",
    "Vm",
    "backends",
    "load_plugins",
]
