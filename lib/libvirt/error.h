/*
 * libvirt/error.h - libvirt's errors as hpcvirt's (internal).
 */
#ifndef HV_LIBVIRT_ERROR_H
#define HV_LIBVIRT_ERROR_H

#include <libvirt/virterror.h>

/* libvirt error `e` as an hpcvirt error for operation `what`; its code. */
int hv_libvirt_report(virErrorPtr e, const char *what);

/* libvirt's last error (then reset) as an hpcvirt error for operation `what`; its code. */
int hv_libvirt_error(const char *what);

#endif
