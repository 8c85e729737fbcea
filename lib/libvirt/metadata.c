/*
 * libvirt/metadata.c - the element hpcvirt keeps in each domain's
 * <metadata> (docs/backends.md, "Domain metadata"): written by
 * domain-xml.c, read back by driver.c for handles found by name.
 *
 * Version 2 keeps what a later lookup needs, not the plan: the plan's JSON
 * (5 KB for the 8-GPU example, more with many vCPUs or devices) pushed the
 * domain XML of large VMs past what libvirt's test driver restores from a
 * save image (8 KiB). The spec is kept without the members that equal a
 * new spec's (hv_vm_spec_from_json() fills them in again); the digest
 * names the plan exactly, for whoever plans the spec again.
 */
#include "libvirt/metadata.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/json-scan.h"
#include "plan/plan.h"
#include "plan/spec.h"

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------------ */

/* Spec members kept even at their defaults: the required ones, and the name. */
static bool always_kept(const char *key)
{
    return strcmp(key, "name") == 0 || strcmp(key, "vcpus") == 0 || strcmp(key, "memory") == 0;
}

/* The spec's canonical JSON less the members that equal a new spec's. */
static json_object *sparse_spec(const hv_vm_spec *spec)
{
    json_object *full = hv_vm_spec_to_json_object(spec), *defaults = NULL;
    struct json_object_iterator it, end;
    hv_vm_spec *blank = NULL;

    if (full && hv_vm_spec_new(&blank) == 0)
        defaults = hv_vm_spec_to_json_object(blank);
    hv_vm_spec_free(blank);
    if (!defaults) {
        json_object_put(full);
        return NULL;
    }
    /* walking `defaults` while deleting from `full` */
    it = json_object_iter_begin(defaults);
    end = json_object_iter_end(defaults);
    for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
        const char *key = json_object_iter_peek_name(&it);
        json_object *mine;

        if (!always_kept(key) && json_object_object_get_ex(full, key, &mine) &&
            json_object_equal(mine, json_object_iter_peek_value(&it)))
            json_object_object_del(full, key);
    }
    json_object_put(defaults);
    return full;
}

/* "sha256:" and the hex SHA-256 of the plan's compact JSON (free() it). */
static char *plan_digest(const hv_plan *plan)
{
    GChecksum *sha;
    char *json = NULL, *digest;

    if (hv_plan_to_json(plan, HV_JSON_COMPACT, &json) < 0)
        return NULL;
    sha = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sha, (const guchar *)json, strlen(json));
    digest = hv_asprintf("sha256:%s", g_checksum_get_string(sha));
    g_checksum_free(sha);
    hv_free(json);
    return digest;
}

/* {"live": bool, "reasons": [the first reason]} */
static json_object *migration_verdict(const hv_plan *plan)
{
    json_object *verdict = json_object_new_object(), *reasons = json_object_new_array();
    const char *first =
        hv_plan_migration_reason_count(plan) ? hv_plan_migration_reason_at(plan, 0) : NULL;
    int rc = 0;

    if (!verdict || !reasons) {
        json_object_put(verdict);
        json_object_put(reasons);
        return NULL;
    }
    if (first) {
        json_object *text = json_object_new_string(first);

        if (!text || json_object_array_add(reasons, text) < 0) {
            json_object_put(text);
            rc = -1;
        }
    }
    rc |= hv_json_add_bool(verdict, "live", hv_plan_live_migratable(plan));
    rc |= hv_json_add(verdict, "reasons", reasons);
    if (rc) {
        json_object_put(verdict);
        return NULL;
    }
    return verdict;
}

char *hv_libvirt_metadata_text(const hv_plan *plan)
{
    json_object *root = json_object_new_object();
    char *digest = plan_digest(plan), *text = NULL;
    int rc = root && digest ? 0 : -1;

    if (rc == 0) {
        rc |= hv_json_add_string(root, "profile", hv_plan_profile(plan));
        rc |= hv_json_add_string(root, "digest", digest);
        rc |= hv_json_add(root, "migration", migration_verdict(plan));
        rc |= hv_json_add(root, "spec", sparse_spec(plan->spec));
    }
    free(digest);
    if (rc) {
        json_object_put(root);
        root = NULL;
    }
    return hv_json_emit(root, HV_JSON_COMPACT, &text) < 0 ? NULL : text;
}

/* ---- reading ------------------------------------------------------------------ */

/* A version 1 element holds a whole plan; hpcvirt's plans stay well inside these. */
static const hv_json_bounds metadata_bounds = {
    .code = HV_E_PARSE,
    .max_bytes = HV_LIBVIRT_METADATA_MAX_BYTES,
    .max_depth = 16,
    .max_values = (size_t)1 << 17,
    .max_containers = (size_t)1 << 14,
    .max_members = 64,
    .arrays = NULL,
};

/* The element's version attribute: 1 where there is none, 0 where it is not a number. */
static unsigned int element_version(xmlNodePtr element)
{
    xmlChar *text = xmlGetNoNsProp(element, BAD_CAST "version");
    unsigned long version = 1;
    char *end = NULL;

    if (text) {
        version = strtoul((const char *)text, &end, 10);
        if (text[0] < '1' || text[0] > '9' || *end || version > 1000000)
            version = 0;
    }
    xmlFree(text);
    return (unsigned int)version;
}

/* The element's text, where it has nothing but text (no markup, no entity references). */
static xmlChar *element_text(xmlNodePtr element)
{
    for (xmlNodePtr n = element->children; n; n = n->next)
        if (n->type != XML_TEXT_NODE && n->type != XML_CDATA_SECTION_NODE)
            return NULL;
    return xmlNodeGetContent(element);
}

/* Copy `text` into `out` (HV_LIBVIRT_REASON_MAX bytes), cut at a character boundary. */
static void copy_reason(char *out, const char *text)
{
    size_t len = strlen(text);

    if (len >= HV_LIBVIRT_REASON_MAX) {
        len = HV_LIBVIRT_REASON_MAX - 1;
        while (len && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(out, text, len);
    out[len] = '\0';
}

/* The verdict in the element's JSON text: {"migration": {"live": bool, "reasons": [...]}}. */
static void read_verdict(const xmlChar *text, hv_libvirt_verdict *out)
{
    json_object *root = NULL, *migration, *reasons, *first;
    bool live;

    if (hv_json_parse_bounded((const char *)text, strlen((const char *)text),
                              "the hpcvirt element in the domain metadata", &metadata_bounds,
                              &root) < 0)
        return;
    migration = hv_json_get(root, "migration", json_type_object);
    if (migration && hv_json_get_bool(migration, "live", &live)) {
        out->found = true;
        out->live = live;
        reasons = hv_json_get(migration, "reasons", json_type_array);
        first = reasons && json_object_array_length(reasons) ? json_object_array_get_idx(reasons, 0)
                                                             : NULL;
        if (first && json_object_is_type(first, json_type_string))
            copy_reason(out->reason, json_object_get_string(first));
    }
    json_object_put(root);
}

void hv_libvirt_metadata_verdict(const char *element, hv_libvirt_verdict *out)
{
    size_t len = element ? strnlen(element, HV_LIBVIRT_METADATA_MAX_BYTES + 1) : 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    xmlChar *text = NULL;

    memset(out, 0, sizeof(*out));
    out->live = true;
    if (len == 0 || len > HV_LIBVIRT_METADATA_MAX_BYTES)
        return;
    doc = xmlReadMemory(element, (int)len, "metadata.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    root = doc && !doc->intSubset && !doc->extSubset ? xmlDocGetRootElement(doc) : NULL;
    /* libvirt finds the element by namespace and returns it without one */
    if (root && (!root->ns || xmlStrcmp(root->ns->href, BAD_CAST HV_LIBVIRT_PLAN_NS) == 0) &&
        xmlStrcmp(root->name, BAD_CAST "plan") == 0 && (out->version = element_version(root)) &&
        (text = element_text(root)))
        read_verdict(text, out);
    if (!out->found) {
        out->live = true;
        out->reason[0] = '\0';
    }
    xmlFree(text);
    xmlFreeDoc(doc);
}
