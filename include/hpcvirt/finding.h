/*
 * hpcvirt/finding.h - findings: what host discovery and planning noticed.
 *
 * Discovery and planning never print and rarely fail: they report what they
 * noticed as a list of findings, each with a severity, a stable code
 * ("plan.firmware.bios-too-many-vcpus"), the JSON path of the input it is
 * about, and a message that says what to do. Hosts and plans own theirs
 * (hv_host_finding_at(), hv_plan_finding_at()); a call that makes nothing
 * to keep them in hands them out as a list of their own, a hv_finding_list
 * (hv_libvirt_xml_options.findings).
 */
#ifndef HPCVIRT_FINDING_H
#define HPCVIRT_FINDING_H

#include <hpcvirt/common.h>

HV_BEGIN_DECLS

typedef enum hv_severity {
    HV_SEVERITY_INFO = 1,
    HV_SEVERITY_WARNING = 2,
    HV_SEVERITY_ERROR = 3
} hv_severity;

/** A borrowed finding, valid as long as the object that reported it. */
typedef struct hv_finding hv_finding;

HV_EXTERN int hv_finding_severity(const hv_finding *finding);
/** "info", "warning" or "error". */
HV_EXTERN const char *hv_severity_name(int severity);
/** A stable dotted identifier scripts can match on. */
HV_EXTERN const char *hv_finding_code(const hv_finding *finding);
/** JSON path of the input field (or file) it is about; "" when none. */
HV_EXTERN const char *hv_finding_path(const hv_finding *finding);
HV_EXTERN const char *hv_finding_message(const hv_finding *finding);

/**
 * A list of findings the caller owns, freed with hv_finding_list_free(); its
 * findings are borrowed from it. Read-only: it may be read from several
 * threads at once.
 */
typedef struct hv_finding_list hv_finding_list;

/** How many findings the list holds; 0 for NULL. */
HV_EXTERN size_t hv_finding_list_count(const hv_finding_list *list);
/** The finding at `index`, in the order they were made; NULL past the end or for NULL. */
HV_EXTERN const hv_finding *hv_finding_list_at(const hv_finding_list *list, size_t index);
/** Free the list and its findings. NULL is ignored. */
HV_EXTERN void hv_finding_list_free(hv_finding_list *list);

HV_END_DECLS

#endif /* HPCVIRT_FINDING_H */
