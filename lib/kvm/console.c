/*
 * kvm/console.c - a VM's console: the ring of its last output that
 * hv_vm_console_read() reads and the callback its creator gave. Payloads
 * write it through their console port (run.c), Linux guests through COM1
 * (linux.c).
 */
#include "kvm/engine.h"
#include "core/alloc.h"

#include <pthread.h>

size_t hv_kvm_vm_console_tail(hv_kvm_vm *vm, char *buf, size_t size)
{
    size_t kept, copy, start;

    pthread_mutex_lock(&vm->lock);
    kept = vm->console_kept;
    copy = kept < size - 1 ? kept : size - 1;
    /* the newest `copy` bytes end at console_head */
    start = (vm->console_head + HV_KVM_CONSOLE_BYTES - copy) % HV_KVM_CONSOLE_BYTES;
    for (size_t i = 0; vm->console && i < copy; i++)
        buf[i] = vm->console[(start + i) % HV_KVM_CONSOLE_BYTES];
    buf[vm->console ? copy : 0] = '\0';
    pthread_mutex_unlock(&vm->lock);
    return kept;
}

/* Append console bytes (ring + callback). */
void hv_kvm_vm_console_write(hv_kvm_vm *vm, const uint8_t *bytes, size_t length)
{
    pthread_mutex_lock(&vm->lock);
    /* made on first use: a clone that never prints costs nothing */
    if (!vm->console)
        vm->console = hv_reallocarray(NULL, HV_KVM_CONSOLE_BYTES, 1);
    for (size_t i = 0; vm->console && i < length; i++) {
        vm->console[vm->console_head] = (char)bytes[i];
        vm->console_head = (vm->console_head + 1) % HV_KVM_CONSOLE_BYTES;
    }
    if (vm->console)
        vm->console_kept += length;
    if (vm->console_kept > HV_KVM_CONSOLE_BYTES)
        vm->console_kept = HV_KVM_CONSOLE_BYTES;
    vm->console_total += length;
    pthread_mutex_unlock(&vm->lock);
    if (vm->console_fn)
        vm->console_fn(vm->console_data, (const char *)bytes, length);
}
