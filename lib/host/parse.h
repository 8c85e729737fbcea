/*
 * host/parse.h - parsers for the text formats of sysfs and procfs files
 * (internal, pure: no I/O). Each takes the file's text and a `where` (the
 * file path) for error messages. A rejection says what was expected and
 * quotes nothing of the text: a host tree can link a file to anything, and
 * what did not parse is not to be shown (numbers that parsed but are out of
 * range are). The fuzz target fuzz/fuzz-sysfs-text.c drives all of them.
 */
#ifndef HV_HOST_PARSE_H
#define HV_HOST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Remove leading and trailing whitespace in place. */
void hv_text_trim(char *text);

/* One integer, decimal or 0x-hex, surrounded by optional whitespace. */
int hv_parse_i64(const char *text, int64_t *out, const char *where);
int hv_parse_u64(const char *text, uint64_t *out, const char *where);

/*
 * A meminfo field in /proc/meminfo ("MemTotal:  131981020 kB") or node
 * meminfo ("Node 0 MemTotal:  4550128 kB") format, converted to bytes when
 * the line has a kB unit (HugePages_* counts have none). HV_E_NOTFOUND when
 * the key is absent, HV_E_PARSE (naming the line) for garbage, HV_E_RANGE on
 * overflow.
 */
int hv_parse_meminfo(const char *text, const char *key, uint64_t *value, const char *where);

/* A distance row ("10 21 21\n"): values 0..255. Caller frees *values. */
int hv_parse_distance_row(const char *text, int **values, size_t *count, const char *where);

/* One line of a PCI `resource` file. */
typedef struct hv_resource_line {
    uint64_t start;
    uint64_t end;
    uint64_t flags;
    uint64_t size; /* end - start + 1, 0 when unused */
} hv_resource_line;

/* Kernel IORESOURCE_* flag bits that matter here. */
#define HV_IORESOURCE_IO       0x00000100u
#define HV_IORESOURCE_MEM      0x00000200u
#define HV_IORESOURCE_PREFETCH 0x00002000u
#define HV_IORESOURCE_MEM_64   0x00100000u

/*
 * Parse a `resource` file: up to `max` lines of "0x%016llx 0x%016llx 0x%016llx".
 * A line whose end is below its start, or whose size overflows 64 bits, is
 * HV_E_PARSE naming the line.
 */
int hv_parse_resource(const char *text, hv_resource_line *lines, size_t max, size_t *count,
                      const char *where);

/* What host discovery takes from /proc/cpuinfo. */
typedef struct hv_cpuinfo {
    char model_name[128];
    char vendor[32];
    unsigned int phys_addr_bits; /* 0 when not reported */
    unsigned int virt_addr_bits;
    unsigned int processors; /* "processor" lines */
    double mhz;              /* first "cpu MHz", 0 when absent */
    bool has_pdpe1gb;        /* 1 GiB pages */
    bool has_hypervisor;
    bool has_aperfmperf;
    bool has_constant_tsc;
} hv_cpuinfo;

int hv_parse_cpuinfo(const char *text, hv_cpuinfo *out, const char *where);

/* "hugepages-2048kB" -> 2097152. */
int hv_parse_hugepage_dirname(const char *name, uint64_t *page_bytes);

/* "4: ACTIVE" -> 4 and "ACTIVE" (copied into name). */
int hv_parse_numbered_state(const char *text, int *number, char *name, size_t name_size,
                            const char *where);

/* "100 Gb/sec (4X EDR)" -> 100 (Gb/s, rounded down), 0 when unknown. */
unsigned int hv_parse_rate_gbps(const char *text);

/* An RDMA port MTU for RoCE from its netdev MTU (kernel's iboe_get_mtu). */
unsigned int hv_roce_active_mtu(unsigned int netdev_mtu);

/* "32.0 GT/s PCIe" -> 32000 (MT/s); 0 when unknown. */
unsigned int hv_parse_link_speed_mts(const char *text);

/* A PCI address "DDDD:BB:DD.F" (lowercase hex). */
bool hv_is_pci_address(const char *text);

#endif
