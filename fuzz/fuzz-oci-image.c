/*
 * fuzz/fuzz-oci-image.c - libFuzzer target for reading OCI image layouts
 * (hv_oci_image_open() in lib/container/oci-image.h). The input is up to
 * four JSON texts split at NUL bytes: index.json, an image index, a
 * manifest and a config. They are written into a layout, the last three
 * as blobs under their real digests, after their placeholders are
 * replaced: @C/@c by the config's digest and size, @M/@m the manifest's,
 * @I/@i the image index's; so the parsers are reached past the digest
 * checks. The image is then opened without a tag and with the tag
 * "latest". A refused layout leaves no image and an error of the code
 * returned; an accepted one has a digest of the one form read, at most 127
 * layers of that form and NULL-terminated vectors.
 */
#include "fuzz-oci.h"
#include "container/oci-image.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#define PARTS 4 /* index.json, image index, manifest, config */

/* What the placeholders stand for, filled in as the blobs are written. */
typedef struct placeholders {
    char digest[3][72]; /* config, manifest, image index */
    char size[3][24];
} placeholders;

static const char marks[3][2] = {{'C', 'c'}, {'M', 'm'}, {'I', 'i'}};

/* `text` of `len` bytes with the known placeholders (the first `known`) replaced. */
static GString *substitute(const char *text, size_t len, const placeholders *p, int known)
{
    GString *out = g_string_sized_new(len + 64);

    for (size_t i = 0; i < len; i++) {
        bool replaced = false;

        for (int k = 0; k < known && text[i] == '@' && i + 1 < len; k++) {
            if (text[i + 1] == marks[k][0] || text[i + 1] == marks[k][1]) {
                g_string_append(out, text[i + 1] == marks[k][0] ? p->digest[k] : p->size[k]);
                replaced = true;
                i++;
                break;
            }
        }
        if (!replaced)
            g_string_append_c(out, text[i]);
    }
    return out;
}

static bool digest_form(const char *digest)
{
    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return false;
    for (size_t i = 7; i < 71; i++)
        if (!strchr("0123456789abcdef", digest[i]))
            return false;
    return true;
}

static void check_strings(const char *const *strings)
{
    size_t n = 0;

    CHECK(strings != NULL);
    while (strings[n])
        CHECK(++n <= HV_OCI_MAX_ARGS);
}

static void open_and_check(const char *layout, const char *ref)
{
    hv_oci_image *image = (hv_oci_image *)&image;
    int rc;

    hv_error_clear();
    rc = hv_oci_image_open(layout, ref, "amd64", &image);
    if (rc < 0) {
        CHECK(image == NULL);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        CHECK(hv_error_message(hv_error_last())[0] != '\0');
        return;
    }
    CHECK(image != NULL);
    CHECK(digest_form(hv_oci_image_digest(image)));
    CHECK(strcmp(hv_oci_image_architecture(image), "amd64") == 0);
    CHECK(hv_oci_image_layer_count(image) <= HV_OCI_MAX_LAYERS);
    for (size_t i = 0; i < hv_oci_image_layer_count(image); i++)
        CHECK(digest_form(hv_oci_image_layer(image, i)->digest));
    CHECK(hv_oci_image_layer(image, hv_oci_image_layer_count(image)) == NULL);
    check_strings(hv_oci_image_entrypoint(image));
    check_strings(hv_oci_image_cmd(image));
    check_strings(hv_oci_image_env(image));
    CHECK(hv_oci_image_working_dir(image) != NULL && hv_oci_image_user(image) != NULL);
    hv_oci_image_free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *parts[PARTS] = {"", "", "", ""};
    size_t lens[PARTS] = {0};
    placeholders p;
    char layout[PATH_MAX], path[PATH_MAX + 16];
    const char *text = (const char *)data;
    GString *doc;

    /* split at NUL bytes: index.json \0 image index \0 manifest \0 config */
    for (int i = 0; i < PARTS && text; i++) {
        const char *nul = memchr(text, '\0', size - (size_t)(text - (const char *)data));

        parts[i] = text;
        lens[i] = nul ? (size_t)(nul - text) : size - (size_t)(text - (const char *)data);
        text = nul ? nul + 1 : NULL;
    }
    fuzz_oci_new_layout("layout", layout, sizeof(layout));
    /* the blobs, each with the placeholders of those written before it */
    for (int k = 0; k < 3; k++) {
        int part = PARTS - 1 - k; /* config, manifest, image index */

        doc = substitute(parts[part], lens[part], &p, k);
        fuzz_oci_put_blob(layout, doc->str, doc->len, p.digest[k]);
        snprintf(p.size[k], sizeof(p.size[k]), "%zu", doc->len);
        g_string_free(doc, TRUE);
    }
    doc = substitute(parts[0], lens[0], &p, 3);
    snprintf(path, sizeof(path), "%s/index.json", layout);
    fuzz_oci_write(path, doc->str, doc->len);
    g_string_free(doc, TRUE);

    open_and_check(layout, NULL);
    open_and_check(layout, "latest");
    fuzz_oci_empty(fuzz_oci_work_dir());
    return 0;
}
