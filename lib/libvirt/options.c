/*
 * libvirt/options.c - hv_libvirt_xml_options in every build: initializing
 * each version, and the findings output version 2 added.
 */
#include "libvirt/options.h"
#include "core/error.h"

#include <stddef.h>

/* The size of each version of the options: a caller built against version 1 has no `findings`. */
static size_t options_size(unsigned int version)
{
    return version == 1 ? offsetof(hv_libvirt_xml_options, findings)
                        : sizeof(hv_libvirt_xml_options);
}

int hv_libvirt_xml_options_init(hv_libvirt_xml_options *opts, unsigned int version)
{
    return hv_options_init(opts, options_size(version), version, HV_LIBVIRT_XML_OPTIONS_VERSION,
                           __func__);
}

hv_finding_list **hv_libvirt_xml_findings_out(const hv_libvirt_xml_options *opts)
{
    if (!opts || opts->version < 2 || opts->version > HV_LIBVIRT_XML_OPTIONS_VERSION ||
        !opts->findings)
        return NULL;
    *opts->findings = NULL;
    return opts->findings;
}
