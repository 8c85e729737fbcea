/*
 * libvirt/clone.h - linked clones of a libvirt domain (internal; what they
 * are: docs/backends.md, "Linked clones").
 */
#ifndef HV_LIBVIRT_CLONE_H
#define HV_LIBVIRT_CLONE_H

#include <hpcvirt/vm.h>
#include <libvirt/libvirt.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * Define `count` linked clones of the shut-off domain `parent` (or of its
 * external snapshot opts->snapshot, the parent running or not) into
 * out[0..count-1] (new references), started (paused where
 * HV_VM_CLONE_PAUSED) when `start`, named from opts->names or
 * opts->name_pattern (index 1 .. count), each with its opts->identities
 * text as an SMBIOS OEM string; opts->progress as each is made. All or
 * nothing: on an error out[] is all NULL and nothing made stays.
 */
int hv_libvirt_clone_linked(virConnectPtr conn, virDomainPtr parent, size_t count, bool start,
                            const hv_vm_clone_options *opts, virDomainPtr *out);

/* Power off, remove the overlays of, undefine and free each clone in clones[] (NULL ones skipped).
 */
void hv_libvirt_clone_discard(virDomainPtr *clones, size_t count);

#endif
