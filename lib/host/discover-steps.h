/*
 * host/discover-steps.h - the discovery steps (internal), one file each:
 * cpu.c, numa.c, pci.c, rdma.c. host/discover.c runs them in this order on
 * a new host; each fills its part of the object (host/host.h) and adds
 * findings for what it could not read.
 */
#ifndef HV_HOST_DISCOVER_STEPS_H
#define HV_HOST_DISCOVER_STEPS_H

#include <stdbool.h>

#include "host/host.h"
#include "host/sysfs.h"

/* CPUs and their topology, model, address sizes, base frequency (first). */
int hv_host_discover_cpus(hv_host *host, const hv_sysfs *fs);
/* NUMA nodes, their memory, distances and huge pages; libnuma's view if asked. */
int hv_host_discover_numa(hv_host *host, const hv_sysfs *fs, bool use_libnuma);
/* Accelerators among the PCI functions. */
int hv_host_discover_pci(hv_host *host, const hv_sysfs *fs);
/* RDMA devices, their ports and GIDs. */
int hv_host_discover_rdma(hv_host *host, const hv_sysfs *fs);

#endif
