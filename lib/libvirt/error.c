/*
 * libvirt/error.c - libvirt's errors as hpcvirt's: the code mapped, the
 * message kept (quoted: libvirt repeats names, URIs and paths as given).
 */
#include "libvirt/error.h"
#include "core/error.h"
#include "core/text.h"

/* Room to quote libvirt's message whole (hv_quote()), unless huge. */
#define LONG_QUOTE_SIZE 512

/* libvirt error `e` as an hpcvirt error for operation `what`. */
int hv_libvirt_report(virErrorPtr e, const char *what)
{
    const char *message = e && e->message ? e->message : "unknown libvirt error";
    char quoted[LONG_QUOTE_SIZE]; /* libvirt's messages repeat names, URIs and paths as given */
    int code = HV_E_BACKEND;

    if (e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_NO_DOMAIN_SNAPSHOT:
            code = HV_E_NOTFOUND;
            break;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_CONFIG_UNSUPPORTED:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
            code = HV_E_UNSUPPORTED;
            break;
        case VIR_ERR_OPERATION_INVALID:
            code = HV_E_STATE;
            break;
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_AUTH_CANCELLED:
            code = HV_E_PERM;
            break;
        case VIR_ERR_OPERATION_TIMEOUT:
            code = HV_E_TIMEOUT;
            break;
        default:
            break;
        }
    }
    hv_error_set(code, NULL, "libvirt: %s: %s", what, hv_quote(quoted, sizeof(quoted), message));
    return code;
}

/* libvirt's last error as an hpcvirt error for operation `what`. */
int hv_libvirt_error(const char *what)
{
    int code = hv_libvirt_report(virGetLastError(), what);

    virResetLastError();
    return code;
}
