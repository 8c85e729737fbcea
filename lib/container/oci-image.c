/*
 * container/oci-image.c - reading one image of an OCI image layout: the
 * oci-layout file, index.json and the entry a tag names, nested image
 * indexes down to the manifest for linux/<arch>, the manifest's config and
 * layers, and the config's process fields (see oci-image.h).
 */
#include "container/oci-image.h"
#include "container/oci-blob.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/json.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEDIA_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define MEDIA_DOCKER_LIST   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_IMAGE  "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

/* Image indexes inside image indexes, at most. */
#define MAX_INDEX_NESTING 4

/* The most entries an image index lists (a layout's index.json holds every tag). */
#define MAX_INDEX_ENTRIES 4096

/* The oci-layout file: {"imageLayoutVersion": "1.0.0"} and little else. */
#define MAX_OCI_LAYOUT_BYTES 4096

/* The layer media types read, and how their archives are compressed. */
static const struct {
    const char *media_type;
    hv_oci_compression compression;
} layer_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", HV_OCI_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", HV_OCI_TAR_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", HV_OCI_TAR_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", HV_OCI_TAR},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", HV_OCI_TAR_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", HV_OCI_TAR_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", HV_OCI_TAR},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", HV_OCI_TAR_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", HV_OCI_TAR_GZIP},
};

/* What a descriptor describes, from its media type. */
typedef enum document_kind {
    KIND_OTHER,
    KIND_INDEX,
    KIND_MANIFEST,
    KIND_CONFIG,
} document_kind;

/* The document media types read. */
static const struct {
    const char *media_type;
    document_kind kind;
} document_types[] = {
    {MEDIA_OCI_INDEX, KIND_INDEX},       {MEDIA_DOCKER_LIST, KIND_INDEX},
    {MEDIA_OCI_MANIFEST, KIND_MANIFEST}, {MEDIA_DOCKER_IMAGE, KIND_MANIFEST},
    {MEDIA_OCI_CONFIG, KIND_CONFIG},     {MEDIA_DOCKER_CONFIG, KIND_CONFIG},
};

struct hv_oci_image {
    int layout_fd;
    char digest[HV_OCI_DIGEST_SIZE];
    char *architecture;
    char **entrypoint, **cmd, **env;
    char *working_dir, *user;
    size_t layer_count;
    hv_oci_layer layers[HV_OCI_MAX_LAYERS];
};

/*
 * A descriptor in a document. Its media type is one of document_types
 * (NULL and KIND_OTHER for another), quoted in media_type_shown; the
 * strings of the annotation and the platform are the document's (valid
 * while it is).
 */
typedef struct descriptor {
    document_kind kind;
    const char *media_type;
    char media_type_shown[HV_QUOTE_SIZE];
    char digest[HV_OCI_DIGEST_SIZE];
    uint64_t size_bytes;
    const char *ref_name;  /* the tag annotation, or NULL */
    const char *os, *arch; /* the platform, or NULL */
    const char *variant;   /* the platform's variant, or NULL */
} descriptor;

/* A JSON document of the layout: its name in messages and its root object. */
typedef struct document {
    char name[HV_OCI_BLOB_PATH_SIZE]; /* "index.json", "blobs/sha256/<hex>" */
    const char *role;                 /* "index.json", "the manifest" */
    json_object *root;
} document;

/* The error just set, again with "<file>: " before its message. */
static int in_file(int rc, const document *doc)
{
    const hv_error *last = hv_error_last();

    if (rc >= 0)
        return rc;
    return hv_error_set(rc, hv_error_path(last), "%s: %s", doc->name, hv_error_message(last));
}

/*
 * Parse `len` bytes of `text` as the document `doc` (name and role set),
 * bounded as layout documents are, with the array bounds `arrays`.
 */
static int parse_document(const char *text, size_t len, const hv_json_array_limit *arrays,
                          document *doc)
{
    const hv_json_bounds bounds = {
        .code = HV_E_IMAGE,
        .max_bytes = HV_OCI_MAX_DOCUMENT_BYTES,
        .max_depth = 32,
        .max_values = (size_t)1 << 20,
        .max_containers = (size_t)1 << 16,
        .max_members = 1024,
        .arrays = arrays,
    };
    int rc = hv_json_parse_bounded(text, len, doc->name, &bounds, &doc->root);

    /*
     * Text that is not JSON is an image that is malformed, as one past the
     * bounds is; every message names the document.
     */
    if (rc == HV_E_PARSE || rc == HV_E_IMAGE) {
        const char *message = hv_error_message(hv_error_last());

        if (strncmp(message, doc->name, strlen(doc->name)) == 0)
            return hv_error_set(HV_E_IMAGE, hv_error_path(hv_error_last()), "%s", message);
        return hv_error_set(HV_E_IMAGE, hv_error_path(hv_error_last()), "%s: %s", doc->name,
                            message);
    }
    if (rc < 0)
        return rc;
    if (!json_object_is_type(doc->root, json_type_object))
        return hv_error_set(HV_E_IMAGE, doc->name, "%s is not a JSON object: %s is malformed",
                            doc->name, doc->role);
    return 0;
}

/*
 * Load and parse the blob `d` describes as `doc`, in the role `role` ("the
 * manifest"), as `referrer` ("index.json") refers to it.
 */
static int load_blob_document(int layout_fd, const descriptor *d, const char *referrer,
                              const char *role, const hv_json_array_limit *arrays, document *doc)
{
    char *text;
    int rc;

    hv_format(doc->name, sizeof(doc->name), "blobs/sha256/%s", d->digest + 7);
    doc->role = role;
    rc = hv_oci_blob_load(layout_fd, d->digest, d->size_bytes, HV_OCI_MAX_DOCUMENT_BYTES, referrer,
                          &text);
    if (rc < 0)
        return rc;
    rc = parse_document(text, (size_t)d->size_bytes, arrays, doc);
    free(text);
    return rc;
}

/* schemaVersion must be 2, and mediaType, when the document has one, `expected`. */
static int check_header(const document *doc, const char *expected)
{
    const char *media_type = NULL;
    char quoted[HV_QUOTE_SIZE];
    int version = 0;
    int rc = hv_json_read_int(doc->root, "schemaVersion", "", true, HV_E_IMAGE, 0, 1000, &version);

    if (rc < 0)
        return in_file(rc, doc);
    if (version != 2)
        return hv_error_set(HV_E_IMAGE, "schemaVersion",
                            "%s: schemaVersion is %d: only version 2 documents are read (copy "
                            "the image with skopeo or umoci, which write them)",
                            doc->name, version);
    rc = hv_json_read_string(doc->root, "mediaType", "", false, HV_E_IMAGE, &media_type);
    if (rc < 0)
        return in_file(rc, doc);
    if (media_type && strcmp(media_type, expected) != 0)
        return hv_error_set(HV_E_IMAGE, "mediaType",
                            "%s: mediaType is '%s', but %s must be %s: the image is malformed",
                            doc->name, hv_quote(quoted, sizeof(quoted), media_type), doc->role,
                            expected);
    return 0;
}

/* The kind and static media type of a document media type. */
static void classify(const char *media_type, descriptor *d)
{
    for (size_t i = 0; i < sizeof(document_types) / sizeof(document_types[0]); i++) {
        if (!strcmp(media_type, document_types[i].media_type)) {
            d->kind = document_types[i].kind;
            d->media_type = document_types[i].media_type;
        }
    }
}

/* An optional read's result: 1 (the member is missing) is success too. */
static int optional(int rc)
{
    return rc == 1 ? 0 : rc;
}

/* Read the descriptor at `path` ("manifests[2]") of `doc` into *d. */
static int read_descriptor(const document *doc, json_object *obj, const char *path, descriptor *d)
{
    json_object *platform = NULL, *annotations = NULL;
    const char *digest, *media_type;
    char where[256];
    int rc;

    memset(d, 0, sizeof(*d));
    rc = hv_json_read_string(obj, "mediaType", path, true, HV_E_IMAGE, &media_type);
    if (rc == 0)
        rc = hv_json_read_string(obj, "digest", path, true, HV_E_IMAGE, &digest);
    if (rc == 0)
        rc = hv_json_read_u64(obj, "size", path, true, HV_E_IMAGE, INT64_MAX, &d->size_bytes);
    if (rc == 0)
        rc = optional(hv_json_read_object(obj, "platform", path, false, HV_E_IMAGE, &platform));
    if (rc == 0)
        rc = optional(
            hv_json_read_object(obj, "annotations", path, false, HV_E_IMAGE, &annotations));
    if (rc < 0)
        return in_file(rc, doc);
    classify(media_type, d);
    hv_quote(d->media_type_shown, sizeof(d->media_type_shown), media_type);
    hv_json_path_key(where, sizeof(where), path, "digest");
    if ((rc = hv_oci_digest_check(digest, doc->name, where)) < 0)
        return rc;
    memcpy(d->digest, digest, strlen(digest) + 1);
    if (platform) {
        hv_json_path_key(where, sizeof(where), path, "platform");
        rc = hv_json_read_string(platform, "os", where, true, HV_E_IMAGE, &d->os);
        if (rc == 0)
            rc = hv_json_read_string(platform, "architecture", where, true, HV_E_IMAGE, &d->arch);
        if (rc == 0)
            rc = optional(
                hv_json_read_string(platform, "variant", where, false, HV_E_IMAGE, &d->variant));
    }
    if (rc == 0 && annotations) {
        hv_json_path_key(where, sizeof(where), path, "annotations");
        rc = optional(hv_json_read_string(annotations, REF_NAME_ANNOTATION, where, false,
                                          HV_E_IMAGE, &d->ref_name));
    }
    return rc < 0 ? in_file(rc, doc) : 0;
}

/* Every entry of the index `doc`'s manifests array, into a new array *out of *count. */
static int read_index_entries(const document *doc, descriptor **out, size_t *count)
{
    json_object *manifests;
    descriptor *entries;
    char path[32];
    size_t n;
    int rc = hv_json_read_array(doc->root, "manifests", "", true, HV_E_IMAGE, &manifests);

    *out = NULL;
    *count = 0;
    if (rc < 0)
        return in_file(rc, doc);
    n = json_object_array_length(manifests);
    if (n == 0)
        return hv_error_set(HV_E_IMAGE, "manifests",
                            "%s lists no image (its manifests array is empty): there is nothing "
                            "to read",
                            doc->name);
    entries = hv_calloc(n, sizeof(*entries));
    if (!entries)
        return HV_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        hv_json_path_index(path, sizeof(path), "manifests", i);
        rc = read_descriptor(doc, json_object_array_get_idx(manifests, i), path, &entries[i]);
        if (rc < 0) {
            free(entries);
            return rc;
        }
    }
    *out = entries;
    *count = n;
    return 0;
}

/* "linux/arm64, linux/arm/v7" of the entries into buf. */
static const char *platform_list(const descriptor *entries, size_t count, char *buf, size_t size)
{
    char os[HV_QUOTE_SIZE], arch[HV_QUOTE_SIZE], variant[HV_QUOTE_SIZE];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < count && len + 1 < size; i++) {
        if (!entries[i].os)
            continue;
        hv_quote(os, sizeof(os), entries[i].os);
        hv_quote(arch, sizeof(arch), entries[i].arch);
        hv_quote(variant, sizeof(variant), entries[i].variant ? entries[i].variant : "");
        len += hv_format(buf + len, size - len, "%s%s/%s%s%s", len ? ", " : "", os, arch,
                         variant[0] ? "/" : "", variant);
    }
    return len ? buf : "no platform";
}

/* "'latest', 'v1'" of the entries' tags into buf. */
static const char *tag_list(const descriptor *entries, size_t count, char *buf, size_t size)
{
    char quoted[HV_QUOTE_SIZE];
    size_t len = 0, untagged = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < count && len + 1 < size; i++) {
        if (entries[i].ref_name)
            len += hv_format(buf + len, size - len, "%s'%s'", len ? ", " : "",
                             hv_quote(quoted, sizeof(quoted), entries[i].ref_name));
        else
            untagged++;
    }
    if (untagged && len + 1 < size)
        hv_format(buf + len, size - len, "%s%zu untagged", len ? " and " : "", untagged);
    return buf;
}

/* Whether the entry is for linux/arch. */
static bool platform_matches(const descriptor *d, const char *arch)
{
    return d->os && !strcmp(d->os, "linux") && !strcmp(d->arch, arch);
}

/*
 * The index.json entry `ref` names (NULL: the only one); of several with
 * that tag, each for a platform, the one for linux/arch.
 */
static int pick_layout_entry(const document *doc, const descriptor *entries, size_t count,
                             const char *ref, const char *arch, descriptor *out)
{
    char tags[512], platforms[512], quoted[HV_QUOTE_SIZE] = "";
    size_t matches = 0, with_platform = 0;
    const descriptor *found = NULL;

    for (size_t i = 0; i < count; i++) {
        if (ref && (!entries[i].ref_name || strcmp(entries[i].ref_name, ref) != 0))
            continue;
        matches++;
        with_platform += entries[i].os != NULL;
        if (!found || (platform_matches(&entries[i], arch) && !platform_matches(found, arch)))
            found = &entries[i];
    }
    if (ref)
        hv_quote(quoted, sizeof(quoted), ref);
    if (matches == 0)
        return hv_error_set(HV_E_NOTFOUND, NULL,
                            "%s has no image tagged '%s': it has %s (give one of those)", doc->name,
                            quoted, tag_list(entries, count, tags, sizeof(tags)));
    if (matches > 1 && with_platform < matches) {
        if (!ref)
            return hv_error_set(HV_E_IMAGE, NULL, "%s lists %zu images: choose one by its tag: %s",
                                doc->name, matches, tag_list(entries, count, tags, sizeof(tags)));
        return hv_error_set(HV_E_IMAGE, NULL,
                            "%s lists %zu images tagged '%s', not each for a platform of its "
                            "own: the layout is ambiguous (tag them apart)",
                            doc->name, matches, quoted);
    }
    if (matches > 1 && !platform_matches(found, arch))
        return hv_error_set(HV_E_IMAGE, NULL,
                            "%s has no image%s%s%s for linux/%s: it has %s (copy the image for "
                            "this machine's architecture)",
                            doc->name, ref ? " tagged '" : "", quoted, ref ? "'" : "", arch,
                            platform_list(entries, count, platforms, sizeof(platforms)));
    *out = *found;
    return 0;
}

/* The entry of a nested image index for linux/arch. */
static int pick_index_entry(const document *doc, const descriptor *entries, size_t count,
                            const char *arch, descriptor *out)
{
    char platforms[512];

    for (size_t i = 0; i < count; i++) {
        if (platform_matches(&entries[i], arch)) {
            *out = entries[i];
            return 0;
        }
    }
    return hv_error_set(HV_E_IMAGE, NULL,
                        "%s (an image index) has no manifest for linux/%s: it has %s (copy the "
                        "image for this machine's architecture)",
                        doc->name, arch,
                        platform_list(entries, count, platforms, sizeof(platforms)));
}

/* The descriptor must be of an image index or a manifest. */
static int check_image_entry(const document *doc, const descriptor *d)
{
    if (d->kind == KIND_INDEX || d->kind == KIND_MANIFEST)
        return 0;
    return hv_error_set(HV_E_IMAGE, NULL,
                        "%s: the entry for %s has media type '%s', neither an image manifest (%s) "
                        "nor an image index (%s): it is not an image",
                        doc->name, d->digest, d->media_type_shown, MEDIA_OCI_MANIFEST,
                        MEDIA_OCI_INDEX);
}

static const hv_json_array_limit index_arrays[] = {
    {"manifests", MAX_INDEX_ENTRIES, "entries in manifests"},
    {NULL, 0, NULL},
};

/*
 * The index `doc` (index.json, or an image index `referrer` refers to) and
 * the entry `ref` names in it (ref only for index.json): into *d, reduced
 * to what outlives the document.
 */
static int pick_entry(const document *doc, const char *ref, const char *arch, bool layout_index,
                      descriptor *d)
{
    descriptor *entries = NULL;
    size_t count = 0;
    int rc = read_index_entries(doc, &entries, &count);

    if (rc == 0)
        rc = layout_index ? pick_layout_entry(doc, entries, count, ref, arch, d)
                          : pick_index_entry(doc, entries, count, arch, d);
    free(entries);
    if (rc < 0)
        return rc;
    d->ref_name = d->os = d->arch = d->variant = NULL;
    return check_image_entry(doc, d);
}

/*
 * From the descriptor *d (of index.json), through image indexes, to the
 * descriptor of the manifest for linux/arch, in *d; the document that
 * refers to it in *referrer.
 */
static int follow_indexes(int layout_fd, const char *arch, descriptor *d, const char **referrer)
{
    *referrer = "index.json";
    for (int depth = 0; d->kind == KIND_INDEX; depth++) {
        document doc = {.root = NULL};
        const char *media_type = d->media_type;
        int rc;

        if (depth == MAX_INDEX_NESTING)
            return hv_error_set(HV_E_IMAGE, NULL,
                                "image indexes nest more than %d deep (at %s): the image is "
                                "malformed",
                                MAX_INDEX_NESTING, d->digest);
        rc = load_blob_document(layout_fd, d, *referrer, "an image index", index_arrays, &doc);
        if (rc == 0)
            rc = check_header(&doc, media_type);
        if (rc == 0)
            rc = pick_entry(&doc, NULL, arch, false, d);
        json_object_put(doc.root);
        if (rc < 0)
            return rc;
        *referrer = "the image index";
    }
    return 0;
}

/* The layout's oci-layout file and index.json, and the index.json entry `ref` names. */
static int read_layout(int layout_fd, const char *ref, const char *arch, descriptor *d)
{
    document doc = {.name = "oci-layout", .role = "the oci-layout file", .root = NULL};
    const char *version = NULL;
    char quoted[HV_QUOTE_SIZE], *text;
    size_t len;
    int rc = hv_oci_layout_file_load(layout_fd, "oci-layout", MAX_OCI_LAYOUT_BYTES, &text, &len);

    if (rc < 0)
        return rc;
    rc = parse_document(text, len, NULL, &doc);
    free(text);
    if (rc == 0)
        rc = in_file(
            hv_json_read_string(doc.root, "imageLayoutVersion", "", true, HV_E_IMAGE, &version),
            &doc);
    if (rc == 0 && strncmp(version, "1.", 2) != 0)
        rc = hv_error_set(HV_E_IMAGE, "imageLayoutVersion",
                          "oci-layout: imageLayoutVersion is '%s': only version 1 layouts are "
                          "read",
                          hv_quote(quoted, sizeof(quoted), version));
    json_object_put(doc.root);
    if (rc < 0)
        return rc;

    doc = (document){.name = "index.json", .role = "index.json", .root = NULL};
    rc = hv_oci_layout_file_load(layout_fd, "index.json", HV_OCI_MAX_DOCUMENT_BYTES, &text, &len);
    if (rc < 0)
        return rc;
    rc = parse_document(text, len, index_arrays, &doc);
    free(text);
    if (rc == 0)
        rc = check_header(&doc, MEDIA_OCI_INDEX);
    if (rc == 0)
        rc = pick_entry(&doc, ref, arch, true, d);
    json_object_put(doc.root);
    return rc;
}

/* ---- the manifest ----------------------------------------------------------------- */

static const hv_json_array_limit manifest_arrays[] = {
    {"layers", HV_OCI_MAX_LAYERS, "layers (the most an image may have)"},
    {NULL, 0, NULL},
};

/* The layer at `path` of the manifest into *layer. */
static int read_layer(const document *doc, json_object *obj, const char *path, hv_oci_layer *layer)
{
    json_object *media_type;
    descriptor d;
    const char *text;
    int rc = read_descriptor(doc, obj, path, &d);

    if (rc < 0)
        return rc;
    json_object_object_get_ex(obj, "mediaType", &media_type);
    text = json_object_get_string(media_type);
    for (size_t i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++) {
        if (!strcmp(text, layer_types[i].media_type)) {
            memcpy(layer->digest, d.digest, sizeof(layer->digest));
            layer->size_bytes = d.size_bytes;
            layer->compression = layer_types[i].compression;
            return 0;
        }
    }
    return hv_error_set(HV_E_IMAGE, path,
                        "%s: %s has media type '%s': layers are read as tar archives, plain, "
                        "gzip- or zstd-compressed (%s, +gzip, +zstd)",
                        doc->name, path, d.media_type_shown, layer_types[0].media_type);
}

/* The manifest `d` describes: its layers into the image, its config's descriptor into *config. */
static int read_manifest(hv_oci_image *image, const descriptor *d, const char *referrer,
                         descriptor *config)
{
    document doc = {.root = NULL};
    json_object *config_obj, *layers;
    char path[32];
    int rc =
        load_blob_document(image->layout_fd, d, referrer, "the manifest", manifest_arrays, &doc);

    if (rc == 0)
        rc = check_header(&doc, d->media_type);
    if (rc == 0)
        rc = in_file(hv_json_read_object(doc.root, "config", "", true, HV_E_IMAGE, &config_obj),
                     &doc);
    if (rc == 0)
        rc = read_descriptor(&doc, config_obj, "config", config);
    if (rc == 0 && config->kind != KIND_CONFIG)
        rc = hv_error_set(HV_E_IMAGE, "config.mediaType",
                          "%s: config has media type '%s', not that of an image config (%s): "
                          "this is not a container image",
                          doc.name, config->media_type_shown, MEDIA_OCI_CONFIG);
    if (rc == 0)
        rc = in_file(hv_json_read_array(doc.root, "layers", "", true, HV_E_IMAGE, &layers), &doc);
    if (rc == 0 && json_object_array_length(layers) > HV_OCI_MAX_LAYERS) /* the scan bounds it */
        rc = hv_error_set(HV_E_INTERNAL, "layers", "%s: more than %d layers passed the scan",
                          doc.name, HV_OCI_MAX_LAYERS);
    for (size_t i = 0; rc == 0 && i < json_object_array_length(layers); i++) {
        hv_json_path_index(path, sizeof(path), "layers", i);
        rc = read_layer(&doc, json_object_array_get_idx(layers, i), path, &image->layers[i]);
        image->layer_count = i + 1;
    }
    json_object_put(doc.root);
    if (rc == 0)
        memcpy(image->digest, d->digest, sizeof(image->digest));
    return rc;
}

/* ---- the config --------------------------------------------------------------------- */

static const hv_json_array_limit config_arrays[] = {
    {"config.Env", HV_OCI_MAX_ENV, "environment variables"},
    {"config.Entrypoint", HV_OCI_MAX_ARGS, "arguments in Entrypoint"},
    {"config.Cmd", HV_OCI_MAX_ARGS, "arguments in Cmd"},
    {NULL, 0, NULL},
};

static char *const no_strings[] = {NULL};

static void free_strings(char **strings)
{
    if (!strings || strings == (char **)no_strings)
        return;
    for (size_t i = 0; strings[i]; i++)
        free(strings[i]);
    free(strings);
}

/* A member that may also be null: whether it is there and not null. */
static bool has_value(json_object *obj, const char *key)
{
    json_object *v;

    return obj && json_object_object_get_ex(obj, key, &v) && v != NULL;
}

/*
 * The array of strings config.<key> into a new NULL-terminated vector
 * (empty when missing or null); with `env`, each must be NAME=value.
 */
static int read_strings(const document *doc, json_object *config, const char *key, bool env,
                        char ***out)
{
    json_object *array;
    char path[64], quoted[HV_QUOTE_SIZE];
    char **strings;
    size_t n;
    int rc;

    *out = (char **)no_strings;
    if (!has_value(config, key))
        return 0;
    hv_json_path_key(path, sizeof(path), "config", key);
    rc = hv_json_read_array(config, key, "config", true, HV_E_IMAGE, &array);
    if (rc < 0)
        return in_file(rc, doc);
    n = json_object_array_length(array);
    strings = hv_calloc(n + 1, sizeof(*strings));
    if (!strings)
        return HV_E_NOMEM;
    *out = strings;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        const char *text = json_object_get_string(item);
        char where[80];

        hv_json_path_index(where, sizeof(where), path, i);
        if (!json_object_is_type(item, json_type_string))
            return hv_error_set(HV_E_IMAGE, where,
                                "%s: %s must be a string: the image config is malformed", doc->name,
                                where);
        if (strlen(text) != (size_t)json_object_get_string_len(item))
            return hv_error_set(HV_E_IMAGE, where,
                                "%s: %s contains a NUL character (\\u0000), which no argument "
                                "or variable can hold: the image config is malformed",
                                doc->name, where);
        if (env && (text[0] == '=' || !strchr(text, '=')))
            return hv_error_set(HV_E_IMAGE, where,
                                "%s: %s is '%s', not NAME=value: the image config is malformed",
                                doc->name, where, hv_quote(quoted, sizeof(quoted), text));
        if (!(strings[i] = hv_strdup(text)))
            return HV_E_NOMEM;
    }
    return 0;
}

/* config.<key>, a string, into a new string ("" when missing or null). */
static int read_text(const document *doc, json_object *config, const char *key, char **out)
{
    const char *text = "";
    int rc = 0;

    if (has_value(config, key))
        rc = in_file(hv_json_read_string(config, key, "config", true, HV_E_IMAGE, &text), doc);
    if (rc == 0 && !(*out = hv_strdup(text)))
        rc = HV_E_NOMEM;
    return rc;
}

/* The image config `d` describes: platform checked against linux/arch, process fields kept. */
static int read_config(hv_oci_image *image, const descriptor *d, const char *arch)
{
    document doc = {.root = NULL};
    const char *os = NULL, *architecture = NULL;
    char quoted[HV_QUOTE_SIZE];
    json_object *config = NULL;
    int rc = load_blob_document(image->layout_fd, d, "the manifest", "the image config",
                                config_arrays, &doc);

    if (rc == 0)
        rc = in_file(hv_json_read_string(doc.root, "os", "", true, HV_E_IMAGE, &os), &doc);
    if (rc == 0)
        rc = in_file(
            hv_json_read_string(doc.root, "architecture", "", true, HV_E_IMAGE, &architecture),
            &doc);
    if (rc == 0 && strcmp(os, "linux") != 0)
        rc = hv_error_set(HV_E_IMAGE, "os",
                          "%s: the image is for the operating system '%s', not linux: it cannot "
                          "run in a Linux micro-VM",
                          doc.name, hv_quote(quoted, sizeof(quoted), os));
    if (rc == 0 && strcmp(architecture, arch) != 0)
        rc = hv_error_set(HV_E_IMAGE, "architecture",
                          "%s: the image is for %s, not %s: copy the image for this machine's "
                          "architecture (skopeo copy --override-arch %s)",
                          doc.name, hv_quote(quoted, sizeof(quoted), architecture), arch, arch);
    if (rc == 0 && has_value(doc.root, "config"))
        rc = in_file(hv_json_read_object(doc.root, "config", "", true, HV_E_IMAGE, &config), &doc);
    if (rc == 0 && !(image->architecture = hv_strdup(architecture)))
        rc = HV_E_NOMEM;
    if (rc == 0)
        rc = read_strings(&doc, config, "Entrypoint", false, &image->entrypoint);
    if (rc == 0)
        rc = read_strings(&doc, config, "Cmd", false, &image->cmd);
    if (rc == 0)
        rc = read_strings(&doc, config, "Env", true, &image->env);
    if (rc == 0)
        rc = read_text(&doc, config, "WorkingDir", &image->working_dir);
    if (rc == 0)
        rc = read_text(&doc, config, "User", &image->user);
    json_object_put(doc.root);
    return rc;
}

/* ---- the image -------------------------------------------------------------------- */

static int open_layout_dir(const char *layout_dir)
{
    char quoted[HV_QUOTE_SIZE];
    int fd = open(layout_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0)
        return fd;
    hv_quote(quoted, sizeof(quoted), layout_dir);
    if (errno == ENOENT)
        return hv_error_set(HV_E_NOTFOUND, layout_dir,
                            "the OCI image layout '%s' does not exist: give the directory that "
                            "holds oci-layout, index.json and blobs/",
                            quoted);
    if (errno == ENOTDIR)
        return hv_error_set(HV_E_IMAGE, layout_dir,
                            "'%s' is not a directory: an OCI image layout is a directory with "
                            "oci-layout, index.json and blobs/ (an archive of one must be "
                            "extracted first)",
                            quoted);
    return hv_error_set_errno(HV_E_IO, errno, layout_dir, "cannot open the OCI image layout '%s'",
                              quoted);
}

int hv_oci_image_open(const char *layout_dir, const char *ref, const char *arch,
                      hv_oci_image **image_out)
{
    descriptor manifest, config;
    const char *referrer;
    hv_oci_image *image;
    int rc;

    HV_CHECK_ARG(image_out, "image_out");
    *image_out = NULL;
    HV_CHECK_ARG(layout_dir, "layout_dir");
    HV_CHECK_ARG(arch && *arch, "arch");
    image = hv_calloc(1, sizeof(*image));
    if (!image)
        return HV_E_NOMEM;
    rc = image->layout_fd = open_layout_dir(layout_dir);
    if (rc >= 0)
        rc = read_layout(image->layout_fd, ref, arch, &manifest);
    if (rc >= 0)
        rc = follow_indexes(image->layout_fd, arch, &manifest, &referrer);
    if (rc >= 0)
        rc = read_manifest(image, &manifest, referrer, &config);
    if (rc >= 0)
        rc = read_config(image, &config, arch);
    if (rc < 0) {
        hv_oci_image_free(image);
        return rc;
    }
    *image_out = image;
    return 0;
}

void hv_oci_image_free(hv_oci_image *image)
{
    if (!image)
        return;
    if (image->layout_fd >= 0)
        close(image->layout_fd);
    free(image->architecture);
    free_strings(image->entrypoint);
    free_strings(image->cmd);
    free_strings(image->env);
    free(image->working_dir);
    free(image->user);
    free(image);
}

const char *hv_oci_image_digest(const hv_oci_image *image)
{
    return image->digest;
}

const char *hv_oci_image_architecture(const hv_oci_image *image)
{
    return image->architecture;
}

const char *const *hv_oci_image_entrypoint(const hv_oci_image *image)
{
    return (const char *const *)image->entrypoint;
}

const char *const *hv_oci_image_cmd(const hv_oci_image *image)
{
    return (const char *const *)image->cmd;
}

const char *const *hv_oci_image_env(const hv_oci_image *image)
{
    return (const char *const *)image->env;
}

const char *hv_oci_image_working_dir(const hv_oci_image *image)
{
    return image->working_dir;
}

const char *hv_oci_image_user(const hv_oci_image *image)
{
    return image->user;
}

size_t hv_oci_image_layer_count(const hv_oci_image *image)
{
    return image->layer_count;
}

const hv_oci_layer *hv_oci_image_layer(const hv_oci_image *image, size_t index)
{
    return index < image->layer_count ? &image->layers[index] : NULL;
}

int hv_oci_image_layout_fd(const hv_oci_image *image)
{
    return image->layout_fd;
}
