/*
 * libvirt/options.h - what every build shares of hv_libvirt_xml_options
 * (internal): options.c is compiled with and without libvirt.
 */
#ifndef HV_LIBVIRT_OPTIONS_H
#define HV_LIBVIRT_OPTIONS_H

#include <hpcvirt/libvirt.h>

/*
 * Where `opts` asks for the conversion's findings, with NULL stored there (what a failure leaves);
 * NULL when it asks for none: NULL options, a version before 2 (a caller's struct without the
 * field) or a version the library does not know (hv_options_check() refuses those).
 */
hv_finding_list **hv_libvirt_xml_findings_out(const hv_libvirt_xml_options *opts);

#endif
