/*
 * backend/builtin.c - the built-in backends, in the order URIs are offered
 * to them: the one file that names them. Each backend's own layer
 * (lib/kvm, lib/libvirt) exports its table; the registry (registry.c)
 * registers this list on first use and knows no backend by name.
 */
#include "backend/backend.h"
#include "config.h"
#include "kvm/driver.h"
#if HAVE_LIBVIRT
#include "libvirt/driver.h"
#endif

#include <stddef.h>

const hv_backend *const hv_builtin_backends[] = {
    &hv_kvm_backend,
#if HAVE_LIBVIRT
    &hv_libvirt_backend,
#endif
    NULL,
};
