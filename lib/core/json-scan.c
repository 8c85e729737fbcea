/*
 * core/json-scan.c - the validating scan every JSON document gets before
 * json-c parses it (core/json-scan.h): the RFC 8259 grammar, strict UTF-8,
 * no NUL characters, unique keys, and the document's bounds. It builds
 * nothing but the keys of the objects open at the time (to find repeats)
 * and a fixed stack.
 */
#include "core/json-scan.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bounds for documents that name none: 16 MiB, 64 levels, 1 Mi values and keys, 64 Ki
 * objects and arrays, 256 members per object (finding a repeated key costs
 * up to the square of the members of one object).
 */
static const hv_json_bounds default_bounds = {
    .code = HV_E_PARSE,
    .max_bytes = (size_t)16 << 20,
    .max_depth = HV_JSON_SCAN_MAX_DEPTH,
    .max_values = (size_t)1 << 20,
    .max_containers = (size_t)1 << 16,
    .max_members = 256,
    .arrays = NULL,
};

/* The longest array path (keys and "[]") a limit can name. */
#define SCHEMA_MAX 128
#define NO_SCHEMA  SIZE_MAX

struct frame {
    bool object;
    size_t count;           /* members or elements so far */
    size_t keys_start;      /* object: its first key in scanner.keys */
    size_t key_bytes_start; /* object: where its keys' bytes start */
    size_t max_items;       /* array: its limit (SIZE_MAX: none) */
    const char *items;      /* array: what its entries are */
    size_t schema_len;      /* its path's length in scanner.schema, or NO_SCHEMA */
};

struct key {
    size_t offset, len; /* decoded, in scanner.key_bytes */
    uint32_t hash;
};

typedef struct scanner {
    const char *text;
    size_t len, pos;
    const char *what;
    const hv_json_bounds *bounds;
    struct frame stack[HV_JSON_SCAN_MAX_DEPTH];
    unsigned int depth;
    bool in_key; /* reading a key: errors are about the object, not its last member */
    size_t values, containers;
    struct key *keys; /* of the objects open now, outermost first */
    size_t nkeys, keys_cap;
    char *key_bytes;
    size_t nkey_bytes, key_bytes_cap;
    char schema[SCHEMA_MAX]; /* "numa_nodes[].distances": the path limits are named by */
} scanner;

/* ---- errors ---------------------------------------------------------------- */

/* Line and column (in characters, from 1) of byte `pos`. */
static void locate(const scanner *s, size_t pos, size_t *line, size_t *column)
{
    size_t start = 0;

    *line = 1;
    for (size_t i = 0; i < pos && i < s->len; i++) {
        if (s->text[i] == '\n') {
            (*line)++;
            start = i + 1;
        }
    }
    *column = 1;
    for (size_t i = start; i < pos && i < s->len; i++)
        *column += ((unsigned char)s->text[i] & 0xc0) != 0x80;
}

/* The JSON path of the value being read ("" for the root), keys escaped (hv_quote_n). */
static const char *value_path(const scanner *s, char *buf, size_t size)
{
    size_t out = 0;

    buf[0] = '\0';
    for (unsigned int d = 0; d < s->depth && s->stack[d].count; d++) {
        const struct frame *f = &s->stack[d];
        char piece[HV_QUOTE_SIZE + 8];
        size_t n;

        if (s->in_key && d + 1 == s->depth)
            break;

        if (f->object) {
            const struct key *k = &s->keys[f->keys_start + f->count - 1];
            char q[HV_QUOTE_SIZE];

            hv_quote_n(q, sizeof(q), s->key_bytes + k->offset, k->len);
            n = (size_t)snprintf(piece, sizeof(piece), "%s%s", out ? "." : "", q);
        } else {
            n = (size_t)snprintf(piece, sizeof(piece), "[%zu]", f->count - 1);
        }
        if (out + n >= size)
            break;
        memcpy(buf + out, piece, n + 1);
        out += n;
    }
    return buf;
}

/*
 * Record an error at byte `pos`: the message (from `fmt`) followed by
 * " (line L, column C)". Its path is the JSON path of the value being read
 * when `at_value` and there is one, else "line L".
 */
static int fail(const scanner *s, int code, bool at_value, size_t pos, const char *fmt, ...)
    HV_PRINTF(5, 6);
static int fail(const scanner *s, int code, bool at_value, size_t pos, const char *fmt, ...)
{
    char message[768], path[256];
    size_t line, column;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    locate(s, pos, &line, &column);
    path[0] = '\0';
    if (at_value)
        value_path(s, path, sizeof(path));
    if (!path[0])
        snprintf(path, sizeof(path), "line %zu", line);
    return hv_error_set(code, path, "%s (line %zu, column %zu)", message, line, column);
}

/* Keys count with the values: json-c spends more on an object's member than on an element. */
static int too_many_values(const scanner *s)
{
    return fail(s, s->bounds->code, true, s->pos,
                "%s has more than %zu values and keys, more than any valid one: is this the "
                "right file?",
                s->what, s->bounds->max_values);
}

/* Text that is not JSON: "WHAT is not valid JSON: PROBLEM". */
#define SYNTAX(s, ...) fail(s, HV_E_PARSE, false, (s)->pos, __VA_ARGS__)

/* The character at pos, quoted, for "found ..." ("the end" past it). */
static const char *found(const scanner *s, char *buf, size_t size)
{
    uint32_t cp;
    size_t n;

    if (s->pos >= s->len)
        return "the end of the text";
    n = hv_utf8_decode(s->text + s->pos, s->len - s->pos, &cp);
    buf[0] = '\'';
    hv_quote_n(buf + 1, size - 2, s->text + s->pos, n ? n : 1);
    strcat(buf, "'");
    return buf;
}

/* ---- the stack --------------------------------------------------------------- */

static const hv_json_array_limit *array_limit(const scanner *s)
{
    for (const hv_json_array_limit *l = s->bounds->arrays; l && l->path; l++)
        if (strcmp(l->path, s->schema) == 0)
            return l;
    return NULL;
}

/* The path limits are named by, for a container opened as the current value. */
static size_t child_schema(scanner *s)
{
    const struct frame *parent = s->depth ? &s->stack[s->depth - 1] : NULL;
    size_t at, n;
    const char *piece;

    if (!parent) {
        s->schema[0] = '\0';
        return 0;
    }
    if (parent->schema_len == NO_SCHEMA)
        return NO_SCHEMA;
    at = parent->schema_len;
    if (parent->object) {
        const struct key *k = &s->keys[parent->keys_start + parent->count - 1];

        piece = s->key_bytes + k->offset;
        n = k->len;
        if (at && at + 1 < SCHEMA_MAX)
            s->schema[at++] = '.';
    } else {
        piece = "[]";
        n = 2;
    }
    if (at + n >= SCHEMA_MAX)
        return NO_SCHEMA;
    memcpy(s->schema + at, piece, n);
    s->schema[at + n] = '\0';
    return at + n;
}

static int push(scanner *s, bool object)
{
    struct frame *f;
    const hv_json_array_limit *limit;

    if (s->depth >= s->bounds->max_depth || s->depth >= HV_JSON_SCAN_MAX_DEPTH)
        return fail(s, s->bounds->code, true, s->pos,
                    "%s nests arrays and objects more than %u levels deep, deeper than any valid "
                    "one: is this the right file?",
                    s->what, s->bounds->max_depth);
    if (++s->containers > s->bounds->max_containers)
        return fail(s, s->bounds->code, true, s->pos,
                    "%s has more than %zu objects and arrays, more than any valid one: is this "
                    "the right file?",
                    s->what, s->bounds->max_containers);
    f = &s->stack[s->depth];
    memset(f, 0, sizeof(*f));
    f->object = object;
    f->keys_start = s->nkeys;
    f->key_bytes_start = s->nkey_bytes;
    f->max_items = SIZE_MAX;
    f->schema_len = child_schema(s);
    if (!object && f->schema_len != NO_SCHEMA && (limit = array_limit(s))) {
        f->max_items = limit->max_items;
        f->items = limit->items;
    }
    s->depth++;
    s->pos++;
    return 0;
}

static void pop(scanner *s)
{
    const struct frame *f = &s->stack[--s->depth];

    if (f->object) {
        s->nkeys = f->keys_start;
        s->nkey_bytes = f->key_bytes_start;
    }
    s->pos++;
}

/* The next element of the array on top: past its limit is an error. */
static int next_element(scanner *s)
{
    struct frame *f = &s->stack[s->depth - 1];
    char path[256];

    f->count++;
    if (f->count <= f->max_items)
        return 0;
    return fail(s, s->bounds->code, true, s->pos, "at most %zu %s: %s is one too many",
                f->max_items, f->items, value_path(s, path, sizeof(path)));
}

/* ---- tokens ------------------------------------------------------------------ */

static void skip_space(scanner *s)
{
    while (s->pos < s->len && (s->text[s->pos] == ' ' || s->text[s->pos] == '\t' ||
                               s->text[s->pos] == '\r' || s->text[s->pos] == '\n'))
        s->pos++;
}

static bool looking_at(const scanner *s, const char *word)
{
    size_t n = strlen(word);

    return s->len - s->pos >= n && memcmp(s->text + s->pos, word, n) == 0;
}

static int add_key_bytes(scanner *s, const char *bytes, size_t n)
{
    if (HV_ARRAY_RESERVE(s->key_bytes, s->key_bytes_cap, s->nkey_bytes + n) < 0)
        return HV_E_NOMEM;
    memcpy(s->key_bytes + s->nkey_bytes, bytes, n);
    s->nkey_bytes += n;
    return 0;
}

static int add_key_code_point(scanner *s, uint32_t cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return add_key_bytes(s, u, n);
}

/* Four hex digits after "\u" at pos: the code unit, or -1. */
static long hex4(const scanner *s, size_t pos)
{
    long v = 0;

    if (s->len - pos < 4)
        return -1;
    for (size_t i = pos; i < pos + 4; i++) {
        char c = s->text[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* The escape at pos (a backslash): its code point in *cp, pos past it. */
static int scan_escape(scanner *s, bool key, uint32_t *cp)
{
    static const char simple[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
    const char *in = key ? "in a key" : "in a string";
    char c = s->pos + 1 < s->len ? s->text[s->pos + 1] : '\0';
    const char *hit = c ? strchr(simple, c) : NULL;
    long unit, low;

    if (hit) {
        *cp = (unsigned char)decoded[hit - simple];
        s->pos += 2;
        return 0;
    }
    if (c != 'u') {
        char q[HV_QUOTE_SIZE];

        return SYNTAX(s,
                      "%s is not valid JSON: '\\%s' is not an escape JSON knows (\\\" \\\\ \\/ \\b "
                      "\\f \\n \\r \\t \\uXXXX): write a backslash as \\\\",
                      s->what, c ? hv_quote_n(q, sizeof(q), &c, 1) : "");
    }
    if ((unit = hex4(s, s->pos + 2)) < 0)
        return SYNTAX(s, "%s is not valid JSON: \\u must be followed by four hex digits", s->what);
    if (unit == 0)
        return fail(s, HV_E_PARSE, true, s->pos,
                    "%s has \\u0000 (a NUL character) %s: strings must not contain NUL "
                    "characters, which would cut them short",
                    s->what, in);
    if (unit >= 0xdc00 && unit <= 0xdfff)
        return fail(s, HV_E_PARSE, true, s->pos,
                    "%s has \\u%04lx %s, the second half of a UTF-16 surrogate pair without the "
                    "first: write the character itself, or both halves",
                    s->what, unit, in);
    if (unit >= 0xd800 && unit <= 0xdbff) {
        if (s->len - s->pos < 12 || s->text[s->pos + 6] != '\\' || s->text[s->pos + 7] != 'u' ||
            (low = hex4(s, s->pos + 8)) < 0xdc00 || low > 0xdfff)
            return fail(s, HV_E_PARSE, true, s->pos,
                        "%s has \\u%04lx %s, the first half of a UTF-16 surrogate pair without "
                        "the second: write the character itself, or both halves",
                        s->what, unit, in);
        *cp = 0x10000 + (((uint32_t)unit - 0xd800) << 10) + ((uint32_t)low - 0xdc00);
        s->pos += 12;
        return 0;
    }
    *cp = (uint32_t)unit;
    s->pos += 6;
    return 0;
}

/* A string at pos (on its '"'); a key's decoded bytes are added to key_bytes. */
static int scan_string(scanner *s, bool key)
{
    size_t start = s->pos;
    int rc;

    s->pos++;
    for (;;) {
        unsigned char c;

        if (s->pos >= s->len) {
            s->pos = start;
            return SYNTAX(s,
                          "%s is not valid JSON: a string starts here and never ends (no "
                          "closing '\"')",
                          s->what);
        }
        c = (unsigned char)s->text[s->pos];
        if (c == '"') {
            s->pos++;
            return 0;
        }
        if (c == '\\') {
            uint32_t cp = 0;

            if ((rc = scan_escape(s, key, &cp)) < 0 ||
                (key && (rc = add_key_code_point(s, cp)) < 0))
                return rc;
        } else if (c < 0x20) {
            return fail(s, HV_E_PARSE, true, s->pos,
                        "%s is not valid JSON: a control character (U+%04X) in a string must be "
                        "written as an escape (\\u%04x, or \\n \\t ...)",
                        s->what, c, c);
        } else {
            uint32_t cp;
            size_t n = hv_utf8_decode(s->text + s->pos, s->len - s->pos, &cp);

            if (n == 0)
                return fail(s, HV_E_PARSE, true, s->pos,
                            "%s is not UTF-8: byte \\x%02x in a string is not part of a UTF-8 "
                            "character; JSON text must be UTF-8 (convert it, e.g. with iconv)",
                            s->what, c);
            if (key && (rc = add_key_bytes(s, s->text + s->pos, n)) < 0)
                return rc;
            s->pos += n;
        }
    }
}

static uint32_t hash_bytes(const char *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* The key of the next member of the object on top, and its ':'. */
static int scan_key(scanner *s)
{
    struct frame *f = &s->stack[s->depth - 1];
    size_t start = s->pos, offset = s->nkey_bytes;
    struct key *k;
    char q[32];
    int rc;

    if (s->pos >= s->len)
        return SYNTAX(s, "%s is not valid JSON: it ends inside an object (a '}' is missing)",
                      s->what);
    if (s->text[s->pos] != '"')
        return SYNTAX(s, "%s is not valid JSON: expected a key in double quotes, found %s", s->what,
                      found(s, q, sizeof(q)));
    if (++s->values > s->bounds->max_values)
        return too_many_values(s);
    /* never NULL, even for "": offsets into it are taken */
    if (HV_ARRAY_RESERVE(s->key_bytes, s->key_bytes_cap, s->nkey_bytes + 1) < 0)
        return HV_E_NOMEM;
    s->in_key = true;
    rc = scan_string(s, true);
    s->in_key = false;
    if (rc < 0)
        return rc;
    if (HV_ARRAY_RESERVE(s->keys, s->keys_cap, s->nkeys + 1) < 0)
        return HV_E_NOMEM;
    k = &s->keys[s->nkeys++];
    k->offset = offset;
    k->len = s->nkey_bytes - offset;
    k->hash = hash_bytes(s->key_bytes + offset, k->len);
    f->count++;
    if (f->count > s->bounds->max_members)
        return fail(s, s->bounds->code, true, start,
                    "%s has an object with more than %zu members, more than any valid one: is "
                    "this the right file?",
                    s->what, s->bounds->max_members);
    for (size_t i = f->keys_start; i + 1 < s->nkeys; i++) {
        const struct key *other = &s->keys[i];

        if (other->hash == k->hash && other->len == k->len &&
            memcmp(s->key_bytes + other->offset, s->key_bytes + k->offset, k->len) == 0) {
            char path[256];

            return fail(s, s->bounds->code, true, start,
                        "%s has the key %s twice: keep one (JSON readers disagree on which "
                        "one counts)",
                        s->what, value_path(s, path, sizeof(path)));
        }
    }
    skip_space(s);
    if (s->pos >= s->len || s->text[s->pos] != ':')
        return SYNTAX(s, "%s is not valid JSON: expected ':' after a key, found %s", s->what,
                      found(s, q, sizeof(q)));
    s->pos++;
    return 0;
}

static bool is_digit(const scanner *s, size_t pos)
{
    return pos < s->len && s->text[pos] >= '0' && s->text[pos] <= '9';
}

/* NaN, Infinity, -Infinity: json-c takes them, JSON has no such numbers. */
static int not_a_number(scanner *s)
{
    const char *word = looking_at(s, "NaN")         ? "NaN"
                       : looking_at(s, "-Infinity") ? "-Infinity"
                                                    : "Infinity";

    return fail(s, HV_E_PARSE, true, s->pos,
                "%s is not valid JSON: %s is not a number JSON allows (it has no NaN or "
                "infinities): write a finite number",
                s->what, word);
}

static int scan_number(scanner *s)
{
    size_t p = s->pos;

    if (s->text[p] == '-')
        p++;
    if (!is_digit(s, p)) {
        if (looking_at(s, "-Infinity"))
            return not_a_number(s);
        return SYNTAX(s, "%s is not valid JSON: '-' must be followed by a digit", s->what);
    }
    if (s->text[p] == '0' && is_digit(s, p + 1)) {
        s->pos = p;
        return SYNTAX(s, "%s is not valid JSON: a number must not start with 0 (write 8, not 08)",
                      s->what);
    }
    while (is_digit(s, p))
        p++;
    if (p < s->len && s->text[p] == '.') {
        if (!is_digit(s, ++p)) {
            s->pos = p;
            return SYNTAX(s, "%s is not valid JSON: a digit must follow the decimal point",
                          s->what);
        }
        while (is_digit(s, p))
            p++;
    }
    if (p < s->len && (s->text[p] == 'e' || s->text[p] == 'E')) {
        p++;
        if (p < s->len && (s->text[p] == '+' || s->text[p] == '-'))
            p++;
        if (!is_digit(s, p)) {
            s->pos = p;
            return SYNTAX(s, "%s is not valid JSON: an exponent needs digits (1e3, 2.5E-2)",
                          s->what);
        }
        while (is_digit(s, p))
            p++;
    }
    s->pos = p;
    return 0;
}

enum next { VALUE, KEY, AFTER_VALUE, DONE };

/* The value at pos (space skipped): a scalar whole, or a container opened. */
static int scan_value(scanner *s, enum next *next)
{
    static const char *const words[] = {"true", "false", "null"};
    char q[32];
    int rc;

    if (s->pos >= s->len)
        return SYNTAX(s, "%s is not valid JSON: it ends where a value should be", s->what);
    if (++s->values > s->bounds->max_values)
        return too_many_values(s);
    *next = AFTER_VALUE;
    switch (s->text[s->pos]) {
    case '{':
        if ((rc = push(s, true)) < 0)
            return rc;
        skip_space(s);
        if (s->pos < s->len && s->text[s->pos] == '}')
            pop(s);
        else
            *next = KEY;
        return 0;
    case '[':
        if ((rc = push(s, false)) < 0)
            return rc;
        skip_space(s);
        if (s->pos < s->len && s->text[s->pos] == ']') {
            pop(s);
            return 0;
        }
        *next = VALUE;
        return next_element(s);
    case '"':
        return scan_string(s, false);
    default:
        break;
    }
    if (s->text[s->pos] == '-' || is_digit(s, s->pos))
        return scan_number(s);
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (looking_at(s, words[i])) {
            s->pos += strlen(words[i]);
            return 0;
        }
    }
    if (looking_at(s, "NaN") || looking_at(s, "Infinity"))
        return not_a_number(s);
    return SYNTAX(s,
                  "%s is not valid JSON: found %s where a value should be (an object, array, "
                  "string, number, true, false or null; strings need double quotes)",
                  s->what, found(s, q, sizeof(q)));
}

/* After a value: ',' and the next member or element, or the container's end. */
static int scan_after_value(scanner *s, enum next *next)
{
    const struct frame *f;
    char q[32];

    skip_space(s);
    if (s->depth == 0) {
        if (s->pos < s->len)
            return SYNTAX(s, "%s is not valid JSON: found %s after the end of the document",
                          s->what, found(s, q, sizeof(q)));
        *next = DONE;
        return 0;
    }
    f = &s->stack[s->depth - 1];
    if (s->pos < s->len && s->text[s->pos] == ',') {
        s->pos++;
        skip_space(s);
        if (f->object) {
            *next = KEY;
            return 0;
        }
        *next = VALUE;
        return next_element(s);
    }
    if (s->pos < s->len && s->text[s->pos] == (f->object ? '}' : ']')) {
        pop(s);
        *next = AFTER_VALUE;
        return 0;
    }
    if (s->pos >= s->len)
        return SYNTAX(s, "%s is not valid JSON: it ends inside %s (a '%c' is missing)", s->what,
                      f->object ? "an object" : "an array", f->object ? '}' : ']');
    return SYNTAX(s, "%s is not valid JSON: expected ',' or '%c' after %s, found %s", s->what,
                  f->object ? '}' : ']', f->object ? "a member" : "an element",
                  found(s, q, sizeof(q)));
}

static int scan_document(scanner *s)
{
    const char *nul = memchr(s->text, '\0', s->len);
    enum next next = VALUE;
    int rc = 0;

    if (s->len > s->bounds->max_bytes)
        return hv_error_set(s->bounds->code, NULL,
                            "%s is %zu bytes long, more than any valid one needs: at most %zu "
                            "bytes (is this the right file?)",
                            s->what, s->len, s->bounds->max_bytes);
    if (nul) {
        s->pos = (size_t)(nul - s->text);
        return SYNTAX(s,
                      "%s has a NUL byte at byte offset %zu: JSON text has none (is this a binary "
                      "or UTF-16 file?)",
                      s->what, s->pos);
    }
    if (looking_at(s, "\xef\xbb\xbf"))
        return SYNTAX(s,
                      "%s starts with a byte order mark: JSON text must not; save it as UTF-8 "
                      "without one",
                      s->what);
    skip_space(s);
    if (s->pos >= s->len)
        return SYNTAX(s, "%s is empty: it must be a JSON document", s->what);
    while (rc == 0 && next != DONE) {
        switch (next) {
        case VALUE:
            rc = scan_value(s, &next);
            break;
        case KEY:
            if ((rc = scan_key(s)) == 0) {
                skip_space(s);
                next = VALUE;
            }
            break;
        case AFTER_VALUE:
            rc = scan_after_value(s, &next);
            break;
        case DONE:
            break;
        }
    }
    return rc;
}

int hv_json_scan(const char *text, size_t len, const char *what, const hv_json_bounds *bounds)
{
    scanner s = {
        .text = text,
        .len = len,
        .what = what ? what : "the input",
        .bounds = bounds ? bounds : &default_bounds,
    };
    int rc = scan_document(&s);

    free(s.keys);
    free(s.key_bytes);
    return rc;
}
