"""The host inventory (hpcvirt/host.h): CPUs, NUMA nodes with memory,
distances and huge pages, accelerators with their PCI BARs, RDMA devices with
ports and GIDs, findings, and effective-frequency sampling.

    host = hpcvirt.Host.discover(root="tests/fixtures/hosts/dgx-a100-roce")
    host.cpu_count, host.nodes[0].cpulist, host.accelerator("0000:07:00.0").bars

Every sub-object (Cpu, NumaNode, Accelerator, Bar, MdevType, RdmaDevice,
RdmaPort, Gid, Finding) is a frozen dataclass copied out of the C host when
the Host is built, so it stays valid on its own. The Host keeps its C handle
(freed with hv_host_free when the Host is garbage collected) for to_json()
and sample_frequency().
"""
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

from ._native import ffi, lib, take_str, to_str
from .errors import InvalidArgument, ParseError, c_string, check
from .finding import Finding, findings_from

# These mirror the #define constants of include/hpcvirt/host.h, which the
# generated cffi cdef does not carry (it holds only declarations and enums).
HOST_DISCOVER_OPTIONS_VERSION = 1  # HV_HOST_DISCOVER_OPTIONS_VERSION
FREQ_SAMPLE_OPTIONS_VERSION = 1  # HV_FREQ_SAMPLE_OPTIONS_VERSION

_LINK_LAYERS = {
    lib.HV_RDMA_LINK_INFINIBAND: "InfiniBand",
    lib.HV_RDMA_LINK_ETHERNET: "Ethernet",
}


def parse_cpulist(text: str) -> List[int]:
    """Kernel cpulist text ("0-63,128-191") as a sorted list of ints."""
    cpus: Set[int] = set()
    for part in text.replace("\n", "").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            cpus.update(range(int(lo), int(hi) + 1))
        else:
            cpus.add(int(part))
    return sorted(cpus)


def _format_cpulist(cpus: Union[str, Iterable[int]]) -> str:
    """A cpulist for the C library from a str or an iterable of CPU ids."""
    if isinstance(cpus, str):
        return cpus
    return ",".join(str(int(c)) for c in cpus)


# ---- sub-objects ------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """A logical CPU: its id, package, die, core and NUMA node (-1 when unknown)."""

    id: int
    package: int
    die: int
    core: int
    node: int


@dataclass(frozen=True)
class NumaNode:
    """A NUMA node. `distances` maps every node id to its distance (10 = local);
    `hugepages` maps a page size in bytes to (total, free) pages."""

    id: int
    cpulist: str
    cpus: List[int]
    cpu_count: int
    core_count: int
    memory_bytes: int
    free_bytes: int
    distances: Dict[int, int]
    hugepages: Dict[int, Tuple[int, int]]

    def distance(self, to_node_id: int) -> int:
        """Distance to node `to_node_id` (10 = local), -1 when unknown."""
        return self.distances.get(to_node_id, -1)


@dataclass(frozen=True)
class MdevType:
    """A mediated device (vGPU) type and how many more instances can be created."""

    id: str
    name: str
    available: int


@dataclass(frozen=True)
class Bar:
    """An implemented PCI BAR (0-5)."""

    index: int
    start: int
    size_bytes: int
    is_64bit: bool
    prefetchable: bool
    is_io: bool


@dataclass(frozen=True)
class Accelerator:
    """A GPU, FPGA or other accelerator: PCI identity, locality, IOMMU group,
    link, SR-IOV, vGPU types and BARs. `kind` is "gpu", "fpga" or "accelerator"."""

    pci_address: str
    vendor_id: int
    device_id: int
    subsystem_vendor_id: int
    subsystem_device_id: int
    class_code: int
    kind: str
    model: str
    model_id: str
    vendor_name: str
    numa_node: int
    local_cpulist: str
    iommu_group: int
    iommu_group_members: List[str]
    driver: str
    link_speed: str
    link_width: int
    max_link_speed: str
    max_link_width: int
    sriov_total_vfs: int
    sriov_enabled_vfs: int
    mdev_types: List[MdevType]
    bars: List[Bar]
    bar_total_bytes: int

    def bar(self, index: int) -> Optional[Bar]:
        """The BAR with PCI index `index` (0-5), None when not implemented."""
        for b in self.bars:
            if b.index == index:
                return b
        return None


@dataclass(frozen=True)
class Gid:
    """A GID table entry; `type` is "IB/RoCE v1", "RoCE v2" or ''."""

    index: int
    gid: str
    type: str
    netdev: str


@dataclass(frozen=True)
class RdmaPort:
    """An RDMA port; `link_layer` is "InfiniBand", "Ethernet" (RoCE) or ''."""

    number: int
    state: str
    phys_state: str
    rate: str
    rate_gbps: int
    link_layer: str
    active_mtu: int
    netdev: str
    gids: List[Gid]


@dataclass(frozen=True)
class RdmaDevice:
    """An RDMA device (HCA/RNIC) and its ports."""

    name: str
    node_type: str
    fw_version: str
    node_guid: str
    pci_address: str
    numa_node: int
    sriov_total_vfs: int
    sriov_enabled_vfs: int
    vf_addresses: List[str]
    ports: List[RdmaPort]


@dataclass(frozen=True)
class FrequencySample:
    """One CPU's APERF/MPERF ratio over the interval and its effective MHz
    (0 when the base frequency is unknown)."""

    cpu: int
    ratio: float
    effective_mhz: float


class FrequencySamples(List[FrequencySample]):
    """The list of FrequencySample that sample_frequency() returns, with
    `source`: "perf" or "msr", where the counters came from."""

    def __init__(self, samples: Iterable[FrequencySample], source: str) -> None:
        super().__init__(samples)
        self.source = source

    def __repr__(self) -> str:
        return f"FrequencySamples({list.__repr__(self)}, source={self.source!r})"


# ---- copying out of C -------------------------------------------------------


def _cpu(c: Any) -> Cpu:
    return Cpu(
        id=int(lib.hv_host_cpu_id(c)),
        package=int(lib.hv_host_cpu_package(c)),
        die=int(lib.hv_host_cpu_die(c)),
        core=int(lib.hv_host_cpu_core(c)),
        node=int(lib.hv_host_cpu_node(c)),
    )


def _node(n: Any, node_ids: List[int]) -> NumaNode:
    cpulist = to_str(lib.hv_host_node_cpulist(n))
    pages = {}
    total = ffi.new("uint64_t *")
    free = ffi.new("uint64_t *")
    for i in range(lib.hv_host_node_hugepage_size_count(n)):
        size = int(lib.hv_host_node_hugepage_size_at(n, i))
        check(lib.hv_host_node_hugepages(n, size, total, free))
        pages[size] = (int(total[0]), int(free[0]))
    return NumaNode(
        id=int(lib.hv_host_node_id(n)),
        cpulist=cpulist,
        cpus=parse_cpulist(cpulist),
        cpu_count=int(lib.hv_host_node_cpu_count(n)),
        core_count=int(lib.hv_host_node_core_count(n)),
        memory_bytes=int(lib.hv_host_node_memory_bytes(n)),
        free_bytes=int(lib.hv_host_node_free_bytes(n)),
        distances={to: int(lib.hv_host_node_distance(n, to)) for to in node_ids},
        hugepages=pages,
    )


def _bar(b: Any) -> Bar:
    return Bar(
        index=int(lib.hv_pci_bar_index(b)),
        start=int(lib.hv_pci_bar_start(b)),
        size_bytes=int(lib.hv_pci_bar_size_bytes(b)),
        is_64bit=bool(lib.hv_pci_bar_is_64bit(b)),
        prefetchable=bool(lib.hv_pci_bar_is_prefetchable(b)),
        is_io=bool(lib.hv_pci_bar_is_io(b)),
    )


def _accelerator(a: Any) -> Accelerator:
    members = to_str(lib.hv_accelerator_iommu_group_members(a))
    return Accelerator(
        pci_address=to_str(lib.hv_accelerator_pci_address(a)),
        vendor_id=int(lib.hv_accelerator_vendor_id(a)),
        device_id=int(lib.hv_accelerator_device_id(a)),
        subsystem_vendor_id=int(lib.hv_accelerator_subsystem_vendor_id(a)),
        subsystem_device_id=int(lib.hv_accelerator_subsystem_device_id(a)),
        class_code=int(lib.hv_accelerator_class_code(a)),
        kind=to_str(lib.hv_accelerator_kind_name(lib.hv_accelerator_kind(a))),
        model=to_str(lib.hv_accelerator_model(a)),
        model_id=to_str(lib.hv_accelerator_model_id(a)),
        vendor_name=to_str(lib.hv_accelerator_vendor_name(a)),
        numa_node=int(lib.hv_accelerator_numa_node(a)),
        local_cpulist=to_str(lib.hv_accelerator_local_cpulist(a)),
        iommu_group=int(lib.hv_accelerator_iommu_group(a)),
        iommu_group_members=[m.strip() for m in members.split(",") if m.strip()],
        driver=to_str(lib.hv_accelerator_driver(a)),
        link_speed=to_str(lib.hv_accelerator_link_speed(a)),
        link_width=int(lib.hv_accelerator_link_width(a)),
        max_link_speed=to_str(lib.hv_accelerator_max_link_speed(a)),
        max_link_width=int(lib.hv_accelerator_max_link_width(a)),
        sriov_total_vfs=int(lib.hv_accelerator_sriov_total_vfs(a)),
        sriov_enabled_vfs=int(lib.hv_accelerator_sriov_enabled_vfs(a)),
        mdev_types=[
            MdevType(
                id=to_str(lib.hv_accelerator_mdev_type_id(a, i)),
                name=to_str(lib.hv_accelerator_mdev_type_name(a, i)),
                available=int(lib.hv_accelerator_mdev_type_available(a, i)),
            )
            for i in range(lib.hv_accelerator_mdev_type_count(a))
        ],
        bars=[
            _bar(lib.hv_accelerator_bar_at(a, i)) for i in range(lib.hv_accelerator_bar_count(a))
        ],
        bar_total_bytes=int(lib.hv_accelerator_bar_total_bytes(a)),
    )


def _gid(g: Any) -> Gid:
    return Gid(
        index=int(lib.hv_rdma_gid_index(g)),
        gid=to_str(lib.hv_rdma_gid_text(g)),
        type=to_str(lib.hv_rdma_gid_type_name(lib.hv_rdma_gid_type(g))),
        netdev=to_str(lib.hv_rdma_gid_netdev(g)),
    )


def _port(p: Any) -> RdmaPort:
    return RdmaPort(
        number=int(lib.hv_rdma_port_number(p)),
        state=to_str(lib.hv_rdma_port_state(p)),
        phys_state=to_str(lib.hv_rdma_port_phys_state(p)),
        rate=to_str(lib.hv_rdma_port_rate(p)),
        rate_gbps=int(lib.hv_rdma_port_rate_gbps(p)),
        link_layer=_LINK_LAYERS.get(lib.hv_rdma_port_link_layer(p), ""),
        active_mtu=int(lib.hv_rdma_port_active_mtu(p)),
        netdev=to_str(lib.hv_rdma_port_netdev(p)),
        gids=[_gid(lib.hv_rdma_port_gid_at(p, i)) for i in range(lib.hv_rdma_port_gid_count(p))],
    )


def _rdma(d: Any) -> RdmaDevice:
    return RdmaDevice(
        name=to_str(lib.hv_rdma_device_name(d)),
        node_type=to_str(lib.hv_rdma_device_node_type(d)),
        fw_version=to_str(lib.hv_rdma_device_fw_version(d)),
        node_guid=to_str(lib.hv_rdma_device_node_guid(d)),
        pci_address=to_str(lib.hv_rdma_device_pci_address(d)),
        numa_node=int(lib.hv_rdma_device_numa_node(d)),
        sriov_total_vfs=int(lib.hv_rdma_device_sriov_total_vfs(d)),
        sriov_enabled_vfs=int(lib.hv_rdma_device_sriov_enabled_vfs(d)),
        vf_addresses=[
            to_str(lib.hv_rdma_device_vf_at(d, i)) for i in range(lib.hv_rdma_device_vf_count(d))
        ],
        ports=[
            _port(lib.hv_rdma_device_port_at(d, i)) for i in range(lib.hv_rdma_device_port_count(d))
        ],
    )


# ---- the host ---------------------------------------------------------------


class Host:
    """A discovered (or JSON-described) host. Build one with Host.discover()
    or Host.from_json(); the constructor is internal."""

    _h: Any

    def __init__(self, _handle: Any) -> None:
        if _handle == ffi.NULL:
            raise ValueError("Host() wraps a C hv_host; use Host.discover() or Host.from_json()")
        h = ffi.gc(_handle, lib.hv_host_free)
        self._h = h
        self._root = to_str(lib.hv_host_root(h))
        self._profile = to_str(lib.hv_host_profile(h))
        self._cpu_model = to_str(lib.hv_host_cpu_model(h))
        self._cpu_vendor = to_str(lib.hv_host_cpu_vendor(h))
        self._cpu_count = int(lib.hv_host_cpu_count(h))
        self._core_count = int(lib.hv_host_core_count(h))
        self._package_count = int(lib.hv_host_package_count(h))
        self._die_count = int(lib.hv_host_die_count(h))
        self._threads_per_core = int(lib.hv_host_threads_per_core(h))
        self._phys_addr_bits = int(lib.hv_host_phys_addr_bits(h))
        self._virt_addr_bits = int(lib.hv_host_virt_addr_bits(h))
        self._has_1g_pages = bool(lib.hv_host_has_1g_pages(h))
        self._base_frequency_khz = int(lib.hv_host_base_frequency_khz(h))
        self._memory_bytes = int(lib.hv_host_memory_bytes(h))
        self._memory_available_bytes = int(lib.hv_host_memory_available_bytes(h))
        self._node_memory_consistent = bool(lib.hv_host_node_memory_consistent(h))

        self._cpus = [_cpu(lib.hv_host_cpu_at(h, i)) for i in range(self._cpu_count)]
        node_handles = [lib.hv_host_node_at(h, i) for i in range(lib.hv_host_node_count(h))]
        node_ids = [int(lib.hv_host_node_id(n)) for n in node_handles]
        self._nodes = [_node(n, node_ids) for n in node_handles]
        self._accelerators = [
            _accelerator(lib.hv_host_accelerator_at(h, i))
            for i in range(lib.hv_host_accelerator_count(h))
        ]
        self._rdma = [_rdma(lib.hv_host_rdma_at(h, i)) for i in range(lib.hv_host_rdma_count(h))]
        self._findings = findings_from(
            lib.hv_host_finding_count(h), lambda i: lib.hv_host_finding_at(h, i)
        )
        self._node_by_id = {n.id: n for n in self._nodes}
        self._accel_by_address = {a.pci_address: a for a in self._accelerators}

    # -- construction --

    @classmethod
    def discover(cls, root: Optional[Union[str, bytes, "os.PathLike[str]"]] = None,
                 profile: Optional[str] = None, skip_pci: bool = False, skip_rdma: bool = False,
                 skip_libnuma: bool = False) -> "Host":
        """Discover a host from `root` (a directory holding sys/ and proc/;
        None means this machine, "/"), checked against the maximums profile
        `profile` (None = the library's default). The skip_* flags leave out
        accelerators, RDMA devices, or the libnuma cross-check on "/".

        Raises NotFound for an unusable root or an unknown profile, IOFailure
        or ParseError when the root holds no usable CPU information,
        InvalidArgument for a root or profile with a NUL character."""
        opts = ffi.new("hv_host_discover_options *")
        check(lib.hv_host_discover_options_init(opts, HOST_DISCOVER_OPTIONS_VERSION))
        # The char[] objects must outlive the call: keep them in locals.
        c_root = c_string(root, "root", filesystem=True) if root is not None else ffi.NULL
        c_profile = c_string(profile, "profile") if profile is not None else ffi.NULL
        opts.root = c_root
        opts.profile = c_profile
        skip = 0
        if skip_pci:
            skip |= lib.HV_HOST_SKIP_PCI
        if skip_rdma:
            skip |= lib.HV_HOST_SKIP_RDMA
        if skip_libnuma:
            skip |= lib.HV_HOST_SKIP_LIBNUMA
        opts.skip = skip
        out = ffi.new("hv_host **")
        check(lib.hv_host_discover(out, opts))
        return cls(out[0])

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Host":
        """Rebuild a host from to_json() output (str or bytes).
        Raises ParseError, whose `path` locates the offending field (text
        with a NUL character, which a C string cannot hold, too)."""
        c_text = c_string(text, "the host JSON", ParseError)
        out = ffi.new("hv_host **")
        check(lib.hv_host_from_json(c_text, out))
        return cls(out[0])

    # -- serialisation --

    def to_json(self, pretty: bool = False) -> str:
        """Every fact as one JSON document (the library's own serialisation)."""
        out = ffi.new("char **")
        check(lib.hv_host_to_json(self._h, lib.HV_JSON_PRETTY if pretty else lib.HV_JSON_COMPACT,
                                  out))
        return take_str(out[0])

    def to_svg(self) -> str:
        """A picture of the host (like hwloc's lstopo) as one self-contained SVG
        document (str): NUMA nodes with their CPUs, memory and devices, distances."""
        out = ffi.new("char **")
        check(lib.hv_host_to_svg(self._h, 0, out))
        return take_str(out[0])

    def to_dict(self) -> Dict[str, Any]:
        """to_json() parsed into Python objects."""
        return json.loads(self.to_json())

    # -- scalar facts --

    @property
    def root(self) -> str:
        """The root it was discovered from ("/" for this machine)."""
        return self._root

    @property
    def profile(self) -> str:
        """Name of the maximums profile the findings refer to."""
        return self._profile

    @property
    def cpu_model(self) -> str:
        return self._cpu_model

    @property
    def cpu_vendor(self) -> str:
        return self._cpu_vendor

    @property
    def cpu_count(self) -> int:
        """Online logical CPUs."""
        return self._cpu_count

    @property
    def core_count(self) -> int:
        """Physical cores (distinct package/die/core triples)."""
        return self._core_count

    @property
    def package_count(self) -> int:
        return self._package_count

    @property
    def die_count(self) -> int:
        return self._die_count

    @property
    def threads_per_core(self) -> int:
        """SMT threads per core (the most any core has)."""
        return self._threads_per_core

    @property
    def phys_addr_bits(self) -> int:
        """Host physical-address bits; 0 if unknown."""
        return self._phys_addr_bits

    @property
    def virt_addr_bits(self) -> int:
        return self._virt_addr_bits

    @property
    def has_1g_pages(self) -> bool:
        """Whether the CPU maps 1 GiB pages (pdpe1gb)."""
        return self._has_1g_pages

    @property
    def base_frequency_khz(self) -> int:
        """Nominal (base) frequency in kHz; 0 when unknown."""
        return self._base_frequency_khz

    @property
    def memory_bytes(self) -> int:
        """MemTotal of /proc/meminfo."""
        return self._memory_bytes

    @property
    def memory_available_bytes(self) -> int:
        """MemAvailable of /proc/meminfo."""
        return self._memory_available_bytes

    @property
    def node_memory_consistent(self) -> bool:
        """Whether the NUMA nodes' memory adds up to MemTotal (within 3%)."""
        return self._node_memory_consistent

    # -- lists --

    @property
    def cpus(self) -> List[Cpu]:
        """Logical CPUs in id order."""
        return list(self._cpus)

    @property
    def nodes(self) -> List[NumaNode]:
        """NUMA nodes in id order."""
        return list(self._nodes)

    @property
    def accelerators(self) -> List[Accelerator]:
        """Accelerators in PCI address order."""
        return list(self._accelerators)

    @property
    def rdma_devices(self) -> List[RdmaDevice]:
        return list(self._rdma)

    @property
    def findings(self) -> List[Finding]:
        return list(self._findings)

    def node(self, node_id: int) -> Optional[NumaNode]:
        """The node with id `node_id`, None when absent."""
        return self._node_by_id.get(node_id)

    def accelerator(self, pci_address: str) -> Optional[Accelerator]:
        """The accelerator at `pci_address` ("0000:41:00.0"), None when absent."""
        return self._accel_by_address.get(pci_address)

    # -- telemetry --

    def sample_frequency(self, interval_ms: int = 100,
                         cpus: Optional[Union[str, Iterable[int]]] = None) -> FrequencySamples:
        """Measure each CPU's APERF/MPERF ratio over `interval_ms` (0-60000;
        0 means 100) for `cpus` (a cpulist string or an iterable of CPU ids;
        None = every online CPU). Returns a FrequencySamples list (with its
        `source`, "perf" or "msr"). Raises Unsupported when the counters
        cannot be read here or the host was not discovered from "/"."""
        if not isinstance(interval_ms, int) or interval_ms < 0:
            raise InvalidArgument(lib.HV_E_INVAL,
                                  "interval_ms must be a whole number of milliseconds (0-60000)")
        opts = ffi.new("hv_freq_sample_options *")
        check(lib.hv_freq_sample_options_init(opts, FREQ_SAMPLE_OPTIONS_VERSION))
        opts.interval_ms = min(interval_ms, 0xFFFFFFFF)
        c_cpus = c_string(_format_cpulist(cpus), "cpus") if cpus is not None else ffi.NULL
        opts.cpulist = c_cpus
        out = ffi.new("hv_freq_sample **")
        check(lib.hv_host_sample_frequency(self._h, opts, out))
        sample = ffi.gc(out[0], lib.hv_freq_sample_free)
        try:
            samples = [
                FrequencySample(
                    cpu=int(lib.hv_freq_sample_cpu(sample, i)),
                    ratio=float(lib.hv_freq_sample_ratio(sample, i)),
                    effective_mhz=float(lib.hv_freq_sample_effective_mhz(sample, i)),
                )
                for i in range(lib.hv_freq_sample_count(sample))
            ]
            return FrequencySamples(samples, to_str(lib.hv_freq_sample_source(sample)))
        finally:
            ffi.release(sample)

    def __repr__(self) -> str:
        return (f"<hpcvirt.Host root={self._root!r} {self._cpu_count} CPUs, "
                f"{len(self._nodes)} nodes, {len(self._accelerators)} accelerators, "
                f"{len(self._rdma)} RDMA devices>")


__all__ = [
    "HOST_DISCOVER_OPTIONS_VERSION",
    "FREQ_SAMPLE_OPTIONS_VERSION",
    "Host",
    "Cpu",
    "NumaNode",
    "Accelerator",
    "Bar",
    "MdevType",
    "RdmaDevice",
    "RdmaPort",
    "Gid",
    "Finding",
    "FrequencySample",
    "FrequencySamples",
    "parse_cpulist",
]
