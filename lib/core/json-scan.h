/*
 * core/json-scan.h - the check every JSON document the library reads goes
 * through before json-c builds anything from it (internal; hv_json_parse()
 * runs it). json-c accepts what JSON does not (NaN, Infinity, raw control
 * characters in strings, lone UTF-16 surrogates, bytes that are not UTF-8),
 * silently changes what it accepts (a key or string cut at \u0000, the last
 * of two equal keys wins) and builds the whole tree, however large, before
 * a reader can look at it. The scan refuses all of that, and bounds the
 * document by its size, its nesting, its number of values and members, and
 * the length of the arrays at known paths, stopping at the first value
 * past a limit; memory it uses is bounded by the depth and by the keys of
 * the objects open at one time.
 */
#ifndef HV_CORE_JSON_SCAN_H
#define HV_CORE_JSON_SCAN_H

#include <stddef.h>

/* The deepest nesting any bounds may allow (the scanner's stack). */
#define HV_JSON_SCAN_MAX_DEPTH 64

/*
 * The longest array at one path of a document. `path` names keys from the
 * root joined by '.', with "[]" for every element of an array:
 * "nics", "numa_nodes[].distances", "rdma[].ports[].gids".
 */
typedef struct hv_json_array_limit {
    const char *path;
    size_t max_items;
    const char *items; /* the entries, plural, for the message: "NICs" */
} hv_json_array_limit;

typedef struct hv_json_bounds {
    /* Code of the errors about the document's shape (a duplicate key, a
     * limit passed): HV_E_SPEC for specs, HV_E_PARSE for documents the
     * library wrote. Text that is not JSON at all is always HV_E_PARSE. */
    int code;
    size_t max_bytes;
    unsigned int max_depth; /* arrays and objects inside each other, <= HV_JSON_SCAN_MAX_DEPTH */
    size_t max_values;      /* values and keys in the whole document, containers included */
    size_t
        max_containers; /* objects and arrays in the whole document (json-c's cost ~0.5 kB each) */
    size_t max_members; /* members of one object */
    const hv_json_array_limit *arrays; /* ends with a NULL path; NULL for none */
} hv_json_bounds;

/*
 * Check `len` bytes at `text` (a NUL byte among them is an error) against
 * `bounds` (NULL: the defaults). 0, or the error set for the first problem:
 * its path is the JSON path of the offending value ("nics[64]",
 * "numa_nodes[2].id") or "line N" where there is none, and its message
 * names `what` ("the VM spec"), the line and column, and what to do.
 */
int hv_json_scan(const char *text, size_t len, const char *what, const hv_json_bounds *bounds);

#endif
