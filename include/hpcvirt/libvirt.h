/*
 * hpcvirt/libvirt.h - plans as libvirt domain XML, and hosts described by
 * libvirt capabilities XML. Available in every build; where hpcvirt was
 * built without libvirt/libxml2 the functions return HV_E_UNSUPPORTED.
 */
#ifndef HPCVIRT_LIBVIRT_H
#define HPCVIRT_LIBVIRT_H

#include <hpcvirt/common.h>
#include <hpcvirt/finding.h>
#include <hpcvirt/host.h>
#include <hpcvirt/plan.h>

HV_BEGIN_DECLS

#define HV_LIBVIRT_XML_OPTIONS_VERSION 2
typedef struct hv_libvirt_xml_options {
    unsigned int version;
    /** Domain type: "kvm" (default) or "qemu" (software emulation, no KVM needed). */
    const char *domain_type;
    /**
     * Libvirt network the NICs join; NULL = user-mode networking, which has
     * one queue: a NIC's queues and RSS are left out of the XML (the finding
     * xml.nic.user-networking says so for each NIC that loses them).
     */
    const char *network;
    /** Write the serial console to this file; NULL = a pty. */
    const char *console_log;
    /* ---- version 2 ---- */
    /**
     * Where to put what the conversion noticed, NULL = not wanted: on
     * success, a list the caller frees with hv_finding_list_free() (empty
     * when there is nothing to say); on failure, NULL. Each is a warning
     * whose path is the spec entry it is about: today xml.nic.user-networking
     * (at "nics[0]"), for a NIC whose queues or RSS the XML leaves out because
     * no network was named. The XML is right without them; they say what of
     * the plan it does not carry.
     */
    hv_finding_list **findings;
} hv_libvirt_xml_options;
#define HV_LIBVIRT_XML_OPTIONS_INIT                                                                \
    {                                                                                              \
        HV_LIBVIRT_XML_OPTIONS_VERSION, NULL, NULL, NULL, NULL                                     \
    }
HV_EXTERN int hv_libvirt_xml_options_init(hv_libvirt_xml_options *opts, unsigned int version);

/**
 * A plan as libvirt domain XML (libvirt 9.0 schema): vCPUs, CPU topology and
 * vNUMA cells with distances, numatune, cputune pinning, huge pages per cell,
 * firmware, q35 with the 64-bit PCI hole and guest physical-address width,
 * host devices (GPUs, FPGAs, vGPUs, SR-IOV VFs), virtio-net with
 * multiqueue/RSS. A plan with errors, or with devices it could not assign to
 * host PCI functions, is refused with HV_E_PLAN. Free with hv_free(). What
 * of the plan the XML leaves out is reported as findings through
 * opts->findings (version 2); the libvirt backend's hv_vm_create() hands
 * the same findings to the log handler (hpcvirt/log.h) as warnings.
 */
HV_EXTERN int hv_plan_to_libvirt_xml(const hv_plan *plan, const hv_libvirt_xml_options *opts,
                                     char **xml);

/**
 * A host from libvirt capabilities XML (virConnectGetCapabilities): CPUs
 * with their sockets/cores/cells, NUMA cells with memory, huge page pools
 * and distances. Free memory is not in capabilities: it is reported as the
 * cells' total unless the backend fills it in. HV_E_PARSE naming the element.
 */
HV_EXTERN int hv_host_from_libvirt_capabilities(const char *xml, hv_host **host);

HV_END_DECLS

#endif /* HPCVIRT_LIBVIRT_H */
