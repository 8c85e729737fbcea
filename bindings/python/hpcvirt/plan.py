"""Plans (hpcvirt/plan.h): a VM spec checked against a maximums profile and
laid out on a host - firmware, guest CPU topology, vNUMA nodes mapped to host
nodes with page sizes and pinned CPUs, the MMIO (BAR) budget and guest
physical-address width, the devices chosen, migration eligibility.

    host = hpcvirt.Host.discover(root="tests/fixtures/hosts/dgx-a100-roce")
    spec = hpcvirt.VmSpec.from_file("examples/specs/training-8gpu.json")
    plan = hpcvirt.Plan.create(host, spec)
    plan.ok, plan.vnuma_nodes[0].host_node, plan.mmio.window_bytes

Planning succeeds whenever its arguments are valid: what is wrong with the VM
or the host is reported as findings, and `ok` is false when any is an error.
Every fact is copied out of the C plan when the Plan is built (VnumaNode, Mmio
and PlanDevice are frozen dataclasses); the Plan keeps its C handle for
to_json() and `spec`.
"""
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ._native import ffi, lib, take_str, to_str
from .errors import c_string, check, last_error
from .finding import Finding, findings_from
from .host import Host
from .spec import (
    ACCEL_MODE,
    CPU_PLACEMENT,
    FIRMWARE,
    PLAN_DEVICE_TYPE,
    PLAN_OPTIONS_VERSION,
    RDMA_MODE,
    VmSpec,
    enum_name,
)

LIBVIRT_XML_OPTIONS_VERSION = 2  # HV_LIBVIRT_XML_OPTIONS_VERSION


@dataclass(frozen=True)
class VnumaNode:
    """A guest NUMA node: its vCPUs (`vcpus` is the count, `vcpu_list` a
    cpulist "0-47"), memory, the host node it maps to (-1 when none could take
    it; an error finding says why), the page size and count backing it, and
    the host CPUs its vCPUs run on (a cpulist)."""

    id: int
    vcpus: int
    vcpu_list: str
    memory_bytes: int
    host_node: int
    page_bytes: int
    page_count: int
    host_cpus: str


@dataclass(frozen=True)
class Mmio:
    """The MMIO budget: the BARs of the passed-through devices, the 64-bit PCI
    window (0 bytes when no 64-bit BARs), guest RAM below and above 4 GiB (q35
    layout), and the guest physical-address width: required, configured
    (`guest_phys_bits`: 0 means the VMM's default, the profile's
    "default_guest_phys_bits"), passed through from the host or not."""

    bar_total_bytes: int
    window_bytes: int
    window_base: int
    low_ram_bytes: int
    high_ram_bytes: int
    guest_phys_bits_required: int
    guest_phys_bits: int
    guest_phys_bits_passthrough: bool
    host_phys_bits: int
    feasible: bool


@dataclass(frozen=True)
class PlanDevice:
    """A device the plan gives the VM. `type` is "accelerator", "nic" or
    "rdma"; `spec_path` the spec entry it comes from ("accelerators[0]");
    `pci_address` the host function used ('' when none); `mode` the
    accelerator mode ("passthrough", "vgpu", "fpga") or RDMA mode ("pvrdma",
    "sr-iov", "passthrough"), '' for NICs; `model` the catalogue model or NIC
    model; `host_node` the device's host NUMA node and `vnode` the vNUMA node
    it is attached to (-1 unknown); `queues` for NICs, `mtu` and `rdma_name`
    ("mlx5_0") for RDMA."""

    type: str
    spec_path: str
    pci_address: str
    mode: str
    model: str
    mdev_type: str
    host_node: int
    vnode: int
    queues: int
    mtu: int
    rdma_name: str


def _vnode(n: Any) -> VnumaNode:
    return VnumaNode(
        id=int(lib.hv_plan_vnode_id(n)),
        vcpus=int(lib.hv_plan_vnode_vcpu_count(n)),
        vcpu_list=to_str(lib.hv_plan_vnode_vcpus(n)),
        memory_bytes=int(lib.hv_plan_vnode_memory_bytes(n)),
        host_node=int(lib.hv_plan_vnode_host_node(n)),
        page_bytes=int(lib.hv_plan_vnode_page_bytes(n)),
        page_count=int(lib.hv_plan_vnode_page_count(n)),
        host_cpus=to_str(lib.hv_plan_vnode_host_cpus(n)),
    )


def _device(d: Any) -> PlanDevice:
    dtype = int(lib.hv_plan_device_type_of(d))
    mode = int(lib.hv_plan_device_mode(d))
    if dtype == lib.HV_PLAN_DEVICE_ACCELERATOR:
        mode_name = enum_name(ACCEL_MODE, mode)
    elif dtype == lib.HV_PLAN_DEVICE_RDMA:
        mode_name = enum_name(RDMA_MODE, mode)
    else:
        mode_name = ""
    return PlanDevice(
        type=enum_name(PLAN_DEVICE_TYPE, dtype),
        spec_path=to_str(lib.hv_plan_device_spec_path(d)),
        pci_address=to_str(lib.hv_plan_device_pci_address(d)),
        mode=mode_name,
        model=to_str(lib.hv_plan_device_model(d)),
        mdev_type=to_str(lib.hv_plan_device_mdev_type(d)),
        host_node=int(lib.hv_plan_device_host_node(d)),
        vnode=int(lib.hv_plan_device_vnode(d)),
        queues=int(lib.hv_plan_device_queues(d)),
        mtu=int(lib.hv_plan_device_mtu(d)),
        rdma_name=to_str(lib.hv_plan_device_rdma_name(d)),
    )


def _load_ok(plan: "Plan", p: Any) -> None:
    plan._ok = bool(lib.hv_plan_ok(p))


def _load_names(plan: "Plan", p: Any) -> None:
    plan._profile = to_str(lib.hv_plan_profile(p))
    plan._name = to_str(lib.hv_vm_spec_name(lib.hv_plan_spec(p)))


def _load_findings(plan: "Plan", p: Any) -> None:
    plan._findings = findings_from(
        lib.hv_plan_finding_count(p), lambda i: lib.hv_plan_finding_at(p, i)
    )


def _load_cpus(plan: "Plan", p: Any) -> None:
    plan._firmware = enum_name(FIRMWARE, lib.hv_plan_firmware(p))
    plan._vcpus = int(lib.hv_plan_vcpus(p))
    plan._memory_bytes = int(lib.hv_plan_memory_bytes(p))
    plan._sockets = int(lib.hv_plan_sockets(p))
    plan._cores_per_socket = int(lib.hv_plan_cores_per_socket(p))
    plan._threads_per_core = int(lib.hv_plan_threads_per_core(p))
    plan._cpu_placement = enum_name(CPU_PLACEMENT, lib.hv_plan_cpu_placement(p))
    plan._emulator_cpus = to_str(lib.hv_plan_emulator_cpus(p))


def _load_vnuma(plan: "Plan", p: Any) -> None:
    count = int(lib.hv_plan_vnuma_node_count(p))
    plan._vnodes = [_vnode(lib.hv_plan_vnuma_node_at(p, i)) for i in range(count)]
    plan._distances = [
        [int(lib.hv_plan_vnuma_distance(p, i, j)) for j in range(count)] for i in range(count)
    ]


def _load_pins(plan: "Plan", p: Any) -> None:
    plan._vcpu_pins = [int(lib.hv_plan_vcpu_pin(p, v)) for v in range(lib.hv_plan_vcpus(p))]


def _load_mmio(plan: "Plan", p: Any) -> None:
    plan._mmio = Mmio(
        bar_total_bytes=int(lib.hv_plan_mmio_bar_total_bytes(p)),
        window_bytes=int(lib.hv_plan_mmio_window_bytes(p)),
        window_base=int(lib.hv_plan_mmio_window_base(p)),
        low_ram_bytes=int(lib.hv_plan_mmio_low_ram_bytes(p)),
        high_ram_bytes=int(lib.hv_plan_mmio_high_ram_bytes(p)),
        guest_phys_bits_required=int(lib.hv_plan_guest_phys_bits_required(p)),
        guest_phys_bits=int(lib.hv_plan_guest_phys_bits(p)),
        guest_phys_bits_passthrough=bool(lib.hv_plan_guest_phys_bits_passthrough(p)),
        host_phys_bits=int(lib.hv_plan_host_phys_bits(p)),
        feasible=bool(lib.hv_plan_mmio_feasible(p)),
    )


def _load_devices(plan: "Plan", p: Any) -> None:
    plan._devices = [
        _device(lib.hv_plan_device_at(p, i)) for i in range(lib.hv_plan_device_count(p))
    ]


def _load_migration(plan: "Plan", p: Any) -> None:
    plan._live_migratable = bool(lib.hv_plan_live_migratable(p))
    plan._migration_reasons = [
        to_str(lib.hv_plan_migration_reason_at(p, i))
        for i in range(lib.hv_plan_migration_reason_count(p))
    ]


class _Fact:
    """A class attribute of Plan standing for a fact not yet copied out of
    the C plan: reading it runs `loader`, which copies the fact's group into
    the instance, where it hides this from then on (a non-data descriptor),
    so that planning costs no more than the C call until the facts are read."""

    __slots__ = ("loader", "name")

    def __init__(self, loader: Callable[["Plan", Any], None], name: str) -> None:
        self.loader = loader
        self.name = name

    def __get__(self, plan: Optional["Plan"], owner: Optional[type] = None) -> Any:
        if plan is None:
            return self
        self.loader(plan, plan._h)
        return plan.__dict__[self.name]


class LibvirtXml(str):
    """What Plan.to_libvirt_xml() returns: the domain XML, a str like any
    other, with `findings`, the list of Finding that say what of the plan the
    XML leaves out (hpcvirt/libvirt.h): today a warning
    "xml.nic.user-networking" at "nics[N]" for each NIC whose queues or RSS
    are dropped because no network was named. Empty when nothing is left out."""

    findings: List[Finding]

    def __new__(cls, text: str, findings: Sequence[Finding] = ()) -> "LibvirtXml":
        self = super().__new__(cls, text)
        self.findings = list(findings)
        return self


class Plan:
    """A plan of a VmSpec on a Host. Build one with Plan.create(); the
    constructor is internal."""

    _h: Any
    # the facts (_Fact: copied out of the C plan when first read)
    _ok: bool
    _profile: str
    _name: str
    _findings: List[Finding]
    _firmware: str
    _vcpus: int
    _memory_bytes: int
    _sockets: int
    _cores_per_socket: int
    _threads_per_core: int
    _cpu_placement: str
    _emulator_cpus: str
    _vnodes: List[VnumaNode]
    _distances: List[List[int]]
    _vcpu_pins: List[int]
    _mmio: Mmio
    _devices: List[PlanDevice]
    _live_migratable: bool
    _migration_reasons: List[str]

    def __init__(self, _handle: Any) -> None:
        if _handle == ffi.NULL:
            raise ValueError("Plan() wraps a C hv_plan; use Plan.create()")
        self._h = ffi.gc(_handle, lib.hv_plan_free)

    # -- construction --

    @classmethod
    def create(cls, host: Host, spec: Union[VmSpec, str, bytes, bytearray, Dict[str, Any]],
               profile: Optional[str] = None) -> "Plan":
        """Plan `spec` (a VmSpec, or its JSON as str/bytes/dict) on `host` (a
        Host). `profile` overrides the spec's maximums profile. Raises
        NotFound for an unknown profile; problems of the VM or host are
        findings, not exceptions."""
        if not isinstance(host, Host):
            raise TypeError(f"host must be an hpcvirt.Host, not {type(host).__name__}")
        if not isinstance(spec, VmSpec):
            if not isinstance(spec, (str, bytes, bytearray, dict)):
                raise TypeError(f"spec must be an hpcvirt.VmSpec, not {type(spec).__name__}")
            spec = VmSpec.from_json(spec)
        c_spec = spec._h
        out = ffi.new("hv_plan **")
        if profile is None:
            # NULL options: the defaults (what hv_plan_options_init() gives)
            rc = lib.hv_plan_create(host._h, c_spec, ffi.NULL, out)
        else:
            opts = ffi.new("hv_plan_options *")
            check(lib.hv_plan_options_init(opts, PLAN_OPTIONS_VERSION))
            # The char[] must outlive the call: keep it in a local.
            c_profile = c_string(profile, "profile")
            opts.profile = c_profile
            rc = lib.hv_plan_create(host._h, c_spec, opts, out)
        if rc < 0:
            raise last_error(rc)
        plan = cls.__new__(cls)
        plan._h = ffi.gc(out[0], lib.hv_plan_free)
        return plan

    # -- serialisation --

    def to_json(self, pretty: bool = False) -> str:
        """The plan as deterministic JSON (docs/plan-json.md)."""
        out = ffi.new("char **")
        check(lib.hv_plan_to_json(self._h, lib.HV_JSON_PRETTY if pretty else lib.HV_JSON_COMPACT,
                                  out))
        return take_str(out[0])

    def to_dict(self) -> Dict[str, Any]:
        """to_json() parsed into Python objects."""
        return json.loads(self.to_json())

    def to_svg(self) -> str:
        """A picture of the plan as one self-contained SVG document (str): host nodes,
        the vNUMA nodes on them, devices, distances, the MMIO window, findings."""
        out = ffi.new("char **")
        check(lib.hv_plan_to_svg(self._h, 0, out))
        return take_str(out[0])

    def to_libvirt_xml(self, domain_type: Optional[str] = None, network: Optional[str] = None,
                       console_log: Optional[str] = None) -> LibvirtXml:
        """The plan as libvirt domain XML (libvirt 9.0 schema): vCPUs pinned,
        vNUMA cells with distances, numatune, huge pages, firmware, the 64-bit
        PCI hole, the guest's physical-address width, host devices, virtio-net,
        and in <metadata> what a handle found by name later needs: compact
        JSON with the profile, a digest of the plan, its live-migration
        verdict and the spec, not the plan itself (docs/backends.md, "Domain
        metadata"). `domain_type` is "kvm" (the default) or "qemu" (software
        emulation); `network` a libvirt network for the NICs (default:
        user-mode networking, one queue); `console_log` an absolute path for
        the serial console (default: a pty).

        The XML is a LibvirtXml: a str whose `findings` say what of the plan
        it leaves out, e.g. without `network` a warning
        "xml.nic.user-networking" (path "nics[0]") for a NIC whose queues and
        RSS are dropped.

        Raises PlanError for a plan with errors or with devices not assigned
        to host PCI functions (catalogue models), Unsupported for what libvirt
        cannot express (paravirtual RDMA; more than 255 vCPUs under "qemu"),
        or where hpcvirt was built without libvirt, InvalidArgument for bad
        options."""
        opts = ffi.new("hv_libvirt_xml_options *")
        check(lib.hv_libvirt_xml_options_init(opts, LIBVIRT_XML_OPTIONS_VERSION))
        # The char[]s must outlive the call: keep them in locals.
        keep = []
        for field, value in (("domain_type", domain_type), ("network", network),
                             ("console_log", console_log)):
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"{field} must be a str or None, not {type(value).__name__}")
            keep.append(c_string(value, field))
            setattr(opts, field, keep[-1])
        found = ffi.new("hv_finding_list **")
        opts.findings = found
        out = ffi.new("char **")
        check(lib.hv_plan_to_libvirt_xml(self._h, opts, out))
        text = take_str(out[0])
        try:
            findings = findings_from(lib.hv_finding_list_count(found[0]),
                                     lambda i: lib.hv_finding_list_at(found[0], i))
        finally:
            lib.hv_finding_list_free(found[0])
        return LibvirtXml(text, findings)

    @property
    def spec(self) -> VmSpec:
        """A copy (a VmSpec of its own) of the spec the plan was made from."""
        out = ffi.new("hv_vm_spec **")
        check(lib.hv_vm_spec_copy(lib.hv_plan_spec(self._h), out))
        return VmSpec._wrap(out[0])

    # -- verdict and findings --

    @property
    def ok(self) -> bool:
        """False when any finding is an error."""
        return self._ok

    @property
    def name(self) -> str:
        """The VM's name (the spec's)."""
        return self._name

    @property
    def profile(self) -> str:
        """Name of the maximums profile the plan was checked against."""
        return self._profile

    @property
    def findings(self) -> List[Finding]:
        return list(self._findings)

    @property
    def errors(self) -> List[Finding]:
        """The findings of severity "error"."""
        return [f for f in self._findings if f.severity == "error"]

    @property
    def warnings(self) -> List[Finding]:
        """The findings of severity "warning"."""
        return [f for f in self._findings if f.severity == "warning"]

    @property
    def infos(self) -> List[Finding]:
        """The findings of severity "info"."""
        return [f for f in self._findings if f.severity == "info"]

    # -- CPUs, memory, firmware --

    @property
    def firmware(self) -> str:
        """"bios" or "efi" (never "auto")."""
        return self._firmware

    @property
    def vcpus(self) -> int:
        return self._vcpus

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    @property
    def sockets(self) -> int:
        return self._sockets

    @property
    def cores_per_socket(self) -> int:
        return self._cores_per_socket

    @property
    def threads_per_core(self) -> int:
        return self._threads_per_core

    @property
    def cpu_placement(self) -> str:
        """"shared" or "dedicated"."""
        return self._cpu_placement

    # -- vNUMA --

    @property
    def vnuma_nodes(self) -> List[VnumaNode]:
        return list(self._vnodes)

    @property
    def distances(self) -> List[List[int]]:
        """Guest distances between vNUMA nodes (10 on the diagonal)."""
        return [list(row) for row in self._distances]

    @property
    def emulator_cpus(self) -> str:
        """Host CPUs for the VMM's own threads (dedicated placement), "" when shared."""
        return self._emulator_cpus

    @property
    def vcpu_pins(self) -> List[int]:
        """For each vCPU the host CPU it is pinned to; -1 when not pinned
        (shared placement)."""
        return list(self._vcpu_pins)

    # -- MMIO, devices, migration --

    @property
    def mmio(self) -> Mmio:
        return self._mmio

    @property
    def devices(self) -> List[PlanDevice]:
        """Devices in the plan's order (accelerators, RDMA, NICs)."""
        return list(self._devices)

    @property
    def live_migratable(self) -> bool:
        return self._live_migratable

    @property
    def migration_reasons(self) -> List[str]:
        """Why the VM cannot be live-migrated (empty when it can)."""
        return list(self._migration_reasons)

    def __repr__(self) -> str:
        return (f"<hpcvirt.Plan {self._name!r} {'ok' if self._ok else 'NOT ok'}, "
                f"{len(self._findings)} findings, {self._vcpus} vCPUs on "
                f"{len(self._vnodes)} vNUMA nodes, profile {self._profile!r}>")



for _loader, _names in (
    (_load_ok, ("_ok",)),
    (_load_names, ("_profile", "_name")),
    (_load_findings, ("_findings",)),
    (_load_cpus, ("_firmware", "_vcpus", "_memory_bytes", "_sockets", "_cores_per_socket",
                  "_threads_per_core", "_cpu_placement", "_emulator_cpus")),
    (_load_vnuma, ("_vnodes", "_distances")),
    (_load_pins, ("_vcpu_pins",)),
    (_load_mmio, ("_mmio",)),
    (_load_devices, ("_devices",)),
    (_load_migration, ("_live_migratable", "_migration_reasons")),
):
    for _attr in _names:
        setattr(Plan, _attr, _Fact(_loader, _attr))
del _loader, _names, _attr

__all__ = ["Plan", "VnumaNode", "Mmio", "PlanDevice", "LibvirtXml", "LIBVIRT_XML_OPTIONS_VERSION"]
