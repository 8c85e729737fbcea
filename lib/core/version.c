/*
 * core/version.c - the run-time version of the library.
 */
#include "config.h"

#include <hpcvirt/version.h>

const char *hv_version(void)
{
    return HPCVIRT_VERSION_STRING;
}

int hv_version_numbers(int *major, int *minor, int *patch)
{
    if (major)
        *major = HPCVIRT_VERSION_MAJOR;
    if (minor)
        *minor = HPCVIRT_VERSION_MINOR;
    if (patch)
        *patch = HPCVIRT_VERSION_PATCH;
    return 0;
}
