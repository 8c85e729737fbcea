/*
 * host/discover.h - discovery of a host from an opened root (internal):
 * what hv_host_discover() runs once it has checked its options and opened
 * the root (host/discover.c).
 */
#ifndef HV_HOST_DISCOVER_H
#define HV_HOST_DISCOVER_H

#include <hpcvirt/host.h>

#include "host/sysfs.h"

/*
 * Discovery from an opened root, with the profile named `profile` (static)
 * and the HV_HOST_SKIP_* bits in `skip`: hv_host_discover() after its
 * checks; tests call it with fs->resolver forced to the portable walk.
 * Findings name paths made of what the tree holds: every byte of their
 * paths and messages that could act on a terminal is escaped (core/text.h).
 */
int hv_host_discover_fs(hv_host **out, const hv_sysfs *fs, const char *profile, unsigned int skip);

#endif
