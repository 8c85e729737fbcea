/*
 * libvirt/embed.h - opening libvirt's embedded drivers (internal): one process
 * at a time per root, and only once the driver's start-up work on running
 * domains is over (see embed.c).
 */
#ifndef HV_LIBVIRT_EMBED_H
#define HV_LIBVIRT_EMBED_H

#include <libvirt/libvirt.h>
#include <stdbool.h>

/* How long an open waits for another process to leave the root. */
#define HV_LIBVIRT_EMBED_WAIT_MS 30000

/* "qemu:///embed?root=DIR" and the like: a driver that runs in this process. */
bool hv_libvirt_uri_is_embedded(const char *uri);

/*
 * Opens an embedded driver's `uri`: 0 with *conn set; 0 with *conn NULL when
 * libvirt refused (its last error says why); a negative HV_E_* (the error
 * set) when the URI names no root or another process kept the root for
 * HV_LIBVIRT_EMBED_WAIT_MS.
 */
int hv_libvirt_embed_open(const char *uri, virConnectAuthPtr auth, virConnectPtr *conn);

#endif
