/*
 * libvirt/driver.c - the libvirt backend: connections ("libvirt:<uri>"),
 * host inventory from capabilities, and the VM lifecycle through the libvirt
 * API (define, start, pause/resume, graceful stop, destroy, save/restore,
 * managed save, snapshots, peer-to-peer live migration, linked clones in
 * clone.c). libvirt's errors become hv_error_last() with libvirt's message
 * kept (error.c).
 *
 * Process-wide effects, done once: a silent libvirt error handler (errors
 * are returned, not printed), LIBVIRT_LOG_OUTPUTS pointed away from stderr
 * when the application has not set it, and for qemu:///embed URIs libvirt's
 * default event loop running in a thread of its own (embedded drivers are
 * opened through embed.c).
 */
#include "libvirt/driver.h"
#include "libvirt/clone.h"
#include "libvirt/error.h"
#include "libvirt/embed.h"
#include "libvirt/metadata.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/findings.h"
#include "core/text.h"
#include "host/disk.h"
#include "host/host.h"
#include "plan/migration.h"
#include "plan/spec.h"

#include <libvirt/libvirt.h>
#include <libxml/parser.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hpcvirt/libvirt.h>

/* Room to quote a URI, a path or libvirt's message in a message whole (hv_quote()), unless huge. */
#define LONG_QUOTE_SIZE 512

typedef struct lv_conn {
    virConnectPtr conn;
    char *uri; /* the libvirt URI (without "libvirt:") */
} lv_conn;

typedef struct lv_vm {
    lv_conn *c;
    virDomainPtr dom;
    char *name;
} lv_vm;

static void silent_error_handler(void *userdata, virErrorPtr error)
{
    (void)userdata;
    (void)error;
}

static void init_once(void)
{
    /* libvirt logs warnings to stderr by default: the library must not print */
    setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", 0);
    virInitialize();
    virSetErrorFunc(NULL, silent_error_handler);
}

static void *event_loop(void *arg)
{
    (void)arg;
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

static int event_loop_rc;

static void start_event_loop(void)
{
    pthread_t thread;
    pthread_attr_t attr;

    if (virEventRegisterDefaultImpl() < 0) {
        event_loop_rc = -1;
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    event_loop_rc = pthread_create(&thread, &attr, event_loop, NULL) ? -1 : 0;
    pthread_attr_destroy(&attr);
}

/* ---- connections -------------------------------------------------------------- */

static int lv_open(const char *uri, void **data)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT, loop_once = PTHREAD_ONCE_INIT;
    const char *target = uri + strlen("libvirt:");
    char quoted[LONG_QUOTE_SIZE];
    lv_conn *c;
    int rc = 0;

    if (strncmp(uri, "libvirt:", 8) != 0)
        return HV_BACKEND_DECLINED;
    if (!*target)
        return hv_error_set(HV_E_INVAL, "uri",
                            "'%s' names no libvirt URI: write libvirt:qemu:///system, "
                            "libvirt:test:///default, libvirt:qemu+ssh://host/system, ...",
                            hv_quote(quoted, sizeof(quoted), uri));
    pthread_once(&once, init_once);
    if (hv_libvirt_uri_is_embedded(target)) {
        /* an embedded driver needs an event loop, before it is opened */
        pthread_once(&loop_once, start_event_loop);
        if (event_loop_rc < 0)
            return hv_libvirt_error("starting the event loop for qemu:///embed");
    }
    c = hv_calloc(1, sizeof(*c));
    if (!c || !(c->uri = hv_strdup(target))) {
        free(c);
        return HV_E_NOMEM;
    }
    if (hv_libvirt_uri_is_embedded(target))
        rc = hv_libvirt_embed_open(target, virConnectAuthPtrDefault, &c->conn);
    else
        c->conn = virConnectOpenAuth(target, virConnectAuthPtrDefault, 0);
    if (rc == 0 && !c->conn) {
        char what[LONG_QUOTE_SIZE + 32];

        snprintf(what, sizeof(what), "connecting to %s", hv_quote(quoted, sizeof(quoted), target));
        rc = hv_libvirt_error(what);
    }
    if (rc < 0) {
        free(c->uri);
        free(c);
        return rc;
    }
    *data = c;
    return 0;
}

static void lv_close(void *data)
{
    lv_conn *c = data;

    virConnectClose(c->conn);
    free(c->uri);
    free(c);
}

static int lv_host(void *data, hv_host **out)
{
    lv_conn *c = data;
    char *caps = virConnectGetCapabilities(c->conn);
    hv_host *host = NULL;
    int rc;

    if (!caps)
        return hv_libvirt_error("reading the host capabilities");
    rc = hv_host_from_libvirt_capabilities(caps, &host);
    free(caps);
    if (rc < 0)
        return rc;
    /* capabilities carry totals only: ask for free memory per cell */
    for (size_t i = 0; i < host->nnodes; i++) {
        unsigned long long free_bytes = 0;

        if (virNodeGetCellsFreeMemory(c->conn, &free_bytes, host->nodes[i].id, 1) == 1)
            host->nodes[i].free_bytes = free_bytes;
        else
            virResetLastError();
    }
    free(host->root);
    host->root = hv_asprintf("libvirt:%s", c->uri);
    if (!host->root) {
        hv_host_free(host);
        return HV_E_NOMEM;
    }
    *out = host;
    return 0;
}

static int lv_list_vms(void *data, char ***names, size_t *count)
{
    lv_conn *c = data;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c->conn, &doms, 0);
    char **out;

    if (n < 0)
        return hv_libvirt_error("listing domains");
    out = hv_calloc((size_t)n + 1, sizeof(*out));
    for (int i = 0; i < n; i++) {
        if (out && !(out[i] = hv_strdup(virDomainGetName(doms[i])))) {
            hv_strv_free(out, (size_t)i);
            out = NULL;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    if (!out)
        return HV_E_NOMEM;
    *names = out;
    *count = (size_t)n;
    return 0;
}

/* ---- VMs ------------------------------------------------------------------------ */

static int wrap_domain(lv_conn *c, virDomainPtr dom, void **data)
{
    lv_vm *vm = hv_calloc(1, sizeof(*vm));

    if (!vm || !(vm->name = hv_strdup(virDomainGetName(dom)))) {
        free(vm);
        virDomainFree(dom);
        return HV_E_NOMEM;
    }
    vm->c = c;
    vm->dom = dom;
    *data = vm;
    return 0;
}

/* kvm where the host's QEMU can use it, else software emulation ("qemu"). */
static const char *domain_type(lv_conn *c)
{
    char *caps = virConnectGetDomainCapabilities(c->conn, NULL, "x86_64", "q35", "kvm", 0);
    virErrorPtr e;

    if (caps) {
        free(caps);
        return "kvm";
    }
    e = virGetLastError();
    /* drivers without domain capabilities (the test driver) take any type */
    if (e && e->code == VIR_ERR_NO_SUPPORT) {
        virResetLastError();
        return "kvm";
    }
    virResetLastError();
    return "qemu";
}

/*
 * "domain_type=qemu,network=default,console_log=/x" into XML options; the
 * values point into `buf` (a copy of the text).
 */
static int parse_backend_options(const char *text, char *buf, size_t size,
                                 hv_libvirt_xml_options *xml)
{
    char *save = NULL, quoted[HV_QUOTE_SIZE];

    if (!text || !*text)
        return 0;
    if (strlen(text) >= size)
        return hv_error_set(HV_E_INVAL, "backend_options", "backend_options is too long");
    strcpy(buf, text);
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');

        if (!eq)
            return hv_error_set(HV_E_INVAL, "backend_options",
                                "backend option '%s' needs a value (key=value)",
                                hv_quote(quoted, sizeof(quoted), item));
        *eq = '\0';
        if (strcmp(item, "domain_type") == 0) {
            xml->domain_type = eq + 1;
            if (strcmp(xml->domain_type, "kvm") != 0 && strcmp(xml->domain_type, "qemu") != 0)
                return hv_error_set(HV_E_INVAL, "backend_options",
                                    "domain_type '%s' is not one the libvirt backend drives: "
                                    "use domain_type=kvm or domain_type=qemu",
                                    hv_quote(quoted, sizeof(quoted), xml->domain_type));
        } else if (strcmp(item, "network") == 0)
            xml->network = eq + 1;
        else if (strcmp(item, "console_log") == 0)
            xml->console_log = eq + 1;
        else
            return hv_error_set(HV_E_INVAL, "backend_options",
                                "the libvirt backend has no option '%s': it takes domain_type, "
                                "network and console_log",
                                hv_quote(quoted, sizeof(quoted), item));
    }
    return 0;
}

/* The disks of `spec` against one domain's XML: an image written by either is an error. */
static int disk_conflict(const hv_vm_spec *spec, const char *domain, const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    int rc = 0;

    for (xmlNodePtr devs = root ? root->children : NULL; devs && rc == 0; devs = devs->next) {
        if (devs->type != XML_ELEMENT_NODE || !xmlStrEqual(devs->name, BAD_CAST "devices"))
            continue;
        for (xmlNodePtr d = devs->children; d && rc == 0; d = d->next) {
            bool theirs_ro = false;
            xmlChar *file = NULL;

            if (d->type != XML_ELEMENT_NODE || !xmlStrEqual(d->name, BAD_CAST "disk"))
                continue;
            for (xmlNodePtr k = d->children; k; k = k->next) {
                if (k->type != XML_ELEMENT_NODE)
                    continue;
                theirs_ro |= xmlStrEqual(k->name, BAD_CAST "readonly") ||
                             xmlStrEqual(k->name, BAD_CAST "shareable");
                if (xmlStrEqual(k->name, BAD_CAST "source") && !file)
                    file = xmlGetProp(k, BAD_CAST "file");
            }
            for (size_t i = 0; file && i < spec->ndisks && rc == 0; i++) {
                char where[40], qdomain[HV_QUOTE_SIZE], qfile[HV_QUOTE_SIZE];

                if (strcmp((const char *)file, spec->disks[i].path) != 0 ||
                    (theirs_ro && spec->disks[i].read_only))
                    continue;
                snprintf(where, sizeof(where), "disks[%zu].path", i);
                rc = hv_error_set(HV_E_EXISTS, where,
                                  "%s '%s' is a disk of the domain '%s' too, and %s writes it: "
                                  "give each VM that writes an image its own",
                                  where, hv_quote(qfile, sizeof(qfile), (const char *)file),
                                  hv_quote(qdomain, sizeof(qdomain), domain),
                                  theirs_ro ? "this VM" : "that domain");
            }
            xmlFree(file);
        }
    }
    xmlFreeDoc(doc);
    return rc;
}

/* Remove the images prepare_disks() created (created[i] for disk i). */
static void remove_created_disks(const hv_vm_spec *spec, const bool *created)
{
    for (size_t i = 0; i < spec->ndisks; i++)
        if (created[i])
            unlink(spec->disks[i].path);
}

/*
 * The disks' I/O checks, which the pure planner leaves to the backend: no
 * other domain of the connection writes an image this VM uses (or uses one
 * this VM writes), then each image exists or is created (created[i] says
 * so; on an error, what was created is removed again).
 */
static int prepare_disks(lv_conn *c, const hv_vm_spec *spec, bool *created)
{
    virDomainPtr *doms = NULL;
    int n, rc = 0;

    if (!spec->ndisks)
        return 0;
    n = virConnectListAllDomains(c->conn, &doms, 0);
    if (n < 0)
        return hv_libvirt_error("listing domains");
    for (int i = 0; i < n; i++) {
        char *xml = rc == 0 ? virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE) : NULL;

        if (xml)
            rc = disk_conflict(spec, virDomainGetName(doms[i]), xml);
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    for (size_t i = 0; i < spec->ndisks && rc >= 0; i++) {
        char where[40];

        snprintf(where, sizeof(where), "disks[%zu]", i);
        rc = hv_host_disk_prepare(spec->disks[i].path, spec->disks[i].format,
                                  spec->disks[i].size_bytes, where);
        created[i] = rc > 0;
    }
    if (rc < 0)
        remove_created_disks(spec, created);
    return rc < 0 ? rc : 0;
}

static int lv_vm_create(void *data, const hv_plan *plan, const hv_vm_create_options *copts,
                        void **out)
{
    lv_conn *c = data;
    hv_libvirt_xml_options opts = HV_LIBVIRT_XML_OPTIONS_INIT;
    bool created[HV_SPEC_MAX_DISKS] = {false};
    virDomainPtr dom;
    hv_finding_list *findings = NULL;
    char *xml = NULL, buf[1024];
    int rc;

    rc = parse_backend_options(copts->backend_options, buf, sizeof(buf), &opts);
    if (rc < 0)
        return rc;
    if (!opts.domain_type)
        opts.domain_type = domain_type(c);
    opts.findings = &findings;
    rc = hv_plan_to_libvirt_xml(plan, &opts, &xml);
    if (rc < 0)
        return rc;
    if ((rc = prepare_disks(c, hv_plan_spec(plan), created)) < 0)
        goto out;
    dom = virDomainDefineXML(c->conn, xml);
    if (!dom) {
        rc = hv_libvirt_error("defining the domain");
        remove_created_disks(hv_plan_spec(plan), created);
        goto out;
    }
    /* what the domain leaves out of the plan: the application hears of it through its log */
    hv_findings_log(&findings->findings, "libvirt");
    rc = wrap_domain(c, dom, out);
out:
    hv_free(xml);
    hv_finding_list_free(findings);
    return rc;
}

static int lv_vm_lookup(void *data, const char *name, void **out)
{
    lv_conn *c = data;
    virDomainPtr dom = virDomainLookupByName(c->conn, name);

    if (!dom) {
        int rc = hv_libvirt_error("looking the domain up");

        if (rc == HV_E_NOTFOUND) {
            char quoted[HV_QUOTE_SIZE], uri[LONG_QUOTE_SIZE];

            hv_error_set(rc, "name", "no VM named '%s' on %s",
                         hv_quote(quoted, sizeof(quoted), name),
                         hv_quote(uri, sizeof(uri), c->uri));
        }
        return rc;
    }
    return wrap_domain(c, dom, out);
}

static void lv_vm_release(void *data)
{
    lv_vm *vm = data;

    virDomainFree(vm->dom);
    free(vm->name);
    free(vm);
}

static const char *lv_vm_name(void *data)
{
    return ((lv_vm *)data)->name;
}

#define CALL(expr, what) ((expr) < 0 ? hv_libvirt_error(what) : 0)

static int lv_vm_start(void *data)
{
    return CALL(virDomainCreate(((lv_vm *)data)->dom), "starting the domain");
}

static int lv_vm_pause(void *data)
{
    return CALL(virDomainSuspend(((lv_vm *)data)->dom), "pausing the domain");
}

static int lv_vm_resume(void *data)
{
    return CALL(virDomainResume(((lv_vm *)data)->dom), "resuming the domain");
}

static int raw_state(virDomainPtr dom, int *state)
{
    int reason;

    return virDomainGetState(dom, state, &reason, 0) < 0 ? hv_libvirt_error("reading the state")
                                                         : 0;
}

static int lv_vm_destroy(void *data)
{
    lv_vm *vm = data;
    int state = VIR_DOMAIN_NOSTATE;
    int was_active = virDomainIsActive(vm->dom);

    virResetLastError();
    if (virDomainDestroy(vm->dom) == 0)
        return 0;
    /* A connection opened moments ago may find libvirt still reconnecting
     * to the running QEMU (qemu:///embed does this at every open): the kill
     * lands, but libvirt then reports "domain is not running". The VM is
     * off either way, which is what was asked. */
    virErrorPtr saved = virSaveLastError();
    int rc = 0;

    virResetLastError();
    if (!(saved && saved->code == VIR_ERR_OPERATION_INVALID && was_active == 1 &&
          raw_state(vm->dom, &state) == 0 && state == VIR_DOMAIN_SHUTOFF))
        rc = hv_libvirt_report(saved, "powering the domain off");
    virFreeError(saved);
    return rc;
}

static int lv_vm_stop(void *data, unsigned int timeout_ms)
{
    lv_vm *vm = data;
    struct timespec tick = {0, 100 * 1000 * 1000};
    int state = VIR_DOMAIN_NOSTATE, rc;

    if ((rc = raw_state(vm->dom, &state)) < 0)
        return rc;
    if (state == VIR_DOMAIN_SHUTOFF)
        return 0;
    if (timeout_ms && virDomainShutdown(vm->dom) < 0)
        virResetLastError(); /* no agent/ACPI: fall through to the forced stop */
    for (unsigned int waited = 0; timeout_ms && waited < timeout_ms; waited += 100) {
        if ((rc = raw_state(vm->dom, &state)) < 0)
            return rc;
        if (state == VIR_DOMAIN_SHUTOFF)
            return 0;
        nanosleep(&tick, NULL);
    }
    return lv_vm_destroy(data);
}

static int lv_vm_undefine(void *data)
{
    lv_vm *vm = data;
    unsigned int flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                         VIR_DOMAIN_UNDEFINE_NVRAM;

    if (virDomainUndefineFlags(vm->dom, flags) == 0)
        return 0;
    /* drivers without NVRAM support refuse the flag */
    virResetLastError();
    flags &= ~(unsigned int)VIR_DOMAIN_UNDEFINE_NVRAM;
    return CALL(virDomainUndefineFlags(vm->dom, flags), "undefining the domain");
}

static int lv_vm_state(void *data, int *state)
{
    lv_vm *vm = data;
    int raw = VIR_DOMAIN_NOSTATE, rc = raw_state(vm->dom, &raw);

    if (rc < 0)
        return rc;
    switch (raw) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        *state = HV_VM_STATE_RUNNING;
        break;
    case VIR_DOMAIN_PAUSED:
        *state = HV_VM_STATE_PAUSED;
        break;
    case VIR_DOMAIN_SHUTDOWN:
        *state = HV_VM_STATE_STOPPING;
        break;
    case VIR_DOMAIN_SHUTOFF:
        *state = virDomainHasManagedSaveImage(vm->dom, 0) == 1 ? HV_VM_STATE_SUSPENDED
                                                               : HV_VM_STATE_DEFINED;
        virResetLastError();
        break;
    case VIR_DOMAIN_CRASHED:
        *state = HV_VM_STATE_CRASHED;
        break;
    case VIR_DOMAIN_PMSUSPENDED:
        *state = HV_VM_STATE_SUSPENDED;
        break;
    default:
        *state = HV_VM_STATE_UNKNOWN;
    }
    return 0;
}

static int lv_vm_suspend(void *data, const char *path, unsigned int flags)
{
    lv_vm *vm = data;

    if (virDomainSaveFlags(vm->dom, path, NULL, 0) < 0)
        return hv_libvirt_error("saving the domain to a file");
    if ((flags & HV_VM_SUSPEND_KEEP_RUNNING) && virDomainRestore(vm->c->conn, path) < 0)
        return hv_libvirt_error("restoring the domain after saving it");
    return 0;
}

/* The domain name inside a save image (libvirt keeps the domain XML there). */
/* The domain name in a save image's XML (/domain/name, entities decoded), or NULL. */
static char *name_in_save_image(lv_conn *c, const char *path)
{
    char *xml = virDomainSaveImageGetXMLDesc(c->conn, path, 0);
    xmlDocPtr doc;
    xmlNodePtr root;
    char *name = NULL;

    if (!xml) {
        hv_libvirt_error("reading the save image");
        return NULL;
    }
    doc = xmlReadMemory(xml, (int)strlen(xml), "save-image.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(xml);
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    for (xmlNodePtr n = root ? root->children : NULL; n && !name; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "name") == 0) {
            xmlChar *text = xmlNodeGetContent(n);

            if (text && *text)
                name = hv_strdup((const char *)text);
            xmlFree(text);
        }
    }
    if (doc)
        xmlFreeDoc(doc);
    if (!name) {
        char quoted[LONG_QUOTE_SIZE];

        hv_error_set(HV_E_BACKEND, path, "the save image '%s' names no domain",
                     hv_quote(quoted, sizeof(quoted), path));
    }
    return name;
}

static int lv_vm_resume_from(void *data, const char *path, unsigned int flags, void **out)
{
    lv_conn *c = data;
    char *name = name_in_save_image(c, path);
    virDomainPtr dom;

    if (!name)
        return hv_error_code_of(hv_error_last());
    if (virDomainRestoreFlags(c->conn, path, NULL,
                              flags & HV_VM_RESUME_PAUSED ? VIR_DOMAIN_SAVE_PAUSED : 0) < 0) {
        free(name);
        return hv_libvirt_error("restoring the domain from a file");
    }
    dom = virDomainLookupByName(c->conn, name);
    free(name);
    if (!dom)
        return hv_libvirt_error("finding the restored domain");
    return wrap_domain(c, dom, out);
}

static int lv_vm_managed_save(void *data)
{
    return CALL(virDomainManagedSave(((lv_vm *)data)->dom, 0), "managed save");
}

static int lv_vm_has_managed_save(void *data, bool *has)
{
    int rc = virDomainHasManagedSaveImage(((lv_vm *)data)->dom, 0);

    if (rc < 0)
        return hv_libvirt_error("checking for a managed save image");
    *has = rc == 1;
    return 0;
}

static int lv_vm_snapshot_create(void *data, const char *name)
{
    lv_vm *vm = data;
    virDomainSnapshotPtr snap;
    char *xml;

    if (hv_spec_check_name(name, "name") < 0)
        return hv_error_set(HV_E_INVAL, "name", "%s",
                            "a snapshot name may use only letters, "
                            "digits, '-', '_' and '.'");
    xml = hv_asprintf("<domainsnapshot><name>%s</name></domainsnapshot>", name);
    if (!xml)
        return HV_E_NOMEM;
    snap = virDomainSnapshotCreateXML(vm->dom, xml, 0);
    free(xml);
    if (!snap)
        return hv_libvirt_error("creating a snapshot");
    virDomainSnapshotFree(snap);
    return 0;
}

static int with_snapshot(lv_vm *vm, const char *name, bool revert)
{
    virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(vm->dom, name, 0);
    int rc;

    if (!snap) {
        rc = hv_libvirt_error("finding the snapshot");
        if (rc == HV_E_NOTFOUND) {
            char quoted[HV_QUOTE_SIZE], vm_name[HV_QUOTE_SIZE];

            hv_error_set(rc, "name", "%s has no snapshot named '%s'",
                         hv_quote(vm_name, sizeof(vm_name), vm->name),
                         hv_quote(quoted, sizeof(quoted), name));
        }
        return rc;
    }
    rc = revert ? CALL(virDomainRevertToSnapshot(snap, 0), "reverting to the snapshot")
                : CALL(virDomainSnapshotDelete(snap, 0), "deleting the snapshot");
    virDomainSnapshotFree(snap);
    return rc;
}

static int lv_vm_snapshot_revert(void *data, const char *name)
{
    return with_snapshot(data, name, true);
}

static int lv_vm_snapshot_delete(void *data, const char *name)
{
    return with_snapshot(data, name, false);
}

static int lv_vm_snapshot_list(void *data, char ***names, size_t *count)
{
    lv_vm *vm = data;
    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainListAllSnapshots(vm->dom, &snaps, 0);
    char **out;

    if (n < 0)
        return hv_libvirt_error("listing snapshots");
    out = hv_calloc((size_t)n + 1, sizeof(*out));
    for (int i = 0; i < n; i++) {
        if (out && !(out[i] = hv_strdup(virDomainSnapshotGetName(snaps[i])))) {
            hv_strv_free(out, (size_t)i);
            out = NULL;
        }
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    if (!out)
        return HV_E_NOMEM;
    *names = out;
    *count = (size_t)n;
    return 0;
}

/* The migration verdict kept in the domain's metadata (libvirt/metadata.h), if any. */
static int check_plan_eligibility(lv_vm *vm)
{
    char *meta = virDomainGetMetadata(vm->dom, VIR_DOMAIN_METADATA_ELEMENT, HV_LIBVIRT_PLAN_NS,
                                      VIR_DOMAIN_AFFECT_CURRENT);
    /* the domain's metadata is anyone's to write: its reason is quoted like a name */
    char quoted[HV_QUOTE_SIZE], reason[LONG_QUOTE_SIZE];
    hv_libvirt_verdict verdict;

    if (!meta) {
        virResetLastError(); /* not made by hpcvirt: nothing to check */
        return 0;
    }
    hv_libvirt_metadata_verdict(meta, &verdict);
    free(meta);
    if (!verdict.found || verdict.live)
        return 0;
    return hv_error_set(HV_E_UNSUPPORTED, NULL, HV_PLAN_NOT_LIVE_REFUSAL,
                        hv_quote(quoted, sizeof(quoted), vm->name),
                        verdict.reason[0] ? hv_quote(reason, sizeof(reason), verdict.reason)
                                          : "its plan says so");
}

static int lv_vm_migrate(void *data, const char *dest, const hv_migrate_options *opts)
{
    lv_vm *vm = data;
    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0, rc;
    unsigned int flags = VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST;

    if (strncmp(dest, "libvirt:", 8) == 0)
        dest += 8;
    if (opts && opts->key)
        return hv_error_set(HV_E_UNSUPPORTED, "key",
                            "a pre-shared key authenticates the built-in engine's migration "
                            "stream; libvirt secures its own with TLS (VIR_MIGRATE_TLS, "
                            "migrate_tls in qemu.conf): give no key");
    if (opts && opts->progress)
        return hv_error_set(HV_E_UNSUPPORTED, "progress",
                            "the libvirt backend reports no migration progress (the built-in "
                            "engine does): give no progress callback, and follow the job with "
                            "virsh domjobinfo");
    if (opts && (opts->flags & HV_MIGRATE_THROTTLE))
        flags |= VIR_MIGRATE_AUTO_CONVERGE;
    if (!(opts && (opts->flags & HV_MIGRATE_OFFLINE))) {
        flags |= VIR_MIGRATE_LIVE;
        if ((rc = check_plan_eligibility(vm)) < 0)
            return rc;
    } else {
        flags |= VIR_MIGRATE_OFFLINE;
    }
    if (opts && opts->bandwidth_mib_per_s &&
        virTypedParamsAddULLong(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_BANDWIDTH,
                                opts->bandwidth_mib_per_s) < 0)
        return hv_libvirt_error("preparing the migration");
    if (opts && opts->max_downtime_ms &&
        virDomainMigrateSetMaxDowntime(vm->dom, opts->max_downtime_ms, 0) < 0) {
        virTypedParamsFree(params, nparams);
        return hv_libvirt_error("setting the maximum downtime");
    }
    rc = virDomainMigrateToURI3(vm->dom, dest, params, (unsigned int)nparams, flags);
    virTypedParamsFree(params, nparams);
    return rc < 0 ? hv_libvirt_error("migrating the domain") : 0;
}

/* Linked clones (clone.c); the other modes are the built-in engine's. */
static int lv_vm_clone(void *data, size_t count, const hv_vm_clone_options *opts, void **out)
{
    lv_vm *vm = data;
    virDomainPtr *doms;
    size_t i = 0;
    int rc;

    if (opts->mode != HV_VM_CLONE_LINKED)
        return hv_error_set(HV_E_UNSUPPORTED, "mode",
                            "the libvirt backend makes linked clones (HV_VM_CLONE_LINKED, "
                            "--mode linked: qcow2 overlays on the parent's disks); instant, full "
                            "and cold clones are the built-in engine's (kvm:///)");
    if (opts->channel)
        return hv_error_set(HV_E_UNSUPPORTED, "channel",
                            "the libvirt backend's domains have no channel of hpcvirt's: a "
                            "clone's channel is the built-in engine's (kvm:///, Linux guests)");
    doms = hv_calloc(count, sizeof(*doms));
    if (!doms)
        return HV_E_NOMEM;
    rc = hv_libvirt_clone_linked(vm->c->conn, vm->dom, count, true, opts, doms);
    /* wrap_domain() frees the reference it is given on an error: give it one of its own */
    for (; rc == 0 && i < count; i++)
        if (virDomainRef(doms[i]) < 0 || (rc = wrap_domain(vm->c, doms[i], &out[i])) < 0)
            rc = rc < 0 ? rc : hv_libvirt_error("keeping the clone");
    if (rc < 0) {
        for (size_t j = 0; j + 1 < i; j++) {
            lv_vm_release(out[j]);
            out[j] = NULL;
        }
        hv_libvirt_clone_discard(doms, count);
    } else {
        for (i = 0; i < count; i++)
            virDomainFree(doms[i]);
    }
    free(doms);
    return rc;
}

virDomainPtr hv_libvirt_domain(void *vm_data)
{
    return vm_data ? ((lv_vm *)vm_data)->dom : NULL;
}

const hv_backend hv_libvirt_backend = {
    .version = HV_BACKEND_VERSION,
    .name = "libvirt",
    .scheme = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .host = lv_host,
    .list_vms = lv_list_vms,
    .vm_create = lv_vm_create,
    .vm_lookup = lv_vm_lookup,
    .vm_release = lv_vm_release,
    .vm_name = lv_vm_name,
    .vm_start = lv_vm_start,
    .vm_pause = lv_vm_pause,
    .vm_resume = lv_vm_resume,
    .vm_stop = lv_vm_stop,
    .vm_destroy = lv_vm_destroy,
    .vm_undefine = lv_vm_undefine,
    .vm_state = lv_vm_state,
    .vm_suspend = lv_vm_suspend,
    .vm_resume_from = lv_vm_resume_from,
    .vm_managed_save = lv_vm_managed_save,
    .vm_has_managed_save = lv_vm_has_managed_save,
    .vm_snapshot_create = lv_vm_snapshot_create,
    .vm_snapshot_revert = lv_vm_snapshot_revert,
    .vm_snapshot_delete = lv_vm_snapshot_delete,
    .vm_snapshot_list = lv_vm_snapshot_list,
    .vm_migrate = lv_vm_migrate,
    .vm_clone = lv_vm_clone,
};
