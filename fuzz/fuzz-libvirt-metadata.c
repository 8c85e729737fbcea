/*
 * fuzz/fuzz-libvirt-metadata.c - libFuzzer target for the element hpcvirt
 * keeps in each libvirt domain's <metadata> (hv_libvirt_metadata_verdict()
 * in lib/libvirt/metadata.h, docs/backends.md "Domain metadata"). The
 * element is anyone's to write (`virsh metadata`), and a handle found by
 * name reads it before every live migration.
 *
 * The input is read twice: as the element virDomainGetMetadata() returns,
 * and as the JSON text of a version 2 element (in a CDATA section, so that
 * the JSON reader sees the bytes as they are). Either way the verdict is
 * "not found" (live, no reason) or found with a version from 1, a reason
 * that ends inside its buffer and that, quoted as the libvirt driver quotes
 * it, is printable UTF-8; reading the same element again gives the same
 * verdict.
 */
#include "fuzz.h"
#include "libvirt/metadata.h"
#include "core/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_verdict(const char *element)
{
    hv_libvirt_verdict v, again;
    char quoted[HV_LIBVIRT_REASON_MAX];
    size_t len;

    hv_libvirt_metadata_verdict(element, &v);
    len = strnlen(v.reason, sizeof(v.reason));
    CHECK(len < sizeof(v.reason));
    if (!v.found) {
        CHECK(v.live);
        CHECK(len == 0);
    } else {
        CHECK(v.version >= 1);
    }
    hv_quote(quoted, sizeof(quoted), v.reason);
    CHECK(hv_text_unprintable_at(quoted, strlen(quoted)) == strlen(quoted));

    hv_libvirt_metadata_verdict(element, &again);
    CHECK(again.found == v.found && again.live == v.live);
    CHECK(!v.found || again.version == v.version);
    CHECK(strcmp(again.reason, v.reason) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char head[] = "<plan version=\"2\"><![CDATA[", tail[] = "]]></plan>";
    char *text, *element;
    size_t len;

    text = fuzz_text(data, size);
    if (!text)
        return 0;
    check_verdict(text);

    /* the input (up to a NUL) as the element's JSON; a "]]>" in it ends the section early */
    len = strlen(text);
    element = malloc(sizeof(head) - 1 + len + sizeof(tail));
    if (element) {
        memcpy(element, head, sizeof(head) - 1);
        memcpy(element + sizeof(head) - 1, text, len);
        memcpy(element + sizeof(head) - 1 + len, tail, sizeof(tail));
        check_verdict(element);
        free(element);
    }
    free(text);
    return 0;
}
