/*
 * libvirt/unavailable.c - the hpcvirt/libvirt.h API in builds without
 * libvirt and libxml2: the options work (options.c), everything else is
 * HV_E_UNSUPPORTED saying how to get it.
 */
#include "libvirt/options.h"
#include "core/error.h"

#define UNAVAILABLE                                                                                \
    "hpcvirt was built without libvirt (libvirt-dev, libxml2-dev): reconfigure with "              \
    "-Dlibvirt=enabled"

int hv_plan_to_libvirt_xml(const hv_plan *plan, const hv_libvirt_xml_options *opts, char **xml)
{
    (void)plan;
    hv_libvirt_xml_findings_out(opts);
    if (xml)
        *xml = NULL;
    return hv_error_set(HV_E_UNSUPPORTED, NULL, "%s: %s", __func__, UNAVAILABLE);
}

int hv_host_from_libvirt_capabilities(const char *xml, hv_host **host)
{
    (void)xml;
    if (host)
        *host = NULL;
    return hv_error_set(HV_E_UNSUPPORTED, NULL, "%s: %s", __func__, UNAVAILABLE);
}
