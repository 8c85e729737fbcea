/*
 * core/findings.c - finding lists: append (keeping what a finding says
 * printable), query, JSON in both directions, the public accessors of a
 * borrowed finding, the public hv_finding_list a caller owns, and findings
 * handed to the log.
 */
#include "core/findings.h"
#include "core/format.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const severity_names[] = {NULL, "info", "warning", "error"};

const char *hv_severity_name(int severity)
{
    if (severity < HV_SEVERITY_INFO || severity > HV_SEVERITY_ERROR)
        return "unknown";
    return severity_names[severity];
}

/* add_text() of text known to be printable. */
static int add_printable(hv_findings *list, int severity, const char *code, const char *path,
                         const char *message)
{
    size_t lc = strlen(code) + 1, lp = strlen(path ? path : "") + 1, lm = strlen(message) + 1;
    struct hv_finding *f;
    char *block;

    if (list->arena && list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        struct hv_finding *items = hv_arena_alloc_raw(list->arena, cap * sizeof(*items));

        if (!items)
            return HV_E_NOMEM;
        if (list->count)
            memcpy(items, list->items, list->count * sizeof(*items));
        list->items = items;
        list->cap = cap;
    } else if (!list->arena && HV_ARRAY_RESERVE(list->items, list->cap, list->count + 1) < 0) {
        return HV_E_NOMEM;
    }
    /* code, path and message share one allocation, owned through `code` */
    block = list->arena ? hv_arena_alloc_raw(list->arena, lc + lp + lm) : malloc(lc + lp + lm);
    if (!block)
        return list->arena ? HV_E_NOMEM : hv_error_nomem();
    f = &list->items[list->count++];
    f->severity = severity;
    f->code = memcpy(block, code, lc);
    f->path = memcpy(block + lc, path ? path : "", lp);
    f->message = memcpy(block + lc + lp, message, lm);
    return 0;
}

/* `text`, or a printable copy of it in *owned (core/text.h); NULL when memory ran out. */
static const char *printable(const char *text, char **owned)
{
    size_t len = strlen(text);

    *owned = NULL;
    if (hv_text_unprintable_at(text, len) == len)
        return text;
    return *owned = hv_quote_dup(text);
}

/*
 * Append a finding with a ready message. What a finding says is shown to
 * people and may quote text from outside (a host tree or document, a spec):
 * a code, path or message that is not all printable UTF-8 is kept escaped
 * as hv_quote() escapes it (core/text.h), so every finding is printable,
 * and one that is stays as it is. Returns 0 or HV_E_NOMEM.
 */
static int add_text(hv_findings *list, int severity, const char *code, const char *path,
                    const char *message)
{
    char *owned[3];
    const char *c = printable(code, &owned[0]), *p = printable(path ? path : "", &owned[1]),
               *m = printable(message, &owned[2]);
    int rc;

    if (c && p && m)
        rc = add_printable(list, severity, c, p, m);
    else
        rc = list->arena ? HV_E_NOMEM : hv_error_nomem(); /* as add_printable() reports it */
    for (size_t i = 0; i < 3; i++)
        free(owned[i]);
    return rc;
}

int hv_findings_vadd(hv_findings *list, int severity, const char *code, const char *path,
                     const char *fmt, va_list ap)
{
    char message[1024];
    size_t len = hv_vformat(message, sizeof(message), fmt, ap);

    /* a message cut at the buffer's end must not end in half a character */
    if (len == sizeof(message) - 1)
        message[hv_utf8_trim_partial(message, len)] = '\0';
    return add_text(list, severity, code, path, message);
}

int hv_findings_add(hv_findings *list, int severity, const char *code, const char *path,
                    const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hv_findings_vadd(list, severity, code, path, fmt, ap);
    va_end(ap);
    return rc;
}

size_t hv_findings_count_severity(const hv_findings *list, int severity)
{
    size_t n = 0;

    for (size_t i = 0; i < list->count; i++)
        n += list->items[i].severity == severity;
    return n;
}

const struct hv_finding *hv_findings_first(const hv_findings *list, int severity)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].severity == severity)
            return &list->items[i];
    return NULL;
}

void hv_findings_clear(hv_findings *list)
{
    if (list->arena) { /* the arena's owner frees everything at once */
        memset(list, 0, sizeof(*list));
        return;
    }
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].code); /* the block holding path and message too */
    free(list->items);
    memset(list, 0, sizeof(*list));
}

json_object *hv_findings_to_json(const hv_findings *list)
{
    json_object *array = json_object_new_array();

    for (size_t i = 0; array && i < list->count; i++) {
        const struct hv_finding *f = &list->items[i];
        json_object *o = json_object_new_object();

        if (!o || hv_json_add_string(o, "severity", hv_severity_name(f->severity)) < 0 ||
            hv_json_add_string(o, "code", f->code) < 0 ||
            hv_json_add_string(o, "path", f->path) < 0 ||
            hv_json_add_string(o, "message", f->message) < 0 ||
            json_object_array_add(array, o) < 0) {
            json_object_put(o);
            json_object_put(array);
            hv_error_nomem();
            return NULL;
        }
    }
    if (!array)
        hv_error_nomem();
    return array;
}

int hv_findings_from_json(hv_findings *list, json_object *array, const char *path)
{
    if (!json_object_is_type(array, json_type_array))
        return hv_error_set(HV_E_PARSE, path, "%s must be an array of findings", path);
    for (size_t i = 0; i < json_object_array_length(array); i++) {
        json_object *o = json_object_array_get_idx(array, i);
        const char *sev = hv_json_get_string(o, "severity");
        const char *code = hv_json_get_string(o, "code");
        const char *fpath = hv_json_get_string(o, "path");
        const char *message = hv_json_get_string(o, "message");
        int severity = 0;
        char where[128];

        for (int s = HV_SEVERITY_INFO; s <= HV_SEVERITY_ERROR; s++)
            if (sev && strcmp(sev, severity_names[s]) == 0)
                severity = s;
        snprintf(where, sizeof(where), "%s[%zu]", path, i);
        if (!severity || !code || !message)
            return hv_error_set(HV_E_PARSE, where,
                                "%s needs severity (info|warning|error), code and message", where);
        /* the document's own words, uncut; escaped when they would act on a terminal */
        if (add_text(list, severity, code, fpath, message) < 0)
            return HV_E_NOMEM;
    }
    return 0;
}

int hv_finding_severity(const hv_finding *finding)
{
    return finding ? finding->severity : 0;
}

const char *hv_finding_code(const hv_finding *finding)
{
    return finding ? finding->code : "";
}

const char *hv_finding_path(const hv_finding *finding)
{
    return finding ? finding->path : "";
}

const char *hv_finding_message(const hv_finding *finding)
{
    return finding ? finding->message : "";
}

hv_finding_list *hv_finding_list_take(hv_findings *list)
{
    hv_finding_list *out = calloc(1, sizeof(*out));

    if (!out) {
        hv_error_nomem();
        return NULL;
    }
    out->findings = *list;
    memset(list, 0, sizeof(*list));
    return out;
}

size_t hv_finding_list_count(const hv_finding_list *list)
{
    return list ? list->findings.count : 0;
}

const hv_finding *hv_finding_list_at(const hv_finding_list *list, size_t index)
{
    return list && index < list->findings.count ? &list->findings.items[index] : NULL;
}

void hv_finding_list_free(hv_finding_list *list)
{
    if (!list)
        return;
    hv_findings_clear(&list->findings);
    free(list);
}

void hv_findings_log(const hv_findings *list, const char *domain)
{
    for (size_t i = 0; i < list->count; i++) {
        const struct hv_finding *f = &list->items[i];
        int level = f->severity == HV_SEVERITY_ERROR     ? HV_LOG_ERROR
                    : f->severity == HV_SEVERITY_WARNING ? HV_LOG_WARNING
                                                         : HV_LOG_INFO;

        hv_log(level, domain, "%s%s%s%s: %s", f->code, *f->path ? " (at " : "", f->path,
               *f->path ? ")" : "", f->message);
    }
}
