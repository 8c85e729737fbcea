/*
 * The deprecated public names still compile, mean what their replacements
 * mean, and warn: built with -Werror, so a deprecated name used outside the
 * pragma below would fail the build, and one that lost its deprecation
 * would not warn (see the meson check next to this file).
 */
#include <hpcvirt/hpcvirt.h>

_Static_assert(sizeof(hv_vm_state_code) == sizeof(int), "enums are int-sized");

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
hv_vm_state_t hv_check_old_state = HV_VM_STATE_RUNNING;
hv_accelerator_kind_t hv_check_old_kind = HV_ACCELERATOR_GPU;
hv_rdma_gid_type_t hv_check_old_gid = HV_RDMA_GID_ROCE_V2;
#pragma GCC diagnostic pop

hv_vm_state_code hv_check_new_state = HV_VM_STATE_RUNNING;
hv_accelerator_kind_code hv_check_new_kind = HV_ACCELERATOR_GPU;
hv_rdma_gid_type_code hv_check_new_gid = HV_RDMA_GID_ROCE_V2;
