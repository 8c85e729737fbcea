/*
 * core/svg.h - building SVG pictures as strings (internal): a growing
 * document, text from outside made printable and XML-escaped, and the parts
 * the pictures of hosts (host/host-svg.c) and plans (plan/plan-svg.c) share:
 * a grid of cards, a distance matrix, finding markers and the findings list.
 * Pure string building: no I/O.
 *
 * Coordinates are whole pixels (printed as integers: no locale's decimal
 * comma can reach the document). Text is monospace (about CHAR_W pixels a
 * character), so what fits in a box is known without measuring it.
 */
#ifndef HV_CORE_SVG_H
#define HV_CORE_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/findings.h"

#define HV_SVG_CHAR_W 7.3 /* pixels: one character of the 12px monospace font */
#define HV_SVG_LINE_H 16  /* one line of text */

typedef struct hv_svg {
    char *body; /* everything between the header and the end tag */
    size_t len, cap;
    bool failed; /* memory ran out: hv_svg_finish() says so */
} hv_svg;

#define HV_SVG_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

/* Markup written as it is (never outside text: that goes through hv_svg_text*). */
void hv_svg_raw(hv_svg *svg, const char *fmt, ...) HV_PRINTF(2, 3);

/*
 * A <text> element at (x, y) of class `cls` holding `text` as people are
 * shown it (hv_text_printable_dup) and XML-escaped, cut to `max_chars`
 * characters (ending in "...") when longer; max_chars 0: never cut.
 */
void hv_svg_text(hv_svg *svg, int x, int y, const char *cls, size_t max_chars, const char *text);
/* hv_svg_text() of a formatted text (the arguments may come from outside). */
void hv_svg_textf(hv_svg *svg, int x, int y, const char *cls, size_t max_chars, const char *fmt,
                  ...) HV_PRINTF(6, 7);
/* `text` printable and XML-escaped, for an attribute value or a <title>. */
void hv_svg_escaped(hv_svg *svg, const char *text);

/* A rectangle of class `cls` (rounded corners). */
void hv_svg_rect(hv_svg *svg, int x, int y, int w, int h, const char *cls);

/*
 * A box of class `cls` with `n` lines of text in it (the first in bold),
 * each cut to what fits in the box's width.
 */
void hv_svg_box(hv_svg *svg, int x, int y, int w, int h, const char *cls, const char *const *lines,
                size_t n);

/*
 * Place `n` cards of width `card_w` and heights `heights` in a grid: one
 * row for up to 4 cards, then 4 columns (a row is as tall as its tallest
 * card). Writes each card's corner to xs/ys; returns the grid's height.
 * The grid's width: hv_svg_grid_width().
 */
int hv_svg_grid(size_t n, int card_w, const int *heights, int x0, int y0, int *xs, int *ys);
int hv_svg_grid_width(size_t n, int card_w);

/*
 * The matrix of `n` x `n` distances (row-major) at (x, y) under `caption`,
 * rows and columns labelled with `labels` (n ids); returns its height.
 */
int hv_svg_distances(hv_svg *svg, int x, int y, const char *caption, size_t n, const int *labels,
                     const int *distances);

/*
 * Mark the box (x, y, w, h) with the findings that are about it (about[i]
 * for finding i of `list`): its outline coloured by the worst of them, and
 * each one's number (1-based, as in the findings list) in a circle at its
 * top right corner.
 */
void hv_svg_marks(hv_svg *svg, int x, int y, int w, int h, const hv_findings *list,
                  const bool *about);

/* Whether finding path `path` is `prefix` or inside it ("accelerators[0].bars"). */
bool hv_svg_path_within(const char *path, const char *prefix);

/*
 * The numbered findings list at (x, y), `width` wide, messages wrapped;
 * returns its height (0 when there are none).
 */
int hv_svg_findings(hv_svg *svg, int x, int y, int width, const hv_findings *list);

/*
 * The document: the SVG header (size, shared style, `title`), the body,
 * the end tag. Frees the body; 0 with *out (free with hv_free) or HV_E_NOMEM.
 */
int hv_svg_finish(hv_svg *svg, int width, int height, const char *title, char **out);

#endif
