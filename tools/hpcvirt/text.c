/*
 * tools/hpcvirt/text.c - what the tool prints of text from outside (a host
 * tree or document, a spec, a backend, a library message quoting them): as
 * it is when it is printable UTF-8, else escaped the way the library's
 * messages escape such text (lib/core/text.c, compiled in); findings as
 * `plan` and `create` print them, and the library's log warnings the same way.
 */
#include "cli.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>

/* Escaped texts handed out; each lives until this many more have been made. */
#define CLI_TEXT_SLOTS 16

const char *cli_text(const char *text)
{
    static char *slots[CLI_TEXT_SLOTS];
    static unsigned int next;
    char **slot;
    size_t len;

    if (!text)
        return "";
    len = strlen(text);
    if (hv_text_unprintable_at(text, len) == len)
        return text;
    slot = &slots[next++ % CLI_TEXT_SLOTS];
    free(*slot);
    *slot = hv_quote_dup(text);
    return *slot ? *slot : "(not shown: out of memory)";
}

void cli_print_finding(FILE *out, const hv_finding *f)
{
    const char *path = hv_finding_path(f);

    fprintf(out, "  %s %s%s%s%s: %s\n", hv_severity_name(hv_finding_severity(f)),
            cli_text(hv_finding_code(f)), *path ? " (at " : "", cli_text(path), *path ? ")" : "",
            cli_text(hv_finding_message(f)));
}

void cli_print_log_record(int level, const char *domain, const char *message, void *data)
{
    /* any thread may log: a copy of its own, not cli_text()'s shared slots */
    char *shown = hv_text_printable_dup(message);

    (void)domain;
    (void)data;
    fprintf(stderr, "  %s %s\n",
            hv_severity_name(level == HV_LOG_ERROR ? HV_SEVERITY_ERROR : HV_SEVERITY_WARNING),
            shown ? shown : "(not shown: out of memory)");
    free(shown);
}

void cli_print_json_string(FILE *out, const char *text)
{
    char *valid = hv_utf8_repair_dup(text ? text : "");

    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(valid ? valid : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
    free(valid);
}
