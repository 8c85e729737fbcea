/*
 * core/findings.h - a growable list of findings (internal); hosts and plans
 * each own one.
 */
#ifndef HV_CORE_FINDINGS_H
#define HV_CORE_FINDINGS_H

#include <stdarg.h>
#include <stddef.h>
#include <hpcvirt/finding.h>

struct json_object;

struct hv_finding {
    int severity;
    char *code;
    char *path;
    char *message;
};

struct hv_arena;

typedef struct hv_findings {
    struct hv_finding *items;
    size_t count;
    size_t cap;
    struct hv_arena *arena; /* when set, memory comes from it and is freed with it */
} hv_findings;

/* Append a finding (a message of up to 1023 bytes, never cut in a character). 0 or HV_E_NOMEM. */
int hv_findings_add(hv_findings *list, int severity, const char *code, const char *path,
                    const char *fmt, ...) HV_PRINTF(5, 6);
int hv_findings_vadd(hv_findings *list, int severity, const char *code, const char *path,
                     const char *fmt, va_list ap) HV_PRINTF(5, 0);
size_t hv_findings_count_severity(const hv_findings *list, int severity);
const struct hv_finding *hv_findings_first(const hv_findings *list, int severity);
void hv_findings_clear(hv_findings *list);

/* The public hv_finding_list: a heap-allocated finding list (no arena) the caller owns. */
struct hv_finding_list {
    hv_findings findings;
};

/*
 * Move the findings of `list` (no arena) into a new hv_finding_list, leaving `list` empty;
 * NULL, with the out-of-memory error, when there is no memory for it (`list` is kept).
 */
hv_finding_list *hv_finding_list_take(hv_findings *list);

/*
 * Hand each finding of `list` to the log handler (core/log.h) at its severity's level
 * (error, warning, info), as the CLI prints a finding: "CODE (at PATH): MESSAGE", the path part
 * left out when there is none. For a call that has no caller to hand them to (a VM backend).
 */
void hv_findings_log(const hv_findings *list, const char *domain);

/* [{severity, code, path, message}, ...]; NULL on ENOMEM. */
struct json_object *hv_findings_to_json(const hv_findings *list);
/* Parse that array back (for hosts/plans read from JSON). */
int hv_findings_from_json(hv_findings *list, struct json_object *array, const char *path);

#endif
