/*
 * fuzz/fuzz-spec-json.c - libFuzzer target for VM specs
 * (hv_vm_spec_from_json() in hpcvirt/spec.h): a rejected document leaves no
 * spec and records the code it returns; an accepted one serializes, reads
 * back and serializes to the same canonical text, and can be planned on a
 * small fixed host without failing.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/hpcvirt.h>

static const char host_json[] =
    "{\"cpus\": {\"phys_addr_bits\": 46, \"has_1g_pages\": true, \"list\": ["
    "{\"id\": 0, \"package\": 0, \"core\": 0, \"node\": 0},"
    "{\"id\": 1, \"package\": 0, \"core\": 1, \"node\": 0},"
    "{\"id\": 2, \"package\": 1, \"core\": 0, \"node\": 1},"
    "{\"id\": 3, \"package\": 1, \"core\": 1, \"node\": 1}]},"
    "\"numa_nodes\": ["
    "{\"id\": 0, \"cpus\": \"0-1\", \"memory_bytes\": 68719476736, \"free_bytes\": 60129542144,"
    " \"distances\": [10, 21], \"hugepages\": [{\"page_bytes\": 2097152, \"total\": 1024,"
    " \"free\": 1024}, {\"page_bytes\": 1073741824, \"total\": 8, \"free\": 8}]},"
    "{\"id\": 1, \"cpus\": \"2-3\", \"memory_bytes\": 68719476736, \"free_bytes\": 60129542144,"
    " \"distances\": [21, 10]}],"
    "\"accelerators\": [{\"pci_address\": \"0000:41:00.0\", \"vendor_id\": \"10de\","
    " \"device_id\": \"20b2\", \"class\": \"030200\", \"numa_node\": 1, \"iommu_group\": 5,"
    " \"iommu_group_members\": \"0000:41:00.0\", \"bars\": [{\"index\": 0, \"size_bytes\":"
    " 16777216}, {\"index\": 1, \"size_bytes\": 137438953472, \"is_64bit\": true,"
    " \"prefetchable\": true}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hv_host *host;
    hv_vm_spec *spec = NULL, *again = NULL;
    hv_plan *plan = NULL;
    char *text, *json = NULL, *json_again = NULL, *plan_json = NULL;
    int rc;

    if (!host)
        CHECK(hv_host_from_json(host_json, &host) == 0);
    text = fuzz_text(data, size);
    if (!text)
        return 0;

    hv_error_clear();
    rc = hv_vm_spec_from_json(text, &spec);
    if (rc < 0) {
        CHECK(spec == NULL);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        goto out;
    }
    CHECK(spec != NULL);
    CHECK(hv_vm_spec_to_json(spec, HV_JSON_COMPACT, &json) == 0);
    CHECK(hv_vm_spec_from_json(json, &again) == 0);
    CHECK(hv_vm_spec_to_json(again, HV_JSON_COMPACT, &json_again) == 0);
    CHECK(strcmp(json, json_again) == 0);
    /* any valid spec can be planned: findings, never a failure */
    CHECK(hv_plan_create(host, spec, NULL, &plan) == 0);
    CHECK(hv_plan_to_json(plan, HV_JSON_COMPACT, &plan_json) == 0);
    CHECK(hv_plan_vnuma_node_count(plan) >= 1);

out:
    hv_free(plan_json);
    hv_plan_free(plan);
    hv_free(json_again);
    hv_free(json);
    hv_vm_spec_free(again);
    hv_vm_spec_free(spec);
    free(text);
    return 0;
}
