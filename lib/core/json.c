/*
 * core/json.c - json-c helpers: builders, typed getters, serialization and
 * parsing with useful errors.
 */
#include "core/json.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <hpcvirt/common.h>

int hv_json_add(json_object *obj, const char *key, json_object *value)
{
    if (!value)
        return HV_E_NOMEM;
    if (json_object_object_add(obj, key, value) < 0) {
        json_object_put(value);
        return HV_E_NOMEM;
    }
    return 0;
}

int hv_json_add_string(json_object *obj, const char *key, const char *value)
{
    return hv_json_add(obj, key, json_object_new_string(value ? value : ""));
}

int hv_json_add_int(json_object *obj, const char *key, int64_t value)
{
    return hv_json_add(obj, key, json_object_new_int64(value));
}

int hv_json_add_u64(json_object *obj, const char *key, uint64_t value)
{
    return hv_json_add(obj, key, json_object_new_uint64(value));
}

int hv_json_add_bool(json_object *obj, const char *key, bool value)
{
    return hv_json_add(obj, key, json_object_new_boolean(value));
}

int hv_json_array_add_int(json_object *array, int64_t value)
{
    json_object *v = json_object_new_int64(value);

    if (!v || json_object_array_add(array, v) < 0) {
        json_object_put(v);
        return HV_E_NOMEM;
    }
    return 0;
}

json_object *hv_json_get(json_object *obj, const char *key, json_type type)
{
    json_object *v;

    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
        return NULL;
    return v;
}

const char *hv_json_get_string(json_object *obj, const char *key)
{
    json_object *v = hv_json_get(obj, key, json_type_string);

    return v ? json_object_get_string(v) : NULL;
}

bool hv_json_get_i64(json_object *obj, const char *key, int64_t *out)
{
    json_object *v = hv_json_get(obj, key, json_type_int);

    if (!v)
        return false;
    errno = 0;
    *out = json_object_get_int64(v);
    /* json-c stores values above INT64_MAX as uint64: reject them here. */
    if (*out == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        return false;
    return true;
}

bool hv_json_get_u64(json_object *obj, const char *key, uint64_t *out)
{
    json_object *v = hv_json_get(obj, key, json_type_int);

    if (!v)
        return false;
    if (json_object_get_int64(v) < 0)
        return false;
    *out = json_object_get_uint64(v);
    return true;
}

bool hv_json_get_bool(json_object *obj, const char *key, bool *out)
{
    json_object *v = hv_json_get(obj, key, json_type_boolean);

    if (!v)
        return false;
    *out = json_object_get_boolean(v);
    return true;
}

const char *hv_json_path_key(char *buf, size_t size, const char *path, const char *key)
{
    snprintf(buf, size, "%s%s%s", path ? path : "", path && *path ? "." : "", key);
    return buf;
}

const char *hv_json_path_index(char *buf, size_t size, const char *path, size_t index)
{
    snprintf(buf, size, "%s[%zu]", path ? path : "", index);
    return buf;
}

static const char *json_type_word(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        /* 1e400: json-c makes an infinity of it */
        return isfinite(json_object_get_double(v)) ? "a fractional number"
                                                   : "a number out of range";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "something else";
}

/* Find obj.key; 1 when missing and optional, error when missing and required. */
static int lookup(json_object *obj, const char *key, const char *path, bool required, int code,
                  json_object **v)
{
    char where[256];

    if (!obj || !json_object_is_type(obj, json_type_object))
        return hv_error_set(code, path, "%s must be an object",
                            path && *path ? path : "the document");
    if (!json_object_object_get_ex(obj, key, v)) {
        if (!required)
            return 1;
        hv_json_path_key(where, sizeof(where), path, key);
        return hv_error_set(code, where, "%s is required", where);
    }
    return 0;
}

static int wrong_type(json_object *v, const char *path, const char *key, int code,
                      const char *expected)
{
    char where[256];

    hv_json_path_key(where, sizeof(where), path, key);
    return hv_error_set(code, where, "%s must be %s, not %s", where, expected, json_type_word(v));
}

int hv_json_read_u64(json_object *obj, const char *key, const char *path, bool required, int code,
                     uint64_t max, uint64_t *out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);
    char where[256];
    uint64_t value;

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_int))
        return wrong_type(v, path, key, code, "a non-negative integer");
    hv_json_path_key(where, sizeof(where), path, key);
    if (json_object_get_int64(v) < 0)
        return hv_error_set(code, where, "%s must not be negative (got %lld)", where,
                            (long long)json_object_get_int64(v));
    /* json-c clamps integers beyond 64 bits to UINT64_MAX: treat that value as overflow. */
    value = json_object_get_uint64(v);
    if (value == UINT64_MAX)
        return hv_error_set(code, where, "%s does not fit 64 bits (at most %llu)", where,
                            (unsigned long long)max);
    if (value > max)
        return hv_error_set(code, where, "%s is too large: %llu (at most %llu)", where,
                            (unsigned long long)value, (unsigned long long)max);
    *out = value;
    return 0;
}

int hv_json_read_i64(json_object *obj, const char *key, const char *path, bool required, int code,
                     int64_t min, int64_t max, int64_t *out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);
    char where[256];
    int64_t value;

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_int))
        return wrong_type(v, path, key, code, "an integer");
    hv_json_path_key(where, sizeof(where), path, key);
    errno = 0;
    value = json_object_get_int64(v);
    if (errno == ERANGE || value < min || value > max ||
        (value == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX))
        return hv_error_set(code, where, "%s must be between %lld and %lld", where, (long long)min,
                            (long long)max);
    *out = value;
    return 0;
}

int hv_json_read_int(json_object *obj, const char *key, const char *path, bool required, int code,
                     int min, int max, int *out)
{
    int64_t v;
    int rc = hv_json_read_i64(obj, key, path, required, code, min, max, &v);

    if (rc == 0)
        *out = (int)v;
    return rc;
}

int hv_json_read_string(json_object *obj, const char *key, const char *path, bool required,
                        int code, const char **out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_string))
        return wrong_type(v, path, key, code, "a string");
    *out = json_object_get_string(v);
    if (strlen(*out) != (size_t)json_object_get_string_len(v)) {
        char where[256];

        hv_json_path_key(where, sizeof(where), path, key);
        return hv_error_set(code, where,
                            "%s contains a NUL character (\\u0000), which would cut it short: "
                            "remove it",
                            where);
    }
    return 0;
}

int hv_json_read_bool(json_object *obj, const char *key, const char *path, bool required, int code,
                      bool *out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_boolean))
        return wrong_type(v, path, key, code, "true or false");
    *out = json_object_get_boolean(v);
    return 0;
}

int hv_json_read_array(json_object *obj, const char *key, const char *path, bool required, int code,
                       json_object **out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_array))
        return wrong_type(v, path, key, code, "an array");
    *out = v;
    return 0;
}

int hv_json_read_object(json_object *obj, const char *key, const char *path, bool required,
                        int code, json_object **out)
{
    json_object *v;
    int rc = lookup(obj, key, path, required, code, &v);

    if (rc)
        return rc;
    if (!json_object_is_type(v, json_type_object))
        return wrong_type(v, path, key, code, "an object");
    *out = v;
    return 0;
}

int hv_json_serialize(json_object *obj, unsigned int flags, char **out)
{
    int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
    const char *text;

    if (flags & HV_JSON_PRETTY)
        jflags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
    else
        jflags |= JSON_C_TO_STRING_PLAIN;
    text = json_object_to_json_string_ext(obj, jflags);
    if (!text)
        return hv_error_nomem();
    *out = hv_strdup(text);
    return *out ? 0 : HV_E_NOMEM;
}

int hv_json_emit(json_object *root, unsigned int flags, char **out)
{
    int rc;

    *out = NULL;
    if (!root)
        return hv_error_nomem();
    rc = hv_json_serialize(root, flags, out);
    json_object_put(root);
    return rc;
}

int hv_json_parse_bounded(const char *text, size_t len, const char *what,
                          const hv_json_bounds *bounds, json_object **out)
{
    json_tokener *tok;
    json_object *obj;
    enum json_tokener_error jerr;
    int rc;

    *out = NULL;
    what = what ? what : "the input";
    if ((rc = hv_json_scan(text, len, what, bounds)) < 0)
        return rc;
    if (len > INT_MAX)
        return hv_error_set(HV_E_PARSE, NULL, "%s is too large for the JSON parser (%zu bytes)",
                            what, len);
    /* The scan bounded the nesting already: json-c must not refuse first. */
    tok = json_tokener_new_ex(HV_JSON_SCAN_MAX_DEPTH + 1);
    if (!tok)
        return hv_error_nomem();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        /* a number or a word at the very end: a NUL tells json-c the text ended */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    } else if (jerr == json_tokener_success) {
        size_t used = json_tokener_get_parse_end(tok);

        while (used < len && strchr(" \t\r\n", text[used]))
            used++;
        if (used < len)
            jerr = json_tokener_error_parse_unexpected;
    }
    json_tokener_free(tok);
    if (jerr != json_tokener_success) {
        /* Only text the scan let through and json-c refuses gets here. */
        json_object_put(obj);
        return hv_error_set(HV_E_PARSE, NULL, "%s is not valid JSON: %s", what,
                            json_tokener_error_desc(jerr));
    }
    *out = obj;
    return 0;
}

int hv_json_parse(const char *text, const char *what, json_object **out)
{
    return hv_json_parse_bounded(text, strlen(text), what, NULL, out);
}
