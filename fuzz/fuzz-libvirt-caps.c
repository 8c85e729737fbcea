/*
 * fuzz/fuzz-libvirt-caps.c - libFuzzer target for libvirt capabilities XML
 * (hv_host_from_libvirt_capabilities() in hpcvirt/libvirt.h; the document
 * comes from a libvirt daemon, possibly a remote one). A rejected document
 * leaves no host and records the code it returns; an accepted one gives a
 * host whose JSON reads back, on which a small VM can be planned, and whose
 * plan, when it has no errors, becomes domain XML.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/hpcvirt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_host *host = NULL, *again = NULL;
    hv_vm_spec *spec = NULL;
    hv_plan *plan = NULL;
    char *text, *json = NULL, *xml = NULL;
    int rc;

    text = fuzz_text(data, size);
    if (!text)
        return 0;

    hv_error_clear();
    rc = hv_host_from_libvirt_capabilities(text, &host);
    if (rc < 0) {
        CHECK(host == NULL);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        goto out;
    }
    CHECK(host != NULL);
    CHECK(hv_host_to_json(host, HV_JSON_COMPACT, &json) == 0);
    CHECK(hv_host_from_json(json, &again) == 0);
    CHECK(hv_vm_spec_from_json("{\"name\": \"f\", \"vcpus\": 2, \"memory\": \"1GiB\"}", &spec) ==
          0);
    CHECK(hv_plan_create(host, spec, NULL, &plan) == 0);
    if (hv_plan_ok(plan)) {
        rc = hv_plan_to_libvirt_xml(plan, NULL, &xml);
        CHECK(rc == 0 ? xml != NULL : xml == NULL);
    }

out:
    hv_free(xml);
    hv_plan_free(plan);
    hv_vm_spec_free(spec);
    hv_free(json);
    hv_host_free(again);
    hv_host_free(host);
    free(text);
    return 0;
}
