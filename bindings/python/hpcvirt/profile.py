"""Configuration-maximums profiles (hpcvirt/profile.h): the limits a
hypervisor suite documents for VMs and hosts. Specs name one; host discovery
and planning check against it.

    hpcvirt.profiles()                                  # ["vsphere-6.7", ...]
    hpcvirt.profile_limit("vsphere-6.7", "vm_max_vcpus")  # 128
"""
from typing import List, Optional

from ._native import ffi, lib, to_str
from .errors import c_string, check

PROFILE_LIMIT_KEYS = (
    "vm_max_vcpus",
    "vm_max_memory_bytes",
    "bios_max_vcpus",
    "vm_vcpus_need_iommu",
    "default_guest_phys_bits",
    "vm_max_mmio_aggregate_bytes",
    "host_max_logical_cpus",
    "host_max_numa_nodes",
    "host_max_memory_bytes",
)


def profiles() -> List[str]:
    """Names of the built-in profiles, the default ("vsphere-6.7") first."""
    return [to_str(lib.hv_profile_name_at(i)) for i in range(lib.hv_profile_count())]


def profile_description(name: str) -> Optional[str]:
    """One-line description of profile `name`, None when there is no such profile."""
    text = lib.hv_profile_description(c_string(name, "profile"))
    return None if text == ffi.NULL else to_str(text)


def profile_limit(name: str, key: str) -> int:
    """Limit `key` (one of PROFILE_LIMIT_KEYS) of profile `name` as an int;
    0 means no limit. Raises NotFound for an unknown profile or key."""
    out = ffi.new("uint64_t *")
    check(lib.hv_profile_limit(c_string(name, "profile"), c_string(key, "key"), out))
    return int(out[0])


__all__ = ["profiles", "profile_description", "profile_limit", "PROFILE_LIMIT_KEYS"]
