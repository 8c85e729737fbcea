/*
 * core/json.h - small helpers over json-c (internal): building objects with
 * one error check at the end, typed lookups, serialization to caller-owned
 * strings. json-c keeps insertion order, so output is deterministic.
 */
#ifndef HV_CORE_JSON_H
#define HV_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json.h>

#include "core/json-scan.h"

/* Each returns 0, or a negative value when memory ran out (combine with |=). */
int hv_json_add(json_object *obj, const char *key, json_object *value); /* takes value */
int hv_json_add_string(json_object *obj, const char *key, const char *value);
int hv_json_add_int(json_object *obj, const char *key, int64_t value);
int hv_json_add_u64(json_object *obj, const char *key, uint64_t value);
int hv_json_add_bool(json_object *obj, const char *key, bool value);
int hv_json_array_add_int(json_object *array, int64_t value);

/* Lookups: NULL / false when the key is missing or has another type. */
const char *hv_json_get_string(json_object *obj, const char *key);
json_object *hv_json_get(json_object *obj, const char *key, json_type type);
bool hv_json_get_i64(json_object *obj, const char *key, int64_t *out);
bool hv_json_get_u64(json_object *obj, const char *key, uint64_t *out);
bool hv_json_get_bool(json_object *obj, const char *key, bool *out);

/*
 * Typed reads with error paths: `path` is the JSON path of `obj` ("" for the
 * document root) and errors name "path.key". Missing keys are an error when
 * `required`, else leave *out untouched and return 1. Wrong types and
 * out-of-range values give `code` (HV_E_PARSE for documents the library
 * wrote, HV_E_SPEC for user specs), and so does a string with a NUL
 * character (json-c keeps them; C strings would be cut there). 0 on success.
 */
int hv_json_read_u64(json_object *obj, const char *key, const char *path, bool required, int code,
                     uint64_t max, uint64_t *out);
int hv_json_read_i64(json_object *obj, const char *key, const char *path, bool required, int code,
                     int64_t min, int64_t max, int64_t *out);
int hv_json_read_int(json_object *obj, const char *key, const char *path, bool required, int code,
                     int min, int max, int *out);
int hv_json_read_string(json_object *obj, const char *key, const char *path, bool required,
                        int code, const char **out);
int hv_json_read_bool(json_object *obj, const char *key, const char *path, bool required, int code,
                      bool *out);
/* An array member: *out is the array (borrowed). */
int hv_json_read_array(json_object *obj, const char *key, const char *path, bool required, int code,
                       json_object **out);
int hv_json_read_object(json_object *obj, const char *key, const char *path, bool required,
                        int code, json_object **out);

/* "path.key" or "key" when path is "", into buf. */
const char *hv_json_path_key(char *buf, size_t size, const char *path, const char *key);
/* "path[index]" into buf. */
const char *hv_json_path_index(char *buf, size_t size, const char *path, size_t index);

/* Serialize `obj` (HV_JSON_* flags) into a malloc'ed string; 0 or HV_E_NOMEM. */
int hv_json_serialize(json_object *obj, unsigned int flags, char **out);

/*
 * Serialize a freshly built document and release it: the tail of every
 * *_to_json(). NULL `root` means building it ran out of memory.
 */
int hv_json_emit(json_object *root, unsigned int flags, char **out);

/*
 * Parse `len` bytes of text into an object, after hv_json_scan() checked
 * them against `bounds` (NULL: the defaults): text that is not strict JSON,
 * has a NUL byte, \u0000 or a key twice, or passes a bound is refused
 * before json-c builds anything. `what` names the document in messages
 * ("the VM spec"). 0, or the scan's error (HV_E_PARSE, or bounds->code).
 */
int hv_json_parse_bounded(const char *text, size_t len, const char *what,
                          const hv_json_bounds *bounds, json_object **out);

/* hv_json_parse_bounded() of a NUL-terminated text with the default bounds. */
int hv_json_parse(const char *text, const char *what, json_object **out);

#endif
