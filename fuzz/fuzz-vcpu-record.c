/*
 * fuzz/fuzz-vcpu-record.c - libFuzzer target for the engine's vCPU records
 * in snapshots (hv_kvm_vcpu_state_decode() in lib/kvm/vcpu-state.h; the
 * record is docs/snapshot-format.md's "vcpu" section, read from files that
 * may be corrupted or hostile). A rejected record leaves HV_E_SNAPSHOT as
 * the recorded error; an accepted one has at most 16 MSRs and a valid run
 * state, and its encoding decodes and encodes again to the same bytes.
 */
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/error.h>

#include "kvm/vcpu-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_kvm_vcpu_state *st = calloc(2, sizeof(*st));
    uint8_t *first = NULL, *again = NULL;
    size_t first_bytes = 0, again_bytes = 0;
    uint32_t index = size ? data[0] % 4 : 0;
    int rc;

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
    CHECK(hv_kvm_vcpu_state_encode(&st[0], index, &first, &first_bytes) == 0);
    CHECK(hv_kvm_vcpu_state_decode(first, first_bytes, index, "again", &st[1]) == 0);
    CHECK(hv_kvm_vcpu_state_encode(&st[1], index, &again, &again_bytes) == 0);
    CHECK(again_bytes == first_bytes && memcmp(first, again, first_bytes) == 0);
    free(first);
    free(again);
    free(st);
    return 0;
}
