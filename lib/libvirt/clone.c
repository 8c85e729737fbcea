/*
 * libvirt/clone.c - linked clones (HV_VM_CLONE_LINKED): new domains from
 * a shut-off parent's definition, each with a new name, a UUID and MAC
 * addresses libvirt generates, and each writable file disk a qcow2 overlay
 * (qemu-img, host/disk.c) backed by the parent's image, which becomes a
 * read-only template. A parent suspended with a managed save image (the QEMU
 * driver on this host) gives each clone a copy of that image naming the
 * clone (save-image.c), so the clone starts from the parent's memory. Or
 * the clones are made from one of the parent's external snapshots (running
 * or not): the definition it kept, overlays on the images it froze, and its
 * memory file, when it has one, copied as each clone's save image. A
 * parent with devices passed through is refused with its plan's reason; a
 * running one without a snapshot, because it would go on writing the
 * templates; an internal snapshot, because its state is inside the images.
 * All or nothing: what one call made is removed when a later clone fails.
 */
#include "libvirt/clone.h"
#include "libvirt/error.h"
#include "libvirt/metadata.h"
#include "libvirt/save-image.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"
#include "host/disk.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OVERLAYS 64 /* writable disks of one clone (a spec has at most 16) */
#define NAME_BYTES   65 /* a spec's longest name (64 bytes) and its NUL */

static xmlDocPtr parse(const char *xml)
{
    return xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlNodePtr child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr k = node ? node->children : NULL; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && xmlStrEqual(k->name, BAD_CAST name))
            return k;
    return NULL;
}

static bool prop_is(xmlNodePtr node, const char *name, const char *value)
{
    xmlChar *v = xmlGetProp(node, BAD_CAST name);
    bool is = v && xmlStrEqual(v, BAD_CAST value);

    xmlFree(v);
    return is;
}

/* A file disk the domain writes (not read-only, not shared): an overlay's place. */
static bool writable_file_disk(xmlNodePtr d)
{
    return d->type == XML_ELEMENT_NODE && xmlStrEqual(d->name, BAD_CAST "disk") &&
           prop_is(d, "type", "file") && prop_is(d, "device", "disk") && !child(d, "readonly") &&
           !child(d, "shareable") && child(d, "source");
}

/* The image a writable file disk writes (xmlFree() it), or NULL for any other device. */
static xmlChar *written_file(xmlNodePtr d)
{
    return writable_file_disk(d) ? xmlGetProp(child(d, "source"), BAD_CAST "file") : NULL;
}

/* A device passed through: <hostdev> (PCI, mdev, ...) or <interface type='hostdev'>. */
static bool passed_through(xmlNodePtr d)
{
    return d->type == XML_ELEMENT_NODE &&
           (xmlStrEqual(d->name, BAD_CAST "hostdev") ||
            (xmlStrEqual(d->name, BAD_CAST "interface") && prop_is(d, "type", "hostdev")));
}

/* The parent's refusal: a device passed through, with its plan's reason where it has one. */
static int refuse_passthrough(virDomainPtr parent, const char *name)
{
    char *meta = virDomainGetMetadata(parent, VIR_DOMAIN_METADATA_ELEMENT, HV_LIBVIRT_PLAN_NS,
                                      VIR_DOMAIN_AFFECT_CONFIG);
    char quoted[HV_QUOTE_SIZE], reason[HV_LIBVIRT_REASON_MAX + 16];
    hv_libvirt_verdict verdict = {0};

    if (meta)
        hv_libvirt_metadata_verdict(meta, &verdict);
    else
        virResetLastError();
    free(meta);
    return hv_error_set(HV_E_UNSUPPORTED, NULL,
                        "%s cannot be cloned: %s; a linked clone shares the parent's disks, not "
                        "devices passed through to one VM: define the clones from a spec without "
                        "them",
                        hv_quote(quoted, sizeof(quoted), name),
                        verdict.found && !verdict.live && verdict.reason[0]
                            ? hv_quote(reason, sizeof(reason), verdict.reason)
                            : "it has a device passed through (<hostdev>)");
}

/* "<parent>-linkedN" with the first N from 1 that names no domain on the connection. */
static void clone_name(virConnectPtr conn, const char *parent, unsigned long *next, char *out)
{
    for (;; ++*next) {
        virDomainPtr taken;

        hv_format(out, NAME_BYTES, "%.*s-linked%lu",
                  (int)hv_utf8_trim_partial(parent, strnlen(parent, 40)), parent, *next);
        taken = virDomainLookupByName(conn, out);
        if (!taken) {
            virResetLastError();
            ++*next;
            return;
        }
        virDomainFree(taken);
    }
}

/* Clone i's name (0-based) from the caller's names or pattern; HV_E_EXISTS when it is taken. */
static int given_name(virConnectPtr conn, const hv_vm_clone_options *opts, size_t i, char *out)
{
    char quoted[HV_QUOTE_SIZE];
    virDomainPtr taken;

    if (opts->names)
        hv_format(out, NAME_BYTES, "%s", opts->names[i]);
    else if (!hv_text_expand_index(opts->name_pattern, (uint64_t)i + 1, out, NAME_BYTES))
        return hv_error_set(HV_E_INVAL, "name_pattern",
                            "name_pattern gives clone %zu a name longer than %d bytes", i + 1,
                            NAME_BYTES - 1);
    taken = virDomainLookupByName(conn, out);
    if (!taken) {
        virResetLastError();
        return 0;
    }
    virDomainFree(taken);
    return hv_error_set(HV_E_EXISTS, NULL,
                        "a domain named '%s' exists already on this connection: name the clones "
                        "otherwise",
                        hv_quote(quoted, sizeof(quoted), out));
}

/* The images this clone writes: its writable file disks' sources. */
static void remove_overlays(const char *xml)
{
    xmlDocPtr doc = parse(xml);
    xmlNodePtr devices = doc ? child(xmlDocGetRootElement(doc), "devices") : NULL;

    for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next) {
        xmlChar *file = written_file(d);

        if (file)
            unlink((const char *)file);
        xmlFree(file);
    }
    xmlFreeDoc(doc);
}

void hv_libvirt_clone_discard(virDomainPtr *clones, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char *xml;

        if (!clones[i])
            continue;
        if (virDomainIsActive(clones[i]) == 1)
            virDomainDestroy(clones[i]);
        xml = virDomainGetXMLDesc(clones[i], VIR_DOMAIN_XML_INACTIVE);
        if (xml)
            remove_overlays(xml);
        free(xml);
        virDomainUndefineFlags(clones[i], VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                              VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
        virResetLastError();
        virDomainFree(clones[i]);
        clones[i] = NULL;
    }
}

/* The directory part of `path` ("." for none) into out. */
static void dir_of(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        hv_format(out, size, ".");
    else
        hv_format(out, size, "%.*s", (int)(slash == path ? 1 : slash - path), path);
}

/*
 * Turn the parent's document into clone `name`'s: the name set, the UUID,
 * MAC addresses and NVRAM path dropped (libvirt makes new ones), each
 * writable file disk pointed at a new overlay. The overlays made are named
 * in made[0..*nmade-1] (hv_free() them), also on an error.
 */
/*
 * The clone's identity as an SMBIOS OEM string ("hpcvirt.identity=TEXT", in
 * the domain's <sysinfo type='smbios'>, which <os><smbios mode='sysinfo'/>
 * hands to the guest), after the parent's own OEM strings.
 */
static int add_identity(xmlNodePtr root, const char *identity)
{
    xmlNodePtr sysinfo = NULL, oem, os = child(root, "os"), smbios, entry;
    char *text;

    for (xmlNodePtr k = root->children; k && !sysinfo; k = k->next)
        if (k->type == XML_ELEMENT_NODE && xmlStrEqual(k->name, BAD_CAST "sysinfo") &&
            prop_is(k, "type", "smbios"))
            sysinfo = k;
    if (!sysinfo && !(sysinfo = xmlNewChild(root, NULL, BAD_CAST "sysinfo", NULL)))
        return HV_E_NOMEM;
    xmlSetProp(sysinfo, BAD_CAST "type", BAD_CAST "smbios");
    if (!(oem = child(sysinfo, "oemStrings")) &&
        !(oem = xmlNewChild(sysinfo, NULL, BAD_CAST "oemStrings", NULL)))
        return HV_E_NOMEM;
    if (!(text = hv_asprintf("hpcvirt.identity=%s", identity)))
        return HV_E_NOMEM;
    /* xmlNewTextChild escapes what it is given */
    entry = xmlNewTextChild(oem, NULL, BAD_CAST "entry", BAD_CAST text);
    hv_free(text);
    if (!entry)
        return HV_E_NOMEM;
    if (!os)
        return 0;
    if (!(smbios = child(os, "smbios")) &&
        !(smbios = xmlNewChild(os, NULL, BAD_CAST "smbios", NULL)))
        return HV_E_NOMEM;
    xmlSetProp(smbios, BAD_CAST "mode", BAD_CAST "sysinfo");
    return 0;
}

static int rewrite(xmlDocPtr doc, const char *name, const char *identity, char **made,
                   size_t *nmade)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), n, devices = child(root, "devices");
    int irc;

    xmlNodeSetContent(child(root, "name"), BAD_CAST name);
    if (identity && (irc = add_identity(root, identity)) < 0)
        return irc;
    if ((n = child(root, "uuid"))) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    if ((n = child(child(root, "os"), "nvram"))) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next) {
        xmlNodePtr source, target, driver;
        xmlChar *file, *dev, *format;
        char dir[4096], *overlay;
        int rc;

        if (d->type == XML_ELEMENT_NODE && xmlStrEqual(d->name, BAD_CAST "interface") &&
            (n = child(d, "mac"))) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
        if (!writable_file_disk(d))
            continue;
        source = child(d, "source");
        target = child(d, "target");
        driver = child(d, "driver");
        file = xmlGetProp(source, BAD_CAST "file");
        dev = target ? xmlGetProp(target, BAD_CAST "dev") : NULL;
        format = driver ? xmlGetProp(driver, BAD_CAST "type") : NULL;
        if (!file || *nmade == MAX_OVERLAYS) {
            xmlFree(file);
            xmlFree(dev);
            xmlFree(format);
            if (!file)
                continue;
            return hv_error_set(HV_E_RANGE, NULL, "%s would need more than %d overlays", name,
                                MAX_OVERLAYS);
        }
        dir_of((const char *)file, dir, sizeof(dir));
        overlay = hv_asprintf("%s/%s-%s.qcow2", dir, name, dev ? (const char *)dev : "disk");
        rc = overlay ? hv_host_disk_overlay((const char *)file,
                                            format ? (const char *)format : "raw", overlay)
                     : HV_E_NOMEM;
        xmlFree(file);
        xmlFree(dev);
        xmlFree(format);
        if (rc < 0) {
            hv_free(overlay);
            return rc;
        }
        made[(*nmade)++] = overlay;
        xmlSetProp(source, BAD_CAST "file", BAD_CAST overlay);
        if (!driver) {
            driver = xmlNewNode(NULL, BAD_CAST "driver");
            xmlSetProp(driver, BAD_CAST "name", BAD_CAST "qemu");
            xmlAddPrevSibling(source, driver);
        }
        xmlSetProp(driver, BAD_CAST "type", BAD_CAST "qcow2");
        if ((n = child(d, "backingStore"))) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
    return 0;
}

/* Start a clone, paused if asked (drivers without VIR_DOMAIN_START_PAUSED: started, then paused).
 */
static int start_clone(virDomainPtr dom, bool paused)
{
    virErrorPtr e;

    if (virDomainCreateWithFlags(dom, paused ? VIR_DOMAIN_START_PAUSED : 0) == 0)
        return 0;
    e = virGetLastError();
    if (!paused || !e || e->code != VIR_ERR_INVALID_ARG)
        return -1;
    virResetLastError();
    if (virDomainCreate(dom) < 0)
        return -1;
    return virDomainSuspend(dom);
}

/* Replace `root`'s child element `name` (the first) with a copy of `from`'s, or remove it. */
static int take_child(xmlNodePtr root, xmlNodePtr from, const char *name)
{
    xmlNodePtr have = child(root, name), want = child(from, name), copy;

    if (have) {
        xmlUnlinkNode(have);
        xmlFreeNode(have);
    }
    if (!want)
        return 0;
    if (!(copy = xmlCopyNode(want, 1)) || !xmlAddChild(root, copy)) {
        xmlFreeNode(copy);
        return HV_E_NOMEM;
    }
    return 0;
}

/* The disk of `devices` whose target is `dev`, or NULL. */
static xmlNodePtr disk_with_target(xmlNodePtr devices, const xmlChar *dev)
{
    for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next) {
        xmlNodePtr target = writable_file_disk(d) ? child(d, "target") : NULL;
        xmlChar *t = target ? xmlGetProp(target, BAD_CAST "dev") : NULL;
        bool same = t && xmlStrEqual(t, dev);

        xmlFree(t);
        if (same)
            return d;
    }
    return NULL;
}

/*
 * The parent's saved domain XML made clone `dom`'s: its name and UUID, each
 * writable disk on the clone's overlay (found by its target), the clone's
 * NVRAM and SMBIOS identity; the devices and everything else as they were
 * saved (the stream describes them). Written as the clone's managed save
 * image, DIR/NAME.save, into *written.
 */
static int write_clone_image(virDomainPtr dom, const hv_libvirt_save_image *image,
                             const char *save_dir, const char *name, char **written)
{
    char *clone_xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    xmlDocPtr saved = parse(image->xml), mine = clone_xml ? parse(clone_xml) : NULL;
    xmlNodePtr root = saved ? xmlDocGetRootElement(saved) : NULL,
               clone_root = mine ? xmlDocGetRootElement(mine) : NULL;
    char uuid[VIR_UUID_STRING_BUFLEN], quoted[HV_QUOTE_SIZE], *path = NULL;
    xmlChar *xml = NULL;
    int len = 0, rc = 0;

    free(clone_xml);
    if (!root || !clone_root || virDomainGetUUIDString(dom, uuid) < 0) {
        rc = hv_error_set(HV_E_BACKEND, NULL, "the saved or the clone's domain XML does not parse");
        goto out;
    }
    xmlNodeSetContent(child(root, "name"), BAD_CAST name);
    if (!child(root, "uuid"))
        xmlNewChild(root, NULL, BAD_CAST "uuid", NULL);
    xmlNodeSetContent(child(root, "uuid"), BAD_CAST uuid);
    for (xmlNodePtr d = child(root, "devices") ? child(root, "devices")->children : NULL;
         d && rc == 0; d = d->next) {
        xmlNodePtr target = writable_file_disk(d) ? child(d, "target") : NULL, theirs, n;
        xmlChar *dev = target ? xmlGetProp(target, BAD_CAST "dev") : NULL, *file;

        if (!target)
            continue;
        theirs = dev ? disk_with_target(child(clone_root, "devices"), dev) : NULL;
        file = theirs ? xmlGetProp(child(theirs, "source"), BAD_CAST "file") : NULL;
        if (!file) {
            rc = hv_error_set(HV_E_UNSUPPORTED, NULL,
                              "the parent was saved with disk %s, which its definition no longer "
                              "has as a writable file disk: its clones cannot start from that "
                              "memory state",
                              hv_quote(quoted, sizeof(quoted), dev ? (const char *)dev : "?"));
        } else {
            xmlSetProp(child(d, "source"), BAD_CAST "file", file);
            if (!(n = child(d, "driver")))
                n = xmlNewChild(d, NULL, BAD_CAST "driver", NULL);
            xmlSetProp(n, BAD_CAST "name", BAD_CAST "qemu");
            xmlSetProp(n, BAD_CAST "type", BAD_CAST "qcow2");
            if ((n = child(d, "backingStore"))) {
                xmlUnlinkNode(n);
                xmlFreeNode(n);
            }
        }
        xmlFree(file);
        xmlFree(dev);
    }
    if (rc == 0 && child(root, "os") && child(clone_root, "os"))
        rc = take_child(child(root, "os"), child(clone_root, "os"), "nvram");
    if (rc == 0 && child(root, "os") && child(clone_root, "os"))
        rc = take_child(child(root, "os"), child(clone_root, "os"), "smbios");
    if (rc == 0)
        rc = take_child(root, clone_root, "sysinfo");
    if (rc == 0) {
        xmlDocDumpMemory(saved, &xml, &len);
        if (!xml)
            rc = HV_E_NOMEM;
    }
    if (rc == 0 && !(path = hv_asprintf("%s/%s.save", save_dir, name)))
        rc = HV_E_NOMEM;
    if (rc == 0)
        rc = hv_libvirt_save_image_write_as(image, (const char *)xml, path);
    if (rc == 0) {
        *written = path;
        path = NULL;
    }
out:
    free(path);
    xmlFree(xml);
    xmlFreeDoc(saved);
    xmlFreeDoc(mine);
    return rc;
}

/*
 * Define (and start) clone `name` from the parent's XML; *out the domain.
 * With `image` (the parent's managed save image), the clone gets its copy as
 * its own managed save image, in save_dir: it starts from the parent's memory.
 */
static int make_one(virConnectPtr conn, const char *parent_xml, const char *name,
                    const char *identity, bool start, bool paused,
                    const hv_libvirt_save_image *image, const char *save_dir, virDomainPtr *out)
{
    char *written = NULL;
    bool removed = false;
    xmlDocPtr doc = parse(parent_xml);
    char *made[MAX_OVERLAYS];
    size_t nmade = 0;
    xmlChar *xml = NULL;
    int len = 0, rc;

    if (!doc)
        return hv_error_set(HV_E_BACKEND, NULL, "libvirt gave domain XML that does not parse");
    rc = rewrite(doc, name, identity, made, &nmade);
    if (rc == 0) {
        xmlDocDumpMemory(doc, &xml, &len);
        if (!xml)
            rc = HV_E_NOMEM;
    }
    xmlFreeDoc(doc);
    if (rc == 0 && !(*out = virDomainDefineXML(conn, (const char *)xml)))
        rc = hv_libvirt_error("defining the linked clone");
    xmlFree(xml);
    if (rc == 0 && image && (rc = write_clone_image(*out, image, save_dir, name, &written)) < 0) {
        hv_libvirt_clone_discard(out, 1);
        removed = true; /* the overlays with the domain */
    }
    if (rc == 0 && start && start_clone(*out, paused) < 0) {
        rc = hv_libvirt_error(image ? "starting the linked clone from the parent's memory"
                                    : "starting the linked clone");
        hv_libvirt_clone_discard(out, 1);
        removed = true;
    }
    if (written && rc < 0)
        unlink(written); /* the domain it was for is gone */
    free(written);
    for (size_t i = 0; i < nmade; i++) {
        if (rc < 0 && !removed)
            unlink(made[i]);
        hv_free(made[i]);
    }
    return rc;
}

/*
 * What the clones are made from: a definition (the parent's now, or the one
 * its snapshot kept) and, where they start from memory, that memory's save
 * image (checked) with the folder their own images go to.
 */
typedef struct clone_source {
    char *xml;
    hv_libvirt_save_image image; /* .xml NULL: the clones boot afresh */
    char save_dir[4096];
} clone_source;

static void clone_source_free(clone_source *src)
{
    hv_free(src->xml);
    src->xml = NULL;
    hv_libvirt_save_image_close(&src->image);
}

/*
 * src->save_dir: where the clones' own save images go, the folder of the
 * driver's managed save images (`what` holds the parent's memory).
 */
static int find_save_dir(virConnectPtr conn, const char *parent_name, const char *what,
                         clone_source *src)
{
    char quoted[HV_QUOTE_SIZE];
    int rc = hv_libvirt_managed_save_dir(conn, src->save_dir, sizeof(src->save_dir));

    if (rc < 0)
        return hv_error_set(
            rc, NULL, "the clones of '%s' would start from the memory in %s, but %s",
            hv_quote(quoted, sizeof(quoted), parent_name), what, hv_error_message(hv_error_last()));
    return 0;
}

/*
 * Open and check the save image at `path` (`what`: "its managed save image",
 * "the memory file of snapshot 'x'"), the parent's memory: it names the
 * parent (its name and UUID), and it has no network interface (a NIC's MAC
 * address is in its saved device state: every clone would carry the
 * parent's).
 */
static int open_memory_image(virDomainPtr parent, const char *parent_name, const char *path,
                             const char *what, clone_source *src)
{
    char quoted[HV_QUOTE_SIZE], uuid[VIR_UUID_STRING_BUFLEN];
    xmlDocPtr doc;
    xmlNodePtr root, devices;
    xmlChar *saved_name = NULL, *saved_uuid = NULL;
    int rc;

    if ((rc = hv_libvirt_save_image_open(path, &src->image)) < 0)
        return rc;
    doc = parse(src->image.xml);
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    devices = child(root, "devices");
    if (root) {
        saved_name = xmlNodeGetContent(child(root, "name"));
        saved_uuid = xmlNodeGetContent(child(root, "uuid"));
    }
    if (virDomainGetUUIDString(parent, uuid) < 0)
        rc = hv_libvirt_error("reading the parent's UUID");
    else if (!saved_name || !saved_uuid || !xmlStrEqual(saved_name, BAD_CAST parent_name) ||
             !xmlStrEqual(saved_uuid, BAD_CAST uuid))
        rc = hv_error_set(HV_E_SNAPSHOT, NULL,
                          "%s of '%s' names another domain (or none): it cannot be the parent's "
                          "memory",
                          what, hv_quote(quoted, sizeof(quoted), parent_name));
    for (xmlNodePtr d = devices ? devices->children : NULL; d && rc == 0; d = d->next)
        if (d->type == XML_ELEMENT_NODE && xmlStrEqual(d->name, BAD_CAST "interface"))
            rc = hv_error_set(HV_E_UNSUPPORTED, NULL,
                              "'%s' was saved with a network interface (%s): its MAC address is "
                              "part of the saved device state, so every clone started from that "
                              "memory would carry the parent's: clone it shut off, without its "
                              "memory (its clones boot with MAC addresses of their own)",
                              hv_quote(quoted, sizeof(quoted), parent_name), what);
    xmlFree(saved_name);
    xmlFree(saved_uuid);
    xmlFreeDoc(doc);
    if (rc < 0)
        hv_libvirt_save_image_close(&src->image);
    return rc;
}

/* The parent as it is: shut off, its definition, its managed save image where it has one. */
static int from_parent(virConnectPtr conn, virDomainPtr parent, const char *parent_name,
                       clone_source *src)
{
    char quoted[HV_QUOTE_SIZE], *path;
    int rc;

    if (virDomainIsActive(parent) == 1)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s is running: its disks become the read-only templates of its linked "
                            "clones, so it must not be writing them: shut it down (hv_vm_stop, "
                            "hpcvirt stop) and clone it then, or clone one of its external "
                            "snapshots (hv_vm_clone_options.snapshot, --snapshot)",
                            hv_quote(quoted, sizeof(quoted), parent_name));
    if (virDomainHasManagedSaveImage(parent, 0) == 1) {
        if ((rc = find_save_dir(conn, parent_name, "its managed save image", src)) < 0)
            return rc;
        if (!(path = hv_asprintf("%s/%s.save", src->save_dir, parent_name)))
            return HV_E_NOMEM;
        rc = open_memory_image(parent, parent_name, path, "its managed save image", src);
        free(path);
        if (rc < 0)
            return rc;
    }
    virResetLastError();
    if (!(src->xml = virDomainGetXMLDesc(parent, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE)))
        return hv_libvirt_error("reading the parent's definition");
    return 0;
}

/* Whether `file` is the source of a writable disk in `doc` (a domain's XML; NULL: none). */
static bool writes_file(xmlDocPtr doc, const xmlChar *file)
{
    xmlNodePtr devices = doc ? child(xmlDocGetRootElement(doc), "devices") : NULL;
    bool writes = false;

    for (xmlNodePtr d = devices ? devices->children : NULL; d && !writes; d = d->next) {
        xmlChar *source = written_file(d);

        writes = source && xmlStrEqual(source, file);
        xmlFree(source);
    }
    return writes;
}

/* The parent's domain XML, parsed (NULL when unreadable): its definition, or (live) what it runs
 * now. */
static xmlDocPtr parent_doc(virDomainPtr parent, bool live)
{
    char *xml = virDomainGetXMLDesc(parent, live ? 0 : VIR_DOMAIN_XML_INACTIVE);
    xmlDocPtr doc = xml ? parse(xml) : NULL;

    free(xml);
    virResetLastError();
    return doc;
}

/*
 * The definition snapshot `root` kept (<inactiveDomain>, else <domain>),
 * checked: each writable file disk's image is one the parent no longer
 * writes, in its definition or live (an external snapshot put an overlay on
 * it). Into src->xml.
 */
static int snapshot_definition(virDomainPtr parent, xmlDocPtr doc, xmlNodePtr root,
                               const char *what, clone_source *src)
{
    xmlNodePtr def = child(root, "inactiveDomain"), devices;
    xmlDocPtr now[2];
    char quoted[HV_QUOTE_SIZE];
    xmlBufferPtr buf;
    int rc = 0;

    if (!def)
        def = child(root, "domain");
    if (!def)
        return hv_error_set(HV_E_BACKEND, NULL,
                            "libvirt gave %s without the domain definition it kept", what);
    devices = child(def, "devices");
    now[0] = parent_doc(parent, false);
    now[1] = virDomainIsActive(parent) == 1 ? parent_doc(parent, true) : NULL;
    for (xmlNodePtr d = devices ? devices->children : NULL; d && rc == 0; d = d->next) {
        xmlChar *file = written_file(d);

        if (file && (writes_file(now[0], file) || writes_file(now[1], file)))
            rc = hv_error_set(HV_E_STATE, NULL,
                              "%s left the parent writing '%s' (that disk was not snapshotted "
                              "externally): clones backed by it would see it change; snapshot "
                              "every writable disk (--diskspec DISK,snapshot=external)",
                              what, hv_quote(quoted, sizeof(quoted), (const char *)file));
        xmlFree(file);
    }
    xmlFreeDoc(now[0]);
    xmlFreeDoc(now[1]);
    if (rc < 0)
        return rc;
    xmlNodeSetName(def, BAD_CAST "domain");
    if (!(buf = xmlBufferCreate()))
        return HV_E_NOMEM;
    if (xmlNodeDump(buf, doc, def, 0, 0) < 0 ||
        !(src->xml = hv_strdup((const char *)xmlBufferContent(buf))))
        rc = HV_E_NOMEM;
    xmlBufferFree(buf);
    return rc;
}

/*
 * The parent's snapshot `name`: an external one (its disks' images frozen
 * under overlays), its definition, and its memory file where it has one.
 * An internal snapshot is refused: its state is inside the parent's qcow2
 * images, which the overlays of clones cannot reach.
 */
static int from_snapshot(virConnectPtr conn, virDomainPtr parent, const char *parent_name,
                         const char *name, clone_source *src)
{
    virDomainSnapshotPtr snap = virDomainSnapshotLookupByName(parent, name, 0);
    char quoted[HV_QUOTE_SIZE], vm[HV_QUOTE_SIZE], what[HV_QUOTE_SIZE + 32], *xml;
    xmlDocPtr doc;
    xmlNodePtr root, memory, disks;
    xmlChar *file = NULL;
    bool internal;
    int rc;

    hv_quote(quoted, sizeof(quoted), name);
    hv_quote(vm, sizeof(vm), parent_name);
    if (!snap) {
        rc = hv_libvirt_error("finding the snapshot");
        if (rc == HV_E_NOTFOUND)
            hv_error_set(rc, "snapshot",
                         "'%s' has no snapshot named '%s' ('hpcvirt snapshot %s list' lists "
                         "them)",
                         vm, quoted, vm);
        return rc;
    }
    xml = virDomainSnapshotGetXMLDesc(snap, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
    virDomainSnapshotFree(snap);
    if (!xml)
        return hv_libvirt_error("reading the snapshot");
    doc = parse(xml);
    free(xml);
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return hv_error_set(HV_E_BACKEND, NULL, "libvirt gave snapshot XML that does not parse");
    }
    memory = child(root, "memory");
    disks = child(root, "disks");
    internal = memory && prop_is(memory, "snapshot", "internal");
    for (xmlNodePtr d = disks ? disks->children : NULL; d && !internal; d = d->next)
        internal = d->type == XML_ELEMENT_NODE && prop_is(d, "snapshot", "internal");
    hv_format(what, sizeof(what), "snapshot '%s'", quoted);
    if (internal)
        rc = hv_error_set(HV_E_UNSUPPORTED, "snapshot",
                          "snapshot '%s' of '%s' is internal: its disk and memory state is kept "
                          "inside the parent's qcow2 images, which the overlays of clones cannot "
                          "reach; take an external snapshot (virsh snapshot-create-as %s NAME "
                          "--memspec file=PATH,snapshot=external --diskspec "
                          "DISK,snapshot=external) and clone that",
                          quoted, vm, vm);
    else
        rc = snapshot_definition(parent, doc, root, what, src);
    if (rc == 0 && memory && prop_is(memory, "snapshot", "external") &&
        (file = xmlGetProp(memory, BAD_CAST "file"))) {
        hv_format(what, sizeof(what), "the memory file of snapshot '%s'", quoted);
        if ((rc = find_save_dir(conn, parent_name, what, src)) == 0)
            rc = open_memory_image(parent, parent_name, (const char *)file, what, src);
    }
    xmlFree(file);
    xmlFreeDoc(doc);
    return rc;
}

int hv_libvirt_clone_linked(virConnectPtr conn, virDomainPtr parent, size_t count, bool start,
                            const hv_vm_clone_options *opts, virDomainPtr *out)
{
    bool paused = (opts->flags & HV_VM_CLONE_PAUSED) != 0;
    const char *parent_name = virDomainGetName(parent);
    char name[NAME_BYTES];
    clone_source src = {.image = {.fd = -1}};
    unsigned long next = 1;
    xmlDocPtr doc;
    xmlNodePtr devices;
    int rc;

    rc = opts->snapshot ? from_snapshot(conn, parent, parent_name, opts->snapshot, &src)
                        : from_parent(conn, parent, parent_name, &src);
    if (rc < 0) {
        clone_source_free(&src);
        return rc;
    }
    doc = parse(src.xml);
    devices = doc ? child(xmlDocGetRootElement(doc), "devices") : NULL;
    for (xmlNodePtr d = devices ? devices->children : NULL; d && rc == 0; d = d->next)
        if (passed_through(d))
            rc = refuse_passthrough(parent, parent_name);
    xmlFreeDoc(doc);
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (opts->names || opts->name_pattern)
            rc = given_name(conn, opts, i, name);
        else
            clone_name(conn, parent_name, &next, name);
        if (rc == 0)
            rc = make_one(conn, src.xml, name, opts->identities ? opts->identities[i] : NULL, start,
                          paused, src.image.xml ? &src.image : NULL, src.save_dir, &out[i]);
        if (rc == 0 && opts->progress)
            opts->progress(opts->progress_data, i + 1, count);
    }
    clone_source_free(&src);
    if (rc < 0)
        hv_libvirt_clone_discard(out, count);
    return rc;
}
