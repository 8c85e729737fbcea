/*
 * fuzz/fuzz-vcpu-record.c - libFuzzer target for the engine's vCPU records
 * in snapshots (hv_kvm_vcpu_state_decode() in lib/kvm/vcpu-state.h; the
 * record is docs/snapshot-format.md's "vcpu" section, read from files that
 * may be corrupted or hostile), and for the platform record of a Linux
 * guest's snapshot (hv_kvm_platform_state_decode(), "platform", the same
 * block encoding). A rejected record leaves HV_E_SNAPSHOT as the recorded
 * error; an accepted vCPU record has at most 48 MSRs, a valid run state and
 * MP state, an accepted platform record its chips in order, and each
 * encoding decodes and encodes again to the same bytes.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#include "kvm/platform-state.h"
#include "kvm/vcpu-state.h"

/* The same bytes as a platform record. */
static void platform_record(const uint8_t *data, size_t size)
{
    hv_kvm_platform_state *st = calloc(2, sizeof(*st));
    uint8_t *first = NULL, *again = NULL;
    size_t first_bytes = 0, again_bytes = 0;
    int rc;

    if (!st)
        return;
    hv_error_clear();
    rc = hv_kvm_platform_state_decode(data, size, "fuzz: section platform", &st[0]);
    if (rc < 0) {
        CHECK(rc == HV_E_SNAPSHOT);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        free(st);
        return;
    }
    for (uint32_t i = 0; i < 3; i++)
        CHECK(st[0].chips[i].chip_id == i);
    CHECK(hv_kvm_platform_state_encode(&st[0], &first, &first_bytes) == 0);
    CHECK(hv_kvm_platform_state_decode(first, first_bytes, "again", &st[1]) == 0);
    CHECK(hv_kvm_platform_state_encode(&st[1], &again, &again_bytes) == 0);
    CHECK(again_bytes == first_bytes && memcmp(first, again, first_bytes) == 0);
    free(first);
    free(again);
    free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_kvm_vcpu_state *st = calloc(2, sizeof(*st));
    uint8_t *first = NULL, *again = NULL;
    size_t first_bytes = 0, again_bytes = 0;
    uint32_t index = size ? data[0] % 4 : 0;
    int rc;

    platform_record(data, size);
    if (!st)
        return 0;
    hv_error_clear();
    rc = hv_kvm_vcpu_state_decode(data, size, index, "fuzz: section vcpu", &st[0]);
    if (rc < 0) {
        CHECK(rc == HV_E_SNAPSHOT);
        CHECK(hv_error_code_of(hv_error_last()) == rc);
        free(st);
        return 0;
    }
    CHECK(st[0].nmsrs <= HV_KVM_STATE_MAX_MSRS);
    CHECK(st[0].run_state == HV_KVM_VCPU_STATE_RUNNING ||
          st[0].run_state == HV_KVM_VCPU_STATE_STOPPED);
    CHECK(!st[0].has_mp_state || st[0].mp_state.mp_state <= KVM_MP_STATE_SIPI_RECEIVED);
    CHECK(hv_kvm_vcpu_state_encode(&st[0], index, &first, &first_bytes) == 0);
    CHECK(hv_kvm_vcpu_state_decode(first, first_bytes, index, "again", &st[1]) == 0);
    CHECK(hv_kvm_vcpu_state_encode(&st[1], index, &again, &again_bytes) == 0);
    CHECK(again_bytes == first_bytes && memcmp(first, again, first_bytes) == 0);
    free(first);
    free(again);
    free(st);
    return 0;
}
