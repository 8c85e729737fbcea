/*
 * core/svg.c - SVG pictures as strings: the growing document, escaped
 * outside text, and the parts host and plan pictures share (card grid,
 * distance matrix, finding markers, findings list). See core/svg.h.
 */
#include "core/svg.h"
#include "core/alloc.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_GAP     16
#define GRID_COLUMNS 4

static const char svg_style[] =
    "text{font-family:'DejaVu Sans Mono',monospace;font-size:12px;fill:#1b1f24;stroke:none}"
    ".title{font-size:16px;font-weight:bold}.h{font-weight:bold}.dim{fill:#5a6470}"
    ".card{fill:#f4f6f8;stroke:#8a96a3}.panel{fill:#ffffff;stroke:#c5ccd3}"
    ".vnode{fill:#dbe9ff;stroke:#3b6fb6}.accelerator{fill:#e3f4e1;stroke:#3f8f3a}"
    ".nic{fill:#fdf0d9;stroke:#c98a1a}.rdma{fill:#efe3f7;stroke:#8a4fb0}"
    ".window{fill:#ffffff;stroke:#5a6470}.cell{stroke:#c5ccd3}"
    ".link{stroke:#3b6fb6;fill:none;stroke-width:1.5}"
    ".xlink{stroke:#3b6fb6;fill:none;stroke-width:1.5;stroke-dasharray:5 3}"
    ".sev-error{stroke:#d62728;stroke-width:2.5}.sev-warning{stroke:#e08a00;stroke-width:2}"
    ".mark-error{fill:#d62728}.mark-warning{fill:#e08a00}.mark-info{fill:#1f77b4}"
    ".mark{fill:#ffffff;font-size:10px;font-weight:bold}.outline{fill:none}";

static void grow(hv_svg *svg, size_t more)
{
    size_t cap = svg->cap ? svg->cap : 4096;
    char *body;

    if (svg->failed || svg->len + more + 1 <= svg->cap)
        return;
    while (cap < svg->len + more + 1)
        cap *= 2;
    body = realloc(svg->body, cap);
    if (!body) {
        svg->failed = true;
        return;
    }
    svg->body = body;
    svg->cap = cap;
}

static void append(hv_svg *svg, const char *bytes, size_t n)
{
    grow(svg, n);
    if (svg->failed)
        return;
    memcpy(svg->body + svg->len, bytes, n);
    svg->len += n;
    svg->body[svg->len] = '\0';
}

static void vraw(hv_svg *svg, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0) {
        svg->failed = true;
        return;
    }
    grow(svg, (size_t)n);
    if (svg->failed)
        return;
    vsnprintf(svg->body + svg->len, (size_t)n + 1, fmt, ap);
    svg->len += (size_t)n;
}

void hv_svg_raw(hv_svg *svg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vraw(svg, fmt, ap);
    va_end(ap);
}

/* `len` bytes of printable UTF-8 `text`, XML-escaped (XML 1.0 forbids U+FFFE and U+FFFF). */
static void escape_n(hv_svg *svg, const char *text, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = hv_utf8_decode(text + i, len - i, &cp);
        const char *entity = NULL;

        if (n == 0 || cp == 0xfffe || cp == 0xffff)
            entity = "&#xFFFD;"; /* not reached for hv_text_printable_dup() output, but never */
        else if (cp == '&')
            entity = "&amp;";
        else if (cp == '<')
            entity = "&lt;";
        else if (cp == '>')
            entity = "&gt;";
        else if (cp == '"')
            entity = "&quot;";
        else if (cp == '\'')
            entity = "&apos;";
        if (entity)
            append(svg, entity, strlen(entity));
        else
            append(svg, text + i, n);
        i += n ? n : 1;
    }
}

/* The byte length of the first `max_chars` characters of UTF-8 `text` (all of it when fewer). */
static size_t chars_prefix(const char *text, size_t len, size_t max_chars)
{
    size_t i = 0;

    for (size_t c = 0; i < len && c < max_chars; c++) {
        uint32_t cp;
        size_t n = hv_utf8_decode(text + i, len - i, &cp);

        i += n ? n : 1;
    }
    return i;
}

void hv_svg_escaped(hv_svg *svg, const char *text)
{
    char *shown = hv_text_printable_dup(text ? text : "");

    if (!shown) {
        svg->failed = true;
        return;
    }
    escape_n(svg, shown, strlen(shown));
    free(shown);
}

void hv_svg_text(hv_svg *svg, int x, int y, const char *cls, size_t max_chars, const char *text)
{
    char *shown = hv_text_printable_dup(text ? text : "");
    size_t len, keep;

    if (!shown) {
        svg->failed = true;
        return;
    }
    len = strlen(shown);
    keep = max_chars > 3 ? chars_prefix(shown, len, max_chars) : len;
    if (keep < len)
        keep = chars_prefix(shown, len, max_chars - 3);
    hv_svg_raw(svg, "<text x=\"%d\" y=\"%d\"%s%s%s>", x, y, cls ? " class=\"" : "", cls ? cls : "",
               cls ? "\"" : "");
    escape_n(svg, shown, keep);
    hv_svg_raw(svg, "%s</text>\n", keep < len ? "..." : "");
    free(shown);
}

void hv_svg_textf(hv_svg *svg, int x, int y, const char *cls, size_t max_chars, const char *fmt,
                  ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    /* a cut in the middle of a character would be shown as an escaped byte */
    text[hv_utf8_trim_partial(text, strlen(text))] = '\0';
    hv_svg_text(svg, x, y, cls, max_chars, text);
}

void hv_svg_rect(hv_svg *svg, int x, int y, int w, int h, const char *cls)
{
    hv_svg_raw(svg, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" class=\"%s\"/>\n",
               x, y, w, h, cls);
}

void hv_svg_box(hv_svg *svg, int x, int y, int w, int h, const char *cls, const char *const *lines,
                size_t n)
{
    size_t cols = (size_t)((w - 16) / HV_SVG_CHAR_W);

    hv_svg_rect(svg, x, y, w, h, cls);
    for (size_t i = 0; i < n; i++)
        hv_svg_text(svg, x + 8, y + 15 + (int)i * HV_SVG_LINE_H, i ? NULL : "h", cols, lines[i]);
}

int hv_svg_grid_width(size_t n, int card_w)
{
    size_t columns = n < GRID_COLUMNS ? n : GRID_COLUMNS;

    return columns ? (int)columns * card_w + (int)(columns - 1) * GRID_GAP : 0;
}

int hv_svg_grid(size_t n, int card_w, const int *heights, int x0, int y0, int *xs, int *ys)
{
    int y = y0;

    for (size_t row = 0; row * GRID_COLUMNS < n; row++) {
        int tallest = 0;

        for (size_t c = 0; c < GRID_COLUMNS && row * GRID_COLUMNS + c < n; c++) {
            size_t i = row * GRID_COLUMNS + c;

            xs[i] = x0 + (int)c * (card_w + GRID_GAP);
            ys[i] = y;
            if (heights[i] > tallest)
                tallest = heights[i];
        }
        y += tallest + GRID_GAP;
    }
    return y > y0 ? y - y0 - GRID_GAP : 0;
}

int hv_svg_distances(hv_svg *svg, int x, int y, const char *caption, size_t n, const int *labels,
                     const int *distances)
{
    const int cell = 30, head = 22;
    int farthest = 10;

    for (size_t i = 0; i < n * n; i++)
        if (distances[i] > farthest)
            farthest = distances[i];
    hv_svg_raw(svg, "<g id=\"distances\">\n");
    hv_svg_text(svg, x, y + 12, "h", 0, caption);
    y += head;
    for (size_t i = 0; i < n; i++) {
        hv_svg_textf(svg, x + 30 + (int)i * cell + 4, y + 12, "dim", 0, "%d", labels[i]);
        hv_svg_textf(svg, x, y + 18 + (int)i * cell + 19, "dim", 0, "%d", labels[i]);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int d = distances[i * n + j];
            /* white for local, darker orange the farther */
            int shade = d <= 10 || farthest <= 10 ? 0 : (d - 10) * 150 / (farthest - 10);
            int cx = x + 30 + (int)j * cell, cy = y + 18 + (int)i * cell;

            hv_svg_raw(svg,
                       "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"cell\" "
                       "fill=\"rgb(255,%d,%d)\"/>\n",
                       cx, cy, cell, cell, 255 - shade / 2, 255 - shade);
            hv_svg_textf(svg, cx + 4, cy + 19, NULL, 0, "%d", d);
        }
    }
    hv_svg_raw(svg, "</g>\n");
    return head + 18 + (int)n * cell;
}

static const char *severity_class(int severity)
{
    return severity == HV_SEVERITY_ERROR     ? "error"
           : severity == HV_SEVERITY_WARNING ? "warning"
                                             : "info";
}

static void marker(hv_svg *svg, int cx, int cy, size_t number, int severity)
{
    hv_svg_raw(svg,
               "<circle cx=\"%d\" cy=\"%d\" r=\"9\" class=\"mark-%s\"/>"
               "<text x=\"%d\" y=\"%d\" class=\"mark\" text-anchor=\"middle\">%zu</text>\n",
               cx, cy, severity_class(severity), cx, cy + 4, number);
}

void hv_svg_marks(hv_svg *svg, int x, int y, int w, int h, const hv_findings *list,
                  const bool *about)
{
    int worst = 0, slot = 0;

    for (size_t i = 0; i < list->count; i++)
        if (about[i] && list->items[i].severity > worst)
            worst = list->items[i].severity;
    if (worst == HV_SEVERITY_ERROR || worst == HV_SEVERITY_WARNING)
        hv_svg_raw(svg,
                   "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" "
                   "class=\"outline sev-%s\"/>\n",
                   x, y, w, h, severity_class(worst));
    for (size_t i = 0; i < list->count; i++)
        if (about[i])
            marker(svg, x + w - 4 - slot++ * 21, y, i + 1, list->items[i].severity);
}

bool hv_svg_path_within(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    return n && strncmp(path, prefix, n) == 0 &&
           (path[n] == '\0' || path[n] == '.' || path[n] == '[');
}

/* Print `text` (printable) wrapped at spaces to lines of `columns` characters; the line count. */
static int wrapped(hv_svg *svg, int x, int y, size_t columns, const char *text)
{
    size_t len = strlen(text), at = 0;
    int lines = 0;

    while (at < len) {
        size_t end = at + chars_prefix(text + at, len - at, columns);

        if (end < len) { /* break at the last space that fits, if any */
            size_t space = end;

            while (space > at && text[space] != ' ')
                space--;
            if (space > at)
                end = space;
        }
        hv_svg_raw(svg, "<text x=\"%d\" y=\"%d\">", x, y + lines * HV_SVG_LINE_H);
        escape_n(svg, text + at, end - at);
        hv_svg_raw(svg, "</text>\n");
        lines++;
        at = end;
        while (at < len && text[at] == ' ')
            at++;
    }
    return lines ? lines : 1;
}

int hv_svg_findings(hv_svg *svg, int x, int y, int width, const hv_findings *list)
{
    size_t columns = (size_t)((width - 40) / HV_SVG_CHAR_W);
    int y0 = y;

    if (!list->count)
        return 0;
    hv_svg_raw(svg, "<g id=\"findings\">\n");
    hv_svg_text(svg, x, y + 12, "h", 0, "findings");
    y += 26;
    for (size_t i = 0; i < list->count; i++) {
        const struct hv_finding *f = &list->items[i];
        char *message = hv_text_printable_dup(f->message);

        hv_svg_raw(svg, "<g id=\"finding-%zu\" class=\"finding-%s\">\n", i + 1,
                   severity_class(f->severity));
        marker(svg, x + 10, y - 4, i + 1, f->severity);
        if (*f->path)
            hv_svg_textf(svg, x + 28, y, "h", columns, "%s %s (at %s)", severity_class(f->severity),
                         f->code, f->path);
        else
            hv_svg_textf(svg, x + 28, y, "h", columns, "%s %s", severity_class(f->severity),
                         f->code);
        if (!message)
            svg->failed = true;
        else
            y += HV_SVG_LINE_H * wrapped(svg, x + 28, y + HV_SVG_LINE_H, columns, message);
        free(message);
        y += HV_SVG_LINE_H + 8;
        hv_svg_raw(svg, "</g>\n");
    }
    hv_svg_raw(svg, "</g>\n");
    return y - y0;
}

int hv_svg_finish(hv_svg *svg, int width, int height, const char *title, char **out)
{
    hv_svg doc = HV_SVG_INIT;

    *out = NULL;
    hv_svg_raw(&doc,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\">\n<title>",
               width, height, width, height);
    hv_svg_escaped(&doc, title);
    hv_svg_raw(&doc,
               "</title>\n<style>%s</style>\n"
               "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
               svg_style, width, height);
    if (svg->body)
        append(&doc, svg->body, svg->len);
    hv_svg_raw(&doc, "</svg>\n");
    if (svg->failed)
        doc.failed = true;
    free(svg->body);
    *svg = (hv_svg)HV_SVG_INIT;
    if (doc.failed) {
        free(doc.body);
        return hv_error_nomem();
    }
    *out = doc.body;
    return 0;
}
