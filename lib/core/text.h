/*
 * core/text.h - text that came from outside the library (internal): strict
 * UTF-8 decoding, and quoting such text in messages so that what a user
 * wrote can be shown without its bytes acting on the terminal that shows it
 * (control characters, escape sequences, bytes that are not UTF-8,
 * bidirectional overrides) and without a huge input making a huge message;
 * making such text valid UTF-8 to keep it as data (JSON holds nothing
 * else), and printable to show it. Nothing here depends on the rest of the
 * library: the command-line tool compiles this file in.
 */
#ifndef HV_CORE_TEXT_H
#define HV_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decode one UTF-8 character from the `len` (> 0) bytes at `s`: its length
 * in bytes (1..4) with the code point in *cp, or 0 when the bytes there are
 * not UTF-8 (a stray or missing continuation byte, an overlong form, a
 * UTF-16 surrogate, a code point above U+10FFFF).
 */
size_t hv_utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * Whether showing code point `cp` changes how a terminal shows the text
 * around it: C0 and C1 control characters, DEL, and the invisible
 * formatting characters (bidirectional embeddings, overrides and isolates,
 * zero-width characters, line and paragraph separators, the BOM).
 */
bool hv_text_is_control(uint32_t cp);

/*
 * The offset of the first byte of `len` bytes at `text` that is not part
 * of a printable UTF-8 character (see hv_text_is_control), or `len` when
 * every character is printable UTF-8.
 */
size_t hv_text_unprintable_at(const char *text, size_t len);

/* A buffer size that holds a quoted text of about 64 characters. */
#define HV_QUOTE_SIZE 80

/*
 * `len` bytes of `text` as something safe to put between quotes in a
 * message, into `buf` (of `size` > 4 bytes), which it returns: printable
 * UTF-8 as it is, a backslash as "\\", \n \r \t as such, other control and
 * formatting characters as \u00XX / \uXXXX, bytes that are not UTF-8 as
 * \xNN. What does not fit ends in "...", never in half a character or
 * half an escape.
 */
const char *hv_quote_n(char *buf, size_t size, const char *text, size_t len);

/* hv_quote_n() of a NUL-terminated string; NULL is quoted as "(null)". */
const char *hv_quote(char *buf, size_t size, const char *text);

/* hv_quote_n() of all of `text` (never cut) in a new string; NULL when memory runs out. */
char *hv_quote_dup(const char *text);

/*
 * What people are shown of `text`, in a new string (NULL when memory runs
 * out): the text as it is when every character is printable UTF-8, else all
 * of it as hv_quote_dup() escapes it. Its result is printable, so it is kept
 * as it is when it goes through here again.
 */
char *hv_text_printable_dup(const char *text);

/* Whether the `len` bytes at `text` are UTF-8 (control characters included). */
bool hv_utf8_valid(const char *text, size_t len);

/*
 * `len` bytes of `text` as valid UTF-8 into `buf` (of `size` > 0 bytes),
 * which it returns: each byte that is not part of a UTF-8 character becomes
 * U+FFFD, the replacement character; everything else, control characters
 * included, stays. What does not fit is cut at a character boundary.
 */
char *hv_utf8_repair_n(char *buf, size_t size, const char *text, size_t len);

/* hv_utf8_repair_n() of all of `text` (never cut) in a new string; NULL when memory runs out. */
char *hv_utf8_repair_dup(const char *text);

/*
 * `len`, less the bytes at the end of `text` that start a UTF-8 character
 * without finishing it: where to end a text that was cut at a byte count.
 */
size_t hv_utf8_trim_partial(const char *text, size_t len);

/**
 * `pattern` with every "{index}" replaced by `index` in decimal, into
 * out[size]; false when it does not fit.
 */
bool hv_text_expand_index(const char *pattern, uint64_t index, char *out, size_t size);

#endif
