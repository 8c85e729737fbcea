/*
 * tests/kvm/acpi-dump.c - writes the ACPI tables of one test machine
 * (tests/kvm/acpi-test.h) into a folder, one binary file per table as
 * `iasl -d` takes them (rsdp.dat, xsdt.dat, facp.dat, dsdt.dat, apic.dat,
 * srat.dat, slit.dat), found the way a guest finds them: from the RSDP.
 * Used by check-acpi-iasl.py.
 *
 * Usage: acpi-dump DIR 1node|2node|16node|x2apic
 */
#include "acpi-test.h"

#include <stdio.h>
#include <hpcvirt/hpcvirt.h>

#define BASE HV_KVM_ACPI_BIOS_BASE
#define ROOM (HV_KVM_ACPI_BIOS_END - HV_KVM_ACPI_BIOS_BASE)

static uint8_t buf[ROOM];

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[4096];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    ok = fwrite(p, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        perror(path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const char *const tables[][2] = {
        {"XSDT", "xsdt"}, {"FACP", "facp"}, {"DSDT", "dsdt"},
        {"APIC", "apic"}, {"SRAT", "srat"}, {"SLIT", "slit"},
    };
    static acpi_scenario s;
    hv_kvm_acpi_tables where;
    const uint8_t *rsdp;

    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR 1node|2node|16node|x2apic\n", argv[0]);
        return 2;
    }
    if (acpi_scenario_init(&s, argv[2]) != 0) {
        fprintf(stderr, "acpi-dump: no machine '%s': %s\n", argv[2],
                hv_error_message(hv_error_last()));
        return 2;
    }
    if (hv_kvm_acpi_build(&s.machine, BASE, buf, sizeof(buf), &where) < 0) {
        fprintf(stderr, "acpi-dump: %s\n", hv_error_message(hv_error_last()));
        return 1;
    }
    rsdp = acpi_at(buf, where.bytes, BASE, where.rsdp, 36);
    if (!rsdp || write_file(argv[1], "rsdp", rsdp, 36) < 0)
        return 1;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        const uint8_t *t = acpi_find(buf, where.bytes, BASE, where.rsdp, tables[i][0]);

        if (!t) {
            fprintf(stderr, "acpi-dump: no valid %s found from the RSDP\n", tables[i][0]);
            return 1;
        }
        if (write_file(argv[1], tables[i][1], t, acpi_le(t + 4, 4)) < 0)
            return 1;
    }
    return 0;
}
