"""VM specs (hpcvirt/spec.h): the VM a user wants - vCPUs, memory, firmware,
topology hints, vNUMA, page size, CPU placement, accelerators, NICs, RDMA
attachments, disks, a boot source (a Linux kernel booted directly), guest
physical-address width and the maximums profile.

    spec = hpcvirt.VmSpec(name="train", vcpus=96, memory="1TiB",
                          cpu_placement="dedicated")
    spec.add_accelerator_model("a100-sxm4-80gb", count=8)
    spec = hpcvirt.VmSpec.from_json(open("examples/specs/training-8gpu.json").read())
    linux = hpcvirt.VmSpec(name="micro", vcpus=2, memory="1GiB")
    linux.set_boot("/srv/vmlinuz", initrd="/srv/initrd.img", cmdline="console=ttyS0")
    linux.add_disk("/srv/root.img", read_only=True)

Every setter hands its value to the C library, which checks it at once: a
bad value raises SpecError whose `path` names the field as the JSON reader
would ("accelerators[1].mdev_type"). Enum values are the strings the JSON
format uses ("efi", "dedicated", "sr-iov"); an unknown one raises ValueError.
Setters return the spec, so calls chain.
"""
import json
import os
from collections.abc import Mapping as _MappingABC
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Type, Union

from ._native import ffi, lib, take_str, to_str
from .errors import Error, ParseError, SpecError, c_string, check

# These mirror the #define constants of include/hpcvirt/spec.h and plan.h,
# which the generated cffi cdef does not carry (it holds only declarations
# and enums).
GUEST_PHYS_BITS_AUTO = 0  # HV_GUEST_PHYS_BITS_AUTO
GUEST_PHYS_BITS_HOST = -1  # HV_GUEST_PHYS_BITS_HOST
PLAN_OPTIONS_VERSION = 1  # HV_PLAN_OPTIONS_VERSION

_UINT_MAX = 0xFFFFFFFF
_UINT64_MAX = 0xFFFFFFFFFFFFFFFF
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1

# ---- enum strings <-> C values (the one place they are mapped) ---------------
# The strings are those of the spec and plan JSON formats (docs/spec-json.md).

FIRMWARE = {"auto": lib.HV_FIRMWARE_AUTO, "bios": lib.HV_FIRMWARE_BIOS, "efi": lib.HV_FIRMWARE_EFI}
VNUMA_POLICY = {"balanced": lib.HV_VNUMA_BALANCED, "vsphere": lib.HV_VNUMA_VSPHERE}
PAGE_SIZE = {
    "auto": lib.HV_PAGE_SIZE_AUTO,
    "4k": lib.HV_PAGE_SIZE_4K,
    "2m": lib.HV_PAGE_SIZE_2M,
    "1g": lib.HV_PAGE_SIZE_1G,
}
CPU_PLACEMENT = {"shared": lib.HV_CPU_PLACEMENT_SHARED,
                 "dedicated": lib.HV_CPU_PLACEMENT_DEDICATED}
ACCEL_MODE = {
    "passthrough": lib.HV_ACCEL_MODE_PASSTHROUGH,
    "vgpu": lib.HV_ACCEL_MODE_VGPU,
    "fpga": lib.HV_ACCEL_MODE_FPGA,
}
NIC_RSS = {"tcp": lib.HV_NIC_RSS_TCP, "udp": lib.HV_NIC_RSS_UDP, "esp": lib.HV_NIC_RSS_ESP}
NIC_TUNNEL = {"vxlan": lib.HV_NIC_TUNNEL_VXLAN, "geneve": lib.HV_NIC_TUNNEL_GENEVE}
RDMA_PROTOCOL = {
    "roce-v2": lib.HV_RDMA_ROCE_V2,
    "roce-v1": lib.HV_RDMA_ROCE_V1,
    "infiniband": lib.HV_RDMA_INFINIBAND,
}
RDMA_MODE = {
    "pvrdma": lib.HV_RDMA_MODE_PVRDMA,
    "sr-iov": lib.HV_RDMA_MODE_SRIOV,
    "passthrough": lib.HV_RDMA_MODE_PASSTHROUGH,
}
DISK_FORMAT = {"raw": lib.HV_DISK_FORMAT_RAW, "qcow2": lib.HV_DISK_FORMAT_QCOW2}
DISK_BUS = {
    "virtio": lib.HV_DISK_BUS_VIRTIO,
    "scsi": lib.HV_DISK_BUS_SCSI,
    "sata": lib.HV_DISK_BUS_SATA,
}
PLAN_DEVICE_TYPE = {
    "accelerator": lib.HV_PLAN_DEVICE_ACCELERATOR,
    "nic": lib.HV_PLAN_DEVICE_NIC,
    "rdma": lib.HV_PLAN_DEVICE_RDMA,
}


def enum_value(table: Mapping[str, int], what: str, name: object) -> int:
    """The C value of enum string `name` in `table`; ValueError names the choices."""
    if isinstance(name, str) and name in table:
        return table[name]
    raise ValueError(f"{what} {name!r} is not one of " + ", ".join(repr(k) for k in table))


def enum_name(table: Mapping[str, int], value: int) -> str:
    """The string of C enum value `value` in `table`, '' when it has none."""
    for name, v in table.items():
        if v == value:
            return name
    return ""


def flags_value(table: Mapping[str, int], what: str, names: Union[str, Iterable[str]]) -> int:
    """Bit flags from an iterable of flag names ("tcp", "udp")."""
    if isinstance(names, str):
        names = (names,)
    bits = 0
    for name in names:
        bits |= enum_value(table, what, name)
    return bits


# ---- argument helpers -------------------------------------------------------


def _c_text(text: object, what: str, error: Type[Error] = SpecError,
            path: Optional[str] = None) -> Any:
    """A str or bytes as a C string; `error` with `path` (default: `what`)
    for text a C string cannot hold (a NUL character)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    return c_string(text, what, error, what if path is None else path)


def _c_path(path: object, what: str) -> Any:
    """A file's path (str, bytes or a path object) as a C string."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    return _c_text(path, what)


def _optional_str(value: Any) -> Optional[str]:
    """A borrowed C string that may be NULL as str or None."""
    return None if value == ffi.NULL else to_str(value)


def _spec_error(path: str, message: str) -> SpecError:
    return SpecError(lib.HV_E_SPEC, message, path)


def _uint(value: object, path: str, limit: int = _UINT_MAX) -> int:
    """A Python int for an unsigned C parameter: TypeError for non-integers,
    SpecError (with `path`) for what C's type cannot hold."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{path} must be an int, not {type(value).__name__}")
    if value < 0:
        raise _spec_error(path, f"{path} must not be negative (got {value})")
    if value > limit:
        raise _spec_error(path, f"{path} is too large (at most {limit})")
    return value


def _memory(value: object, path: str) -> int:
    """Bytes from an int or a size string ("1.5TiB"); SpecError names `path`."""
    if isinstance(value, (str, bytes)):
        out = ffi.new("uint64_t *")
        if lib.hv_size_parse(_c_text(value, path), out) < 0:
            reason = to_str(lib.hv_error_message(lib.hv_error_last()))
            raise _spec_error(path, f"{path}: {reason}")
        return int(out[0])
    return _uint(value, path, _UINT64_MAX)


# A size: bytes, or a size string ("1.5TiB", "512MiB")
Size = Union[int, str, bytes]
# explicit vNUMA nodes: (vcpus, memory) pairs or {"vcpus": .., "memory": ..}
VnumaNodes = Iterable[Union[Tuple[int, Size], Mapping[str, Any]]]
# a file's path: str, bytes or a path object
PathArg = Union[str, bytes, "os.PathLike[str]"]


# ---- the spec ---------------------------------------------------------------


class VmSpec:
    """A VM spec. Keyword arguments are applied through the setters in the
    order of the JSON format; unset ones keep the library's defaults (name
    "vm", 1 vCPU, 1 GiB, everything "auto", profile "vsphere-6.7").

    `vnuma` is "auto" or a list of nodes, each a (vcpus, memory) pair or a
    {"vcpus": .., "memory": ..} dict; `accelerators`, `nics`, `rdma` and
    `disks` are lists of dicts with the keyword arguments of add_accelerator()
    / add_accelerator_model() (pci_address or model), add_nic(), add_rdma()
    and add_disk(); `boot` is a dict with the keyword arguments of set_boot()
    ({"kernel": .., "initrd": .., "cmdline": ..}, as in the JSON). Equality
    compares the canonical JSON (to_json())."""

    _h: Any

    def __init__(self, name: Optional[str] = None, vcpus: Optional[int] = None,
                 memory: Optional[Size] = None, *, firmware: Optional[str] = None,
                 cores_per_socket: Optional[int] = None, threads_per_core: Optional[int] = None,
                 vnuma: Optional[Union[str, VnumaNodes]] = None, vnuma_policy: Optional[str] = None,
                 prefer_ht: Optional[bool] = None,
                 page_size: Optional[str] = None, cpu_placement: Optional[str] = None,
                 accelerators: Iterable[Mapping[str, Any]] = (),
                 nics: Iterable[Mapping[str, Any]] = (), rdma: Iterable[Mapping[str, Any]] = (),
                 disks: Iterable[Mapping[str, Any]] = (),
                 boot: Optional[Mapping[str, Any]] = None,
                 guest_phys_bits: Optional[Union[str, int]] = None, profile: Optional[str] = None,
                 _handle: Any = None) -> None:
        if _handle is None:
            out = ffi.new("hv_vm_spec **")
            check(lib.hv_vm_spec_new(out))
            _handle = out[0]
        self._h = ffi.gc(_handle, lib.hv_vm_spec_free)
        if name is not None:
            self.set_name(name)
        if vcpus is not None:
            self.set_vcpus(vcpus)
        if memory is not None:
            self.set_memory(memory)
        if firmware is not None:
            self.set_firmware(firmware)
        if cores_per_socket is not None or threads_per_core is not None:
            self.set_topology(cores_per_socket or 0, threads_per_core or 0)
        if vnuma is not None:
            self.set_vnuma(vnuma)
        if vnuma_policy is not None:
            self.set_vnuma_policy(vnuma_policy)
        if prefer_ht is not None:
            self.set_prefer_ht(prefer_ht)
        if page_size is not None:
            self.set_page_size(page_size)
        if cpu_placement is not None:
            self.set_cpu_placement(cpu_placement)
        for acc in accelerators:
            acc = dict(acc)
            if "pci_address" in acc:
                self.add_accelerator(**acc)
            else:
                self.add_accelerator_model(**acc)
        for nic in nics:
            self.add_nic(**dict(nic))
        for att in rdma:
            self.add_rdma(**dict(att))
        for disk in disks:
            self.add_disk(**dict(disk))
        if boot is not None:
            self.set_boot(**dict(boot))
        if guest_phys_bits is not None:
            self.set_guest_phys_bits(guest_phys_bits)
        if profile is not None:
            self.set_profile(profile)

    # -- construction and serialisation --

    @classmethod
    def _wrap(cls, handle: Any) -> "VmSpec":
        """A VmSpec owning the C `hv_vm_spec *` handle."""
        return cls(_handle=handle)

    @classmethod
    def from_json(cls, text_or_dict: Union[str, bytes, bytearray, Mapping[str, Any]]) -> "VmSpec":
        """A spec from JSON text (str or bytes) or from a dict of the JSON
        format (any other Python value is serialised with json.dumps first).
        Raises SpecError whose `path` names the offending field, or
        ParseError for text that is not JSON (or has a NUL character, which
        a C string cannot hold)."""
        if not isinstance(text_or_dict, (str, bytes, bytearray)):
            text_or_dict = json.dumps(text_or_dict)
        c_text = _c_text(text_or_dict, "the spec JSON", ParseError, "")
        out = ffi.new("hv_vm_spec **")
        check(lib.hv_vm_spec_from_json(c_text, out))
        return cls._wrap(out[0])

    @classmethod
    def from_file(cls, path: Union[str, bytes, "os.PathLike[str]"]) -> "VmSpec":
        """A spec from a JSON file."""
        with open(os.fspath(path), "rb") as f:
            return cls.from_json(f.read())

    def to_json(self, pretty: bool = False) -> str:
        """The canonical JSON: every key in a fixed order, memory in bytes."""
        out = ffi.new("char **")
        check(lib.hv_vm_spec_to_json(self._h, lib.HV_JSON_PRETTY if pretty else lib.HV_JSON_COMPACT,
                                     out))
        return take_str(out[0])

    def to_dict(self) -> Dict[str, Any]:
        """to_json() parsed into Python objects."""
        return json.loads(self.to_json())

    def copy(self) -> "VmSpec":
        """An independent copy."""
        out = ffi.new("hv_vm_spec **")
        check(lib.hv_vm_spec_copy(self._h, out))
        return type(self)._wrap(out[0])

    __copy__ = copy

    def __deepcopy__(self, memo: object) -> "VmSpec":
        return self.copy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VmSpec):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"<hpcvirt.VmSpec {self.name!r} {self.vcpus} vCPUs, {self.memory_bytes} bytes, "
                f"profile {self.profile!r}>")

    # -- getters --

    @property
    def name(self) -> str:
        return to_str(lib.hv_vm_spec_name(self._h))

    @property
    def vcpus(self) -> int:
        return int(lib.hv_vm_spec_vcpus(self._h))

    @property
    def memory_bytes(self) -> int:
        return int(lib.hv_vm_spec_memory_bytes(self._h))

    @property
    def profile(self) -> str:
        """Name of the maximums profile the spec is checked against."""
        return to_str(lib.hv_vm_spec_profile(self._h))

    @property
    def boot_kernel(self) -> Optional[str]:
        """The boot source's kernel path; None without a boot source."""
        return _optional_str(lib.hv_vm_spec_boot_kernel(self._h))

    @property
    def boot_initrd(self) -> Optional[str]:
        """The boot source's initrd path; None when it has none."""
        return _optional_str(lib.hv_vm_spec_boot_initrd(self._h))

    @property
    def boot_cmdline(self) -> Optional[str]:
        """The kernel's command line; None when it has none."""
        return _optional_str(lib.hv_vm_spec_boot_cmdline(self._h))

    @property
    def boot(self) -> Optional[Dict[str, Optional[str]]]:
        """The boot source as {"kernel": .., "initrd": .., "cmdline": ..} (None
        for a part it lacks), what set_boot() takes; None without one."""
        if self.boot_kernel is None:
            return None
        return {"kernel": self.boot_kernel, "initrd": self.boot_initrd,
                "cmdline": self.boot_cmdline}

    # -- setters (each returns self) --

    def _count(self, key: str) -> int:
        """How many entries list `key` ("accelerators") holds (for error paths)."""
        value = self.to_dict().get(key)
        return len(value) if isinstance(value, list) else 0

    def set_name(self, name: str) -> "VmSpec":
        """Letters, digits, '-', '_' and '.', at most 64 characters."""
        c_name = _c_text(name, "name")
        check(lib.hv_vm_spec_set_name(self._h, c_name))
        return self

    def set_vcpus(self, vcpus: int) -> "VmSpec":
        check(lib.hv_vm_spec_set_vcpus(self._h, _uint(vcpus, "vcpus")))
        return self

    def set_memory(self, memory: Size) -> "VmSpec":
        """Memory as int bytes or a size string ("1.5TiB"): a whole number of MiB."""
        check(lib.hv_vm_spec_set_memory_bytes(self._h, _memory(memory, "memory")))
        return self

    set_memory_bytes = set_memory

    def set_firmware(self, firmware: str) -> "VmSpec":
        """'auto', 'bios' or 'efi'."""
        check(lib.hv_vm_spec_set_firmware(self._h, enum_value(FIRMWARE, "firmware", firmware)))
        return self

    def set_topology(self, cores_per_socket: int = 0, threads_per_core: int = 0) -> "VmSpec":
        """Guest CPU topology hints; 0 means "derive" for either."""
        check(lib.hv_vm_spec_set_topology(self._h, _uint(cores_per_socket, "cores_per_socket"),
                                          _uint(threads_per_core, "threads_per_core")))
        return self

    def set_vnuma_policy(self, policy: str) -> "VmSpec":
        """'balanced' (default) or 'vsphere'."""
        check(lib.hv_vm_spec_set_vnuma_policy(self._h,
                                              enum_value(VNUMA_POLICY, "vnuma_policy", policy)))
        return self

    def set_vnuma_auto(self) -> "VmSpec":
        """Automatic vNUMA (the default); drops explicit nodes."""
        check(lib.hv_vm_spec_set_vnuma_auto(self._h))
        return self

    def add_vnuma_node(self, vcpus: int, memory: Size) -> "VmSpec":
        """Append an explicit vNUMA node; the nodes must add up to the VM's
        vCPUs and memory (the planner checks that)."""
        index = None

        def path(key: str) -> str:
            nonlocal index
            if index is None:
                vnuma = self.to_dict()["vnuma"]
                index = len(vnuma) if isinstance(vnuma, list) else 0
            return f"vnuma[{index}].{key}"

        if isinstance(vcpus, bool) or not isinstance(vcpus, int) or not 0 <= vcpus <= _UINT_MAX:
            _uint(vcpus, path("vcpus"))
        if isinstance(memory, (str, bytes)) or not (isinstance(memory, int) and
                                                    0 <= memory <= _UINT64_MAX):
            memory = _memory(memory, path("memory"))
        check(lib.hv_vm_spec_add_vnuma_node(self._h, vcpus, memory))
        return self

    def set_vnuma(self, nodes: Union[str, VnumaNodes]) -> "VmSpec":
        """"auto", or a list of nodes: (vcpus, memory) pairs or
        {"vcpus": .., "memory": ..} dicts, replacing any explicit nodes."""
        if isinstance(nodes, str):
            if nodes != "auto":
                raise ValueError(f"vnuma {nodes!r} is not 'auto' or a list of nodes")
            return self.set_vnuma_auto()
        self.set_vnuma_auto()
        for node in nodes:
            if isinstance(node, _MappingABC):
                self.add_vnuma_node(node["vcpus"], node["memory"])
            else:
                vcpus, memory = node
                self.add_vnuma_node(vcpus, memory)
        return self

    def set_prefer_ht(self, prefer_ht: bool = True) -> "VmSpec":
        """Prefer placing vCPUs on SMT siblings (as vSphere's numa.vcpu.preferHT)."""
        check(lib.hv_vm_spec_set_prefer_ht(self._h, bool(prefer_ht)))
        return self

    def set_page_size(self, page_size: str) -> "VmSpec":
        """'auto', '4k', '2m' or '1g'."""
        check(lib.hv_vm_spec_set_page_size(self._h, enum_value(PAGE_SIZE, "page_size", page_size)))
        return self

    def set_cpu_placement(self, placement: str) -> "VmSpec":
        """'shared' or 'dedicated' (each vCPU pinned to its own host CPU)."""
        check(lib.hv_vm_spec_set_cpu_placement(
            self._h, enum_value(CPU_PLACEMENT, "cpu_placement", placement)))
        return self

    def add_accelerator(self, pci_address: str, mode: str = "passthrough",
                        mdev_type: Optional[str] = None) -> "VmSpec":
        """A host accelerator by PCI address ("0000:41:00.0", lowercase).
        `mode` is 'passthrough', 'vgpu' (needs `mdev_type`) or 'fpga'."""
        c_mode = enum_value(ACCEL_MODE, "accelerator mode", mode)
        c_addr = _c_text(pci_address, "pci_address")
        c_mdev = _c_text(mdev_type, "mdev_type") if mdev_type is not None else ffi.NULL
        check(lib.hv_vm_spec_add_accelerator(self._h, c_addr, c_mode, c_mdev))
        return self

    def add_accelerator_model(self, model: str, count: int = 1, mode: str = "passthrough",
                              mdev_type: Optional[str] = None) -> "VmSpec":
        """`count` accelerators of catalogue model `model` ("a100-sxm4-80gb")."""
        c_mode = enum_value(ACCEL_MODE, "accelerator mode", mode)
        c_model = _c_text(model, "model")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _UINT_MAX:
            _uint(count, f"accelerators[{self._count('accelerators')}].count")
        c_mdev = _c_text(mdev_type, "mdev_type") if mdev_type is not None else ffi.NULL
        check(lib.hv_vm_spec_add_accelerator_model(self._h, c_model, count, c_mode, c_mdev))
        return self

    def add_nic(self, model: Optional[str] = "virtio-net", queues: int = 0,
                rss: Union[str, Iterable[str]] = (),
                tunnel_offloads: Union[str, Iterable[str]] = ()) -> "VmSpec":
        """A NIC: model 'virtio-net' (or 'vmxnet3', mapped to virtio-net),
        queues (0 = one per vCPU up to 16), RSS hash types from 'tcp', 'udp',
        'esp' and tunnel offloads from 'vxlan', 'geneve'."""
        rss_bits = flags_value(NIC_RSS, "rss hash type", rss)
        tunnel_bits = flags_value(NIC_TUNNEL, "tunnel offload", tunnel_offloads)
        c_model = _c_text(model, "model") if model is not None else ffi.NULL
        if isinstance(queues, bool) or not isinstance(queues, int) or not 0 <= queues <= _UINT_MAX:
            _uint(queues, f"nics[{self._count('nics')}].queues")
        check(lib.hv_vm_spec_add_nic(self._h, c_model, queues, rss_bits, tunnel_bits))
        return self

    def add_rdma(self, protocol: str = "roce-v2", mode: str = "pvrdma", mtu: int = 0) -> "VmSpec":
        """An RDMA fabric attachment: protocol 'roce-v2', 'roce-v1' or
        'infiniband'; mode 'pvrdma', 'sr-iov' or 'passthrough'; mtu 256..4096
        (0 = the port's)."""
        c_protocol = enum_value(RDMA_PROTOCOL, "rdma protocol", protocol)
        c_mode = enum_value(RDMA_MODE, "rdma mode", mode)
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not 0 <= mtu <= _UINT_MAX:
            _uint(mtu, f"rdma[{self._count('rdma')}].mtu")
        check(lib.hv_vm_spec_add_rdma(self._h, c_protocol, c_mode, mtu))
        return self

    def add_disk(self, path: str, format: str = "raw",  # noqa: A002 (the JSON key)
                 bus: str = "virtio", read_only: bool = False, serial: Optional[str] = "",
                 size: Size = 0) -> "VmSpec":
        """A disk image: an absolute `path`, format 'raw' or 'qcow2', bus
        'virtio', 'scsi' or 'sata', `serial` (at most 20 printable ASCII
        characters) and `size` (bytes or "20GiB"; 0 = the image must exist,
        else the size a missing raw image is created with)."""
        where = f"disks[{self._count('disks')}]"
        c_format = enum_value(DISK_FORMAT, "disk format", format)
        c_bus = enum_value(DISK_BUS, "disk bus", bus)
        if not isinstance(read_only, bool):
            raise TypeError(f"{where}.read_only must be a bool, not {type(read_only).__name__}")
        c_path = _c_text(path, "path", path=f"{where}.path")
        c_serial = _c_text(serial if serial is not None else "", "serial",
                           path=f"{where}.serial")
        c_size = _memory(size, f"{where}.size")
        check(lib.hv_vm_spec_add_disk(self._h, c_path, c_format, c_bus, read_only, c_serial,
                                      c_size))
        return self

    def set_boot(self, kernel: Optional[PathArg], initrd: Optional[PathArg] = None,
                 cmdline: Optional[str] = None) -> "VmSpec":
        """The boot source: a Linux kernel booted directly (no firmware, no
        boot loader) instead of a payload. `kernel` and `initrd` are absolute
        paths (`initrd` None or "" for none); `cmdline` the kernel's command
        line, at most 4095 bytes (None or "" for none). `kernel` None clears
        the boot source. Whether the files exist is the backend's question."""
        c_kernel = _c_path(kernel, "boot.kernel") if kernel is not None else ffi.NULL
        c_initrd = _c_path(initrd, "boot.initrd") if initrd is not None else ffi.NULL
        c_cmdline = _c_text(cmdline, "boot.cmdline") if cmdline is not None else ffi.NULL
        check(lib.hv_vm_spec_set_boot(self._h, c_kernel, c_initrd, c_cmdline))
        return self

    def set_guest_phys_bits(self, bits: Union[str, int]) -> "VmSpec":
        """'auto' (the VMM's default unless the MMIO window needs more),
        'host' (pass the host's width through) or 32..64."""
        if bits == "auto":
            value = GUEST_PHYS_BITS_AUTO
        elif bits == "host":
            value = GUEST_PHYS_BITS_HOST
        elif isinstance(bits, int) and not isinstance(bits, bool):
            if not _INT_MIN <= bits <= _INT_MAX:
                raise _spec_error("guest_phys_bits",
                                  f"guest_phys_bits must be \"auto\", \"host\" or 32..64 "
                                  f"(got {bits})")
            value = bits
        elif isinstance(bits, str):
            raise ValueError(f"guest_phys_bits {bits!r} is not 'auto', 'host' or 32..64")
        else:
            raise TypeError(f"guest_phys_bits must be 'auto', 'host' or an int, "
                            f"not {type(bits).__name__}")
        check(lib.hv_vm_spec_set_guest_phys_bits(self._h, value))
        return self

    def set_profile(self, name: str) -> "VmSpec":
        """The maximums profile ("vsphere-6.7", "kvm-q35", "vsphere-6.0")."""
        c_name = _c_text(name, "profile")
        check(lib.hv_vm_spec_set_profile(self._h, c_name))
        return self


__all__ = [
    "VmSpec",
    "GUEST_PHYS_BITS_AUTO",
    "GUEST_PHYS_BITS_HOST",
    "PLAN_OPTIONS_VERSION",
]
