/*
 * libvirt/capabilities.c - a host from libvirt capabilities XML: CPUs with
 * their sockets, dies, cores and cells; NUMA cells with memory, huge page
 * pools and distances. The XML is turned into a host JSON document
 * (docs/host-json.md) and read by hv_host_from_json(), so hosts from
 * libvirt get exactly the checks local ones get.
 */
#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <hpcvirt/libvirt.h>

static bool attr_long(xmlNodePtr node, const char *name, long min, long max, long *out)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    char *end;
    long n;
    bool ok;

    if (!v)
        return false;
    errno = 0;
    n = strtol((const char *)v, &end, 10);
    ok = !errno && end != (char *)v && !*end && n >= min && n <= max;
    xmlFree(v);
    if (ok)
        *out = n;
    return ok;
}

static bool content_u64(xmlNodePtr node, uint64_t *out)
{
    xmlChar *v = xmlNodeGetContent(node);
    char *end;
    unsigned long long n;
    bool ok;

    if (!v)
        return false;
    errno = 0;
    n = strtoull((const char *)v, &end, 10);
    ok = !errno && end != (char *)v && !*end && *v != '-';
    xmlFree(v);
    if (ok)
        *out = n;
    return ok;
}

static xmlNodePtr child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *)name))
            return c;
    return NULL;
}

#define FOR_CHILDREN(c, node, nm)                                                                  \
    for (xmlNodePtr c = (node) ? (node)->children : NULL; c; c = c->next)                          \
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, (const xmlChar *)(nm)))

static int bad(const char *where, const char *what)
{
    return hv_error_set(HV_E_PARSE, where, "libvirt capabilities: %s %s", where, what);
}

/* The <cell> elements as numa_nodes[], their CPUs into cpus_list[]. */
static int cells_to_json(xmlNodePtr cells, json_object *nodes, json_object *cpus_list,
                         uint64_t *total)
{
    size_t ncells = 0, index = 0;

    FOR_CHILDREN(cell, cells, "cell")
    ncells++;
    FOR_CHILDREN(cell, cells, "cell")
    {
        json_object *n = json_object_new_object(), *dist = json_object_new_array();
        json_object *pages = json_object_new_array();
        char where[64], cpulist[8192] = "";
        long id;
        uint64_t kib = 0;
        int rc = 0;

        snprintf(where, sizeof(where), "cell[%zu]", index++);
        if (!n || !dist || !pages) {
            json_object_put(n);
            json_object_put(dist);
            json_object_put(pages);
            return hv_error_nomem();
        }
        rc |= hv_json_add(n, "distances", dist);
        if (!attr_long(cell, "id", 0, 1023, &id) || !content_u64(child(cell, "memory"), &kib) ||
            kib > UINT64_MAX / 1024) {
            json_object_put(n); /* and dist, added to it */
            json_object_put(pages);
            return bad(where, "needs an id (0-1023) and a <memory> in KiB");
        }
        rc |= hv_json_add_int(n, "id", id);
        rc |= hv_json_add_u64(n, "memory_bytes", kib * 1024);
        /* Free memory is not in capabilities: the backend fills it in. */
        rc |= hv_json_add_u64(n, "free_bytes", kib * 1024);
        *total += kib * 1024;
        FOR_CHILDREN(p, cell, "pages")
        {
            long size_kib;
            uint64_t count = 0;

            if (!attr_long(p, "size", 1, 1L << 30, &size_kib) || !content_u64(p, &count))
                continue;
            if (size_kib == 4)
                continue; /* base pages are not a pool */
            {
                json_object *pool = json_object_new_object();

                rc |= pool ? 0 : -1;
                if (pool) {
                    rc |= hv_json_add_u64(pool, "page_bytes", (uint64_t)size_kib * 1024);
                    rc |= hv_json_add_u64(pool, "total", count);
                    rc |= hv_json_add_u64(pool, "free", count);
                    rc |= json_object_array_add(pages, pool) < 0 ? -1 : 0;
                }
            }
        }
        rc |= hv_json_add(n, "hugepages", pages);
        {
            xmlNodePtr d = child(cell, "distances");
            size_t nsib = 0;

            FOR_CHILDREN(s, d, "sibling")
            {
                long value;

                if (!attr_long(s, "value", 0, 255, &value))
                    value = -1;
                rc |= hv_json_array_add_int(dist, value);
                nsib++;
            }
            for (; nsib < ncells; nsib++) /* no SLIT: unknown, local 10 */
                rc |= hv_json_array_add_int(dist, d ? -1 : (nsib == index - 1 ? 10 : -1));
        }
        FOR_CHILDREN(c, child(cell, "cpus"), "cpu")
        {
            json_object *cpu = json_object_new_object();
            long cid, socket = 0, die = 0, core;
            size_t len = strlen(cpulist);

            if (!cpu || !attr_long(c, "id", 0, 8191, &cid)) {
                json_object_put(cpu);
                json_object_put(n);
                return cpu ? bad(where, "has a <cpu> without a valid id") : hv_error_nomem();
            }
            attr_long(c, "socket_id", -1, 1000000, &socket);
            attr_long(c, "die_id", -1, 1000000, &die);
            if (!attr_long(c, "core_id", -1, 1000000, &core))
                core = cid;
            rc |= hv_json_add_int(cpu, "id", cid);
            rc |= hv_json_add_int(cpu, "package", socket);
            rc |= hv_json_add_int(cpu, "die", die);
            rc |= hv_json_add_int(cpu, "core", core);
            rc |= hv_json_add_int(cpu, "node", id);
            rc |= json_object_array_add(cpus_list, cpu) < 0 ? -1 : 0;
            snprintf(cpulist + len, sizeof(cpulist) - len, "%s%ld", len ? "," : "", cid);
        }
        rc |= hv_json_add_string(n, "cpus", cpulist);
        if (json_object_array_add(nodes, n) < 0) {
            json_object_put(n);
            rc = -1;
        }
        if (rc < 0)
            return hv_error_nomem();
    }
    return ncells ? 0 : bad("topology", "has no <cell>");
}

static int compare_cpu_ids(const void *a, const void *b)
{
    int64_t x = 0, y = 0;

    hv_json_get_i64(*(json_object *const *)a, "id", &x);
    hv_json_get_i64(*(json_object *const *)b, "id", &y);
    return (x > y) - (x < y);
}

int hv_host_from_libvirt_capabilities(const char *xml, hv_host **out)
{
    xmlDocPtr doc;
    xmlNodePtr root, host_el, cpu_el, cells;
    json_object *doc_json = NULL, *cpus = NULL, *list = NULL, *nodes = NULL, *memory = NULL;
    uint64_t total = 0;
    char *text = NULL;
    int rc = 0;

    HV_CHECK_ARG(xml, "xml");
    HV_CHECK_ARG(out, "host");
    *out = NULL;
    doc = xmlReadMemory(xml, (int)strlen(xml), "capabilities.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return hv_error_set(HV_E_PARSE, "", "libvirt capabilities are not well-formed XML");
    root = xmlDocGetRootElement(doc);
    host_el = root && xmlStrEqual(root->name, (const xmlChar *)"capabilities") ? child(root, "host")
                                                                               : NULL;
    cpu_el = child(host_el, "cpu");
    cells = child(child(host_el, "topology"), "cells");
    if (!host_el) {
        rc = bad("capabilities", "has no <host>");
        goto out;
    }
    if (!cells) {
        rc = bad("host", "has no <topology><cells>: libvirt did not report the NUMA topology");
        goto out;
    }
    doc_json = json_object_new_object();
    cpus = json_object_new_object();
    list = json_object_new_array();
    nodes = json_object_new_array();
    memory = json_object_new_object();
    if (!doc_json || !cpus || !list || !nodes || !memory) {
        json_object_put(cpus);
        json_object_put(list);
        json_object_put(nodes);
        json_object_put(memory);
        rc = hv_error_nomem();
        goto out;
    }
    rc = cells_to_json(cells, nodes, list, &total);
    if (rc == 0) {
        xmlNodePtr model = child(cpu_el, "model"), vendor = child(cpu_el, "vendor");
        xmlNodePtr maxphys = child(cpu_el, "maxphysaddr");
        xmlChar *m = model ? xmlNodeGetContent(model) : NULL;
        xmlChar *v = vendor ? xmlNodeGetContent(vendor) : NULL;
        long bits = 0;
        bool has_1g = false;

        if (maxphys)
            attr_long(maxphys, "bits", 0, 64, &bits);
        FOR_CHILDREN(p, cpu_el, "pages")
        {
            long size;
            if (attr_long(p, "size", 1, 1L << 30, &size) && size == 1048576)
                has_1g = true;
        }
        /* CPUs sorted by id, as the host document wants */
        json_object_array_sort(list, compare_cpu_ids);
        rc |= hv_json_add_string(cpus, "model", m ? (const char *)m : "");
        rc |= hv_json_add_string(cpus, "vendor", v ? (const char *)v : "");
        rc |= hv_json_add_int(cpus, "phys_addr_bits", bits);
        rc |= hv_json_add_bool(cpus, "has_1g_pages", has_1g);
        rc |= hv_json_add(cpus, "list", list);
        list = NULL;
        xmlFree(m);
        xmlFree(v);
        rc |= hv_json_add_string(doc_json, "root", "libvirt capabilities");
        rc |= hv_json_add(doc_json, "cpus", cpus);
        cpus = NULL;
        rc |= hv_json_add_u64(memory, "total_bytes", total);
        rc |= hv_json_add_u64(memory, "available_bytes", total);
        rc |= hv_json_add(doc_json, "memory", memory);
        memory = NULL;
        rc |= hv_json_add(doc_json, "numa_nodes", nodes);
        nodes = NULL;
        if (rc < 0)
            rc = hv_error_nomem();
    }
    json_object_put(cpus);
    json_object_put(list);
    json_object_put(nodes);
    json_object_put(memory);
    if (rc == 0)
        rc = hv_json_serialize(doc_json, 0, &text);
    if (rc == 0)
        rc = hv_host_from_json(text, out);
out:
    free(text);
    json_object_put(doc_json);
    xmlFreeDoc(doc);
    return rc;
}
