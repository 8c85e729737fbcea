/*
 * fuzz/fuzz-sysfs-text.c - libFuzzer target for the sysfs/procfs text
 * parsers (lib/host/parse.h): the input, NUL-terminated, goes through every
 * one of them, and what they return must be self-consistent (resource sizes,
 * distance ranges, address widths, ...), and a rejection quotes none of it.
 * The first byte picks the meminfo key.
 */
#include "host/parse.h"

#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#define WHERE "fuzz/input"

/*
 * A failing parser that names `where` records the code it returns, and a
 * message of its own: it quotes nothing of the input (which may be any file a
 * host tree links to), so every byte of it is printable ASCII.
 */
static void check_failure(int rc)
{
    CHECK(rc < 0);
    CHECK(hv_error_code_of(hv_error_last()) == rc);
    for (const char *p = hv_error_message(hv_error_last()); *p; p++)
        CHECK(*p >= 0x20 && *p < 0x7f);
}

static bool is_terminated(const char *buf, size_t size)
{
    return memchr(buf, '\0', size) != NULL;
}

static void fuzz_numbers(const char *text)
{
    uint64_t u = 0;
    int64_t i = 0;
    int urc, irc;

    hv_error_clear();
    urc = hv_parse_u64(text, &u, WHERE);
    if (urc < 0) {
        check_failure(urc);
        CHECK(urc == HV_E_PARSE || urc == HV_E_RANGE);
    }
    hv_error_clear();
    irc = hv_parse_i64(text, &i, WHERE);
    if (irc < 0) {
        check_failure(irc);
        CHECK(irc == HV_E_PARSE || irc == HV_E_RANGE);
    }
    /* The two agree on every value both can hold ("-0" is i64 only). */
    if (urc == 0 && u <= (uint64_t)INT64_MAX)
        CHECK(irc == 0 && (uint64_t)i == u);
    if (irc == 0 && i > 0)
        CHECK(urc == 0 && u == (uint64_t)i);

    /* RoCE MTU: one of the InfiniBand MTUs, never above what the netdev carries. */
    if (urc == 0 && u <= UINT32_MAX) {
        unsigned int mtu = hv_roce_active_mtu((unsigned int)u);

        CHECK(mtu == 0 || mtu == 256 || mtu == 512 || mtu == 1024 || mtu == 2048 || mtu == 4096);
        CHECK(mtu < u || mtu == 0);
    }
}

static void fuzz_meminfo(const char *text, uint8_t selector)
{
    static const char *const keys[] = {"MemTotal", "MemFree", "HugePages_Total"};
    uint64_t value = 0;
    int rc;

    hv_error_clear();
    rc = hv_parse_meminfo(text, keys[selector % 3], &value, WHERE);
    if (rc < 0) {
        check_failure(rc);
        CHECK(rc == HV_E_PARSE || rc == HV_E_RANGE || rc == HV_E_NOTFOUND);
    }
}

static void fuzz_distance(const char *text)
{
    int *values = NULL;
    size_t count = 0;
    int rc;

    hv_error_clear();
    rc = hv_parse_distance_row(text, &values, &count, WHERE);
    if (rc < 0) {
        check_failure(rc);
        return;
    }
    CHECK(count == 0 || values != NULL);
    for (size_t i = 0; i < count; i++)
        CHECK(values[i] >= 0 && values[i] <= 255);
    free(values);
}

static void fuzz_resource(const char *text, uint8_t selector)
{
    hv_resource_line lines[8];
    size_t max = selector % 9; /* 0..8: also too few slots for the file */
    size_t count = 0;
    int rc;

    memset(lines, 0xa5, sizeof(lines));
    hv_error_clear();
    rc = hv_parse_resource(text, lines, max, &count, WHERE);
    if (rc < 0) {
        check_failure(rc);
        CHECK(rc == HV_E_PARSE);
        return;
    }
    CHECK(count <= max);
    for (size_t i = 0; i < count; i++) {
        const hv_resource_line *r = &lines[i];

        if (r->size != 0) {
            CHECK(r->end >= r->start);
            CHECK(r->size == r->end - r->start + 1);
        } else {
            CHECK(r->start == 0 && r->end == 0);
        }
    }
}

static void fuzz_cpuinfo(const char *text)
{
    hv_cpuinfo info;
    int rc;

    hv_error_clear();
    rc = hv_parse_cpuinfo(text, &info, WHERE);
    if (rc < 0) {
        check_failure(rc);
        CHECK(rc == HV_E_PARSE);
        return;
    }
    CHECK(info.phys_addr_bits == 0 || (info.phys_addr_bits >= 32 && info.phys_addr_bits <= 64));
    CHECK(info.virt_addr_bits == 0 || (info.virt_addr_bits >= 32 && info.virt_addr_bits <= 64));
    CHECK((info.phys_addr_bits == 0) == (info.virt_addr_bits == 0));
    CHECK(info.mhz == 0 || (info.mhz > 0 && info.mhz < 1e6));
    CHECK(is_terminated(info.model_name, sizeof(info.model_name)));
    CHECK(is_terminated(info.vendor, sizeof(info.vendor)));
}

static void fuzz_hugepage_dirname(const char *text)
{
    uint64_t page_bytes = 0;

    if (hv_parse_hugepage_dirname(text, &page_bytes) == 0)
        CHECK(page_bytes != 0 && page_bytes % 1024 == 0);
}

static void fuzz_numbered_state(const char *text, uint8_t selector)
{
    char name[64];
    size_t name_size = 1 + selector % sizeof(name); /* 1..64 */
    int number = -1;
    int rc;

    memset(name, 'X', sizeof(name));
    hv_error_clear();
    rc = hv_parse_numbered_state(text, &number, name, name_size, WHERE);
    if (rc < 0) {
        check_failure(rc);
        return;
    }
    CHECK(number >= 0 && number <= 1000);
    CHECK(is_terminated(name, name_size));
    for (size_t i = name_size; i < sizeof(name); i++)
        CHECK(name[i] == 'X');
}

static void fuzz_small_parsers(const char *text)
{
    unsigned int gbps = hv_parse_rate_gbps(text);
    unsigned int mts = hv_parse_link_speed_mts(text);

    CHECK(gbps <= 100000);
    CHECK(mts <= 1000 * 1000 + 900 && mts % 100 == 0);
    if (hv_is_pci_address(text))
        CHECK(strlen(text) == 12 && text[4] == ':' && text[7] == ':' && text[10] == '.');
}

static void fuzz_trim(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    size_t n;

    if (!copy)
        return;
    memcpy(copy, text, len + 1);
    hv_text_trim(copy);
    n = strlen(copy);
    CHECK(n <= strlen(text));
    CHECK(n == 0 ||
          (copy[0] != ' ' && copy[0] != '\n' && copy[n - 1] != ' ' && copy[n - 1] != '\n'));
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    uint8_t selector = size ? data[0] : 0;

    text = fuzz_text(data, size);
    if (!text)
        return 0;

    fuzz_trim(text, size);
    fuzz_numbers(text);
    fuzz_meminfo(text, selector);
    fuzz_distance(text);
    fuzz_resource(text, selector);
    fuzz_cpuinfo(text);
    fuzz_hugepage_dirname(text);
    fuzz_numbered_state(text, selector);
    fuzz_small_parsers(text);

    free(text);
    return 0;
}
