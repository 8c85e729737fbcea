/*
 * core/vm-state.c - the names of the VM states (hv_vm_state_name): below
 * every backend, since each of them reports states and names them in its
 * messages.
 */
#include <hpcvirt/vm.h>

#include <stddef.h>

const char *hv_vm_state_name(int state)
{
    static const char *const names[] = {"unknown",   "defined",  "running", "paused",
                                        "suspended", "stopping", "crashed", "exited"};

    return state >= 0 && (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state]
                                                                          : "unknown";
}
