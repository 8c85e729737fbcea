/*
 * libvirt/metadata.h - what hpcvirt keeps in each domain's <metadata>
 * (internal; the format is documented in docs/backends.md): one element,
 * <hpcvirt:plan version="2"> in namespace HV_LIBVIRT_PLAN_NS, whose text
 * is compact JSON: the profile, a digest of the plan, its migration verdict
 * and the spec it was made from. hpcvirt 0.1.0 wrote the element without a
 * version attribute and with the whole plan as its text ("version 1"); the
 * verdict is at the same keys in both.
 */
#ifndef HV_LIBVIRT_METADATA_H
#define HV_LIBVIRT_METADATA_H

#include <hpcvirt/plan.h>

#include <stdbool.h>
#include <stddef.h>

/* The element's namespace and the prefix hpcvirt writes it with. */
#define HV_LIBVIRT_PLAN_NS     "https://hpcvirt.org/xmlns/plan/1"
#define HV_LIBVIRT_PLAN_PREFIX "hpcvirt"
/* The version this hpcvirt writes. */
#define HV_LIBVIRT_METADATA_VERSION 2
/* The largest element a reader looks at (a version 1 plan of 4096 vCPUs fits). */
#define HV_LIBVIRT_METADATA_MAX_BYTES ((size_t)1 << 20)
/* The longest reason kept (longer ones are cut; the plan's own are shorter). */
#define HV_LIBVIRT_REASON_MAX 512

/* The element's text for `plan` (hv_free() it), or NULL with the error set. */
char *hv_libvirt_metadata_text(const hv_plan *plan);

/* What a domain's element says about live migration. */
typedef struct hv_libvirt_verdict {
    bool found;                         /* an element in a form this hpcvirt reads */
    unsigned int version;               /* its version attribute (1 where there is none) */
    bool live;                          /* true where not found */
    char reason[HV_LIBVIRT_REASON_MAX]; /* the first reason given, "" if none */
} hv_libvirt_verdict;

/*
 * Read the element as virDomainGetMetadata() returns it: libvirt finds it
 * by its namespace and gives it without one (<plan>; in HV_LIBVIRT_PLAN_NS
 * it is read too). It is anyone's to write: anything but the documented
 * forms (too large, not XML, another element or namespace, a DTD, markup
 * or entity references in the text, JSON that is not an object or has a
 * key twice, a verdict that is not a boolean) is not found, and the reason
 * is kept as given (quote it before showing it).
 */
void hv_libvirt_metadata_verdict(const char *element, hv_libvirt_verdict *out);

#endif
