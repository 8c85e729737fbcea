/*
 * fuzz/fuzz-host-json.c - libFuzzer target for host documents
 * (hv_host_from_json() in hpcvirt/host.h): any document it accepts must
 * serialize, the serialization must be accepted again, and serializing that
 * second host must give exactly the same text (a fixed point). And the
 * check every JSON document gets first (core/json-scan.h) agrees with
 * json-c: on the raw bytes, NUL bytes included, whatever it passes json-c
 * parses.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>
#include <hpcvirt/host.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_host *host = NULL, *again = NULL;
    char *text, *json = NULL, *json_again = NULL;
    int rc;

    if (hv_json_scan((const char *)data, size, "the input", NULL) == 0) {
        json_object *obj = NULL;

        CHECK(hv_json_parse_bounded((const char *)data, size, "the input", NULL, &obj) == 0);
        json_object_put(obj);
    }

    text = fuzz_text(data, size);
    if (!text)
        return 0;

    hv_error_clear();
    rc = hv_host_from_json(text, &host);
    if (rc < 0) {
        CHECK(host == NULL);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        goto out;
    }
    CHECK(host != NULL);

    rc = hv_host_to_json(host, size && (data[0] & 1) ? HV_JSON_PRETTY : HV_JSON_COMPACT, &json);
    CHECK(rc == 0 && json != NULL);
    rc = hv_host_from_json(json, &again);
    CHECK(rc == 0 && again != NULL);
    rc = hv_host_to_json(again, size && (data[0] & 1) ? HV_JSON_PRETTY : HV_JSON_COMPACT,
                         &json_again);
    CHECK(rc == 0 && json_again != NULL);
    CHECK(strcmp(json, json_again) == 0);

out:
    hv_free(json_again);
    hv_free(json);
    hv_host_free(again);
    hv_host_free(host);
    free(text);
    return 0;
}
