/*
 * tests/kvm/acpi-test.h - shared by test-acpi.c and acpi-dump.c: the
 * machines the ACPI tests describe (1, 2 and 16 vNUMA nodes, and one with
 * x2APIC ids), and reading the tables back as a guest would: from the RSDP
 * through the XSDT (and the FADT's X_DSDT), every guest address translated
 * into the buffer and checked to lie in it, every checksum checked.
 */
#ifndef HV_TEST_ACPI_H
#define HV_TEST_ACPI_H

#include "kvm/acpi.h"
#include "kvm/layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ACPI_KiB(n) ((uint64_t)(n) << 10)
#define ACPI_MiB(n) ((uint64_t)(n) << 20)
#define ACPI_GiB(n) ((uint64_t)(n) << 30)

typedef struct acpi_scenario {
    hv_kvm_acpi_machine machine;
    hv_kvm_layout layout;
    int distances[HV_KVM_MAX_NODES * HV_KVM_MAX_NODES];
} acpi_scenario;

/* Distance between nodes i and j of the 16-node machine: 4 quads of 4 nodes. */
static inline int acpi_sixteen_distance(size_t i, size_t j)
{
    long qi = (long)(i / 4), qj = (long)(j / 4);

    if (i == j)
        return 10;
    return qi == qj ? 12 : (int)(20 + 4 * labs(qi - qj));
}

/*
 * Fill `s` for "1node" (4 vCPUs, 1 GiB), "2node" (2 x (2 vCPUs, 1 GiB),
 * distance 21, two virtio-mmio devices on GSIs 16 and 17), "16node" (16 x (2 vCPUs, 128 MiB)) or
 * "x2apic" (2 x (160 vCPUs, 1 GiB), 10 cores x 2 threads per socket: APIC ids up to 499). Returns
 * 0, or -1 for another name, or the layout's error.
 */
static inline int acpi_scenario_init(acpi_scenario *s, const char *name)
{
    hv_kvm_node_request req[HV_KVM_MAX_NODES];
    hv_kvm_cpu_topology topo = {0, 0};
    size_t n;
    uint32_t vcpus;
    uint64_t bytes;
    int rc;

    memset(s, 0, sizeof(*s));
    if (strcmp(name, "1node") == 0) {
        n = 1, vcpus = 4, bytes = ACPI_GiB(1);
    } else if (strcmp(name, "2node") == 0) {
        n = 2, vcpus = 2, bytes = ACPI_GiB(1);
    } else if (strcmp(name, "16node") == 0) {
        n = 16, vcpus = 2, bytes = ACPI_MiB(128);
    } else if (strcmp(name, "x2apic") == 0) {
        n = 2, vcpus = 160, bytes = ACPI_GiB(1);
        topo.threads_per_core = 2;
        topo.cores_per_socket = 10;
    } else {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        req[i].bytes = bytes;
        req[i].vcpu_count = vcpus;
        req[i].page_bytes = ACPI_MiB(2);
        req[i].host_node = -1;
        for (size_t j = 0; j < n; j++)
            s->distances[i * n + j] = n == 2 ? (i == j ? 10 : 21) : acpi_sixteen_distance(i, j);
    }
    rc = hv_kvm_layout_init(&s->layout, req, n);
    if (rc == 0)
        rc = hv_kvm_acpi_machine_from_layout(&s->machine, &s->layout, s->distances, &topo);
    if (rc == 0 && strcmp(name, "2node") == 0) {
        s->machine.virtio_count = 2;
        for (uint32_t i = 0; i < 2; i++) {
            s->machine.virtio[i].base = HV_KVM_VIRTIO_MMIO_BASE + ACPI_KiB(4) * i;
            s->machine.virtio[i].gsi = HV_KVM_VIRTIO_FIRST_GSI + i;
        }
    }
    return rc;
}

static inline uint64_t acpi_le(const uint8_t *p, size_t bytes)
{
    uint64_t v = 0;

    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint8_t acpi_sum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

/* The bytes at guest address `addr` (`len` of them), or NULL when not all in the buffer. */
static inline const uint8_t *acpi_at(const uint8_t *buf, size_t used, uint64_t base, uint64_t addr,
                                     uint64_t len)
{
    if (addr < base || addr - base > used || len > used - (addr - base))
        return NULL;
    return buf + (addr - base);
}

/*
 * The system description table at `addr`: its header and its whole length
 * lie in the buffer, and its checksum is right. NULL otherwise.
 */
static inline const uint8_t *acpi_sdt(const uint8_t *buf, size_t used, uint64_t base, uint64_t addr)
{
    const uint8_t *t = acpi_at(buf, used, base, addr, 36);

    if (!t || acpi_le(t + 4, 4) < 36)
        return NULL;
    t = acpi_at(buf, used, base, addr, acpi_le(t + 4, 4));
    return t && acpi_sum(t, acpi_le(t + 4, 4)) == 0 ? t : NULL;
}

/* The table with signature `sig` found from the RSDP at `rsdp` (DSDT via the FADT), or NULL. */
static inline const uint8_t *acpi_find(const uint8_t *buf, size_t used, uint64_t base,
                                       uint64_t rsdp_addr, const char *sig)
{
    const uint8_t *rsdp = acpi_at(buf, used, base, rsdp_addr, 36);
    const uint8_t *xsdt;

    if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) != 0)
        return NULL;
    xsdt = acpi_sdt(buf, used, base, acpi_le(rsdp + 24, 8));
    if (!xsdt || memcmp(xsdt, "XSDT", 4) != 0)
        return NULL;
    if (strcmp(sig, "XSDT") == 0)
        return xsdt;
    for (size_t o = 36; o + 8 <= acpi_le(xsdt + 4, 4); o += 8) {
        const uint8_t *t = acpi_sdt(buf, used, base, acpi_le(xsdt + o, 8));

        if (!t)
            return NULL;
        if (memcmp(t, sig, 4) == 0)
            return t;
        if (strcmp(sig, "DSDT") == 0 && memcmp(t, "FACP", 4) == 0)
            return acpi_sdt(buf, used, base, acpi_le(t + 140, 8));
    }
    return NULL;
}

#endif
