/*
 * host/host-svg.c - a picture of a host as SVG (hv_host_to_svg), like
 * hwloc's lstopo: a card per NUMA node with its CPUs, memory and huge pages
 * and the accelerators and RDMA devices on it, the NUMA distances, and the
 * findings, each marked on the node or device its path names. Pure string
 * building.
 */
#include "host/host.h"
#include "core/format.h"
#include "core/svg.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

#define MARGIN      20
#define CARD_W      420
#define MIN_W       860
#define CARD_HEAD   76
#define DEVICE_H    38
#define DEVICE_STEP 44

typedef struct picture {
    const hv_host *host;
    hv_svg svg;
    bool *about; /* one flag per finding: the findings about the box being drawn */
} picture;

static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
    hv_size_format(bytes, buf, len);
    return buf;
}

/* Whether `name` is one of the components of the file path `path` ("sys/.../node1/meminfo"). */
static bool path_names(const char *path, const char *name)
{
    size_t n = strlen(name);

    if (!n)
        return false;
    for (const char *p = path; (p = strstr(p, name)) != NULL; p++)
        if ((p == path || p[-1] == '/') && (p[n] == '\0' || p[n] == '/'))
            return true;
    return false;
}

/*
 * The findings about a node (`node_id`, name NULL) or a device (`name`, its
 * PCI address or RDMA name); with neither, those about no node or device.
 */
static void find_about(picture *p, int node_id, const char *name, const char *name2)
{
    const hv_host *host = p->host;

    for (size_t i = 0; i < host->findings.count; i++) {
        const char *path = host->findings.items[i].path;
        bool on_something = false;
        char node[24];

        for (size_t n = 0; n < host->nnodes && !on_something; n++) {
            hv_format(node, sizeof(node), "node%d", host->nodes[n].id);
            on_something = path_names(path, node);
        }
        for (size_t a = 0; a < host->naccels && !on_something; a++)
            on_something = path_names(path, hv_accelerator_pci_address(&host->accels[a]));
        for (size_t r = 0; r < host->nrdma && !on_something; r++)
            on_something = path_names(path, hv_rdma_device_name(&host->rdma[r])) ||
                           path_names(path, hv_rdma_device_pci_address(&host->rdma[r]));
        hv_format(node, sizeof(node), "node%d", node_id);
        if (name)
            p->about[i] = path_names(path, name) || (name2 && path_names(path, name2));
        else if (node_id >= 0)
            p->about[i] = path_names(path, node);
        else
            p->about[i] = !on_something;
    }
}

/* The card a device with NUMA node `node` goes in: the node's, else the last ("no node"). */
static size_t card_of(const hv_host *host, int node)
{
    for (size_t i = 0; i < host->nnodes; i++)
        if (host->nodes[i].id == node)
            return i;
    return host->nnodes;
}

static void draw_accelerator(picture *p, size_t index, int x, int y)
{
    const struct hv_accelerator *acc = &p->host->accels[index];
    char lines[2][256], bars[32];
    const char *const texts[] = {lines[0], lines[1]};
    const char *kind = hv_accelerator_kind_name(acc->kind);
    size_t n;

    hv_format(lines[0], sizeof(lines[0]), "%s %s %s", kind, hv_accelerator_pci_address(acc),
              *acc->model        ? acc->model
              : acc->model_owned ? acc->model_owned
                                 : "");
    n = hv_format(lines[1], sizeof(lines[1]), "BARs %s",
                  size_text(acc->bar_total_bytes, bars, sizeof(bars)));
    if (acc->iommu_group >= 0)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", group %d", acc->iommu_group);
    if (acc->driver && *acc->driver)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %s", acc->driver);
    if (acc->link_speed && *acc->link_speed)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %s x%u", acc->link_speed,
                       acc->link_width);
    if (acc->nmdev)
        hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %zu vGPU types", acc->nmdev);
    hv_svg_raw(&p->svg, "<g id=\"accelerator-%zu\">\n", index);
    hv_svg_box(&p->svg, x, y, CARD_W - 20, DEVICE_H, "accelerator", texts, 2);
    find_about(p, -1, hv_accelerator_pci_address(acc), NULL);
    hv_svg_marks(&p->svg, x, y, CARD_W - 20, DEVICE_H, &p->host->findings, p->about);
    hv_svg_raw(&p->svg, "</g>\n");
}

static void draw_rdma(picture *p, size_t index, int x, int y)
{
    const struct hv_rdma_device *dev = &p->host->rdma[index];
    static const char *const links[] = {"", "InfiniBand", "Ethernet (RoCE)"};
    char lines[2][256];
    const char *const texts[] = {lines[0], lines[1]};

    hv_format(lines[0], sizeof(lines[0]), "RDMA %s %s", hv_rdma_device_name(dev),
              hv_rdma_device_pci_address(dev));
    if (dev->nports) {
        const struct hv_rdma_port *port = &dev->ports[0];

        hv_format(lines[1], sizeof(lines[1]), "port %u: %s, %s, %s%s", port->number,
                  hv_rdma_port_state(port), hv_rdma_port_rate(port),
                  port->link_layer > 0 && port->link_layer <= 2 ? links[port->link_layer]
                                                                : "link unknown",
                  dev->nports > 1 ? ", more ports" : "");
    } else {
        hv_format(lines[1], sizeof(lines[1]), "no ports");
    }
    hv_svg_raw(&p->svg, "<g id=\"rdma-%zu\">\n", index);
    hv_svg_box(&p->svg, x, y, CARD_W - 20, DEVICE_H, "rdma", texts, 2);
    find_about(p, -1, hv_rdma_device_name(dev), hv_rdma_device_pci_address(dev));
    hv_svg_marks(&p->svg, x, y, CARD_W - 20, DEVICE_H, &p->host->findings, p->about);
    hv_svg_raw(&p->svg, "</g>\n");
}

/* Card `card` (a node, or the last: devices on no known node) and the devices on it. */
static void draw_card(picture *p, size_t card, int x, int y, int height)
{
    const hv_host *host = p->host;
    const struct hv_host_node *node = card < host->nnodes ? &host->nodes[card] : NULL;
    char lines[4][256] = {"", "", "", ""}, a[32], b[32];
    const char *const texts[] = {lines[0], lines[1], lines[2], lines[3]};
    int cy = y + CARD_HEAD;

    if (node) {
        size_t n = 0;

        hv_format(lines[0], sizeof(lines[0]), "NUMA node %d", node->id);
        hv_format(lines[1], sizeof(lines[1]), "CPUs %s (%u CPUs, %u cores)",
                  hv_host_node_cpulist(node), node->cpu_count, node->core_count);
        hv_format(lines[2], sizeof(lines[2]), "memory %s, %s free",
                  size_text(node->memory_bytes, a, sizeof(a)),
                  size_text(node->free_bytes, b, sizeof(b)));
        for (size_t i = 0; i < node->npools; i++)
            n += hv_format(lines[3] + n, sizeof(lines[3]) - n, "%s%s %llu/%llu",
                           i ? ", " : "huge pages free/total: ",
                           size_text(node->pools[i].page_bytes, a, sizeof(a)),
                           (unsigned long long)node->pools[i].free,
                           (unsigned long long)node->pools[i].total);
        hv_svg_raw(&p->svg, "<g id=\"node-%d\">\n", node->id);
    } else {
        hv_format(lines[0], sizeof(lines[0]), "devices on no known NUMA node");
        hv_svg_raw(&p->svg, "<g id=\"node-none\">\n");
    }
    hv_svg_box(&p->svg, x, y, CARD_W, height, "card", texts, 4);
    if (node) {
        find_about(p, node->id, NULL, NULL);
        hv_svg_marks(&p->svg, x, y, CARD_W, height, &host->findings, p->about);
    }
    for (size_t i = 0; i < host->naccels; i++) {
        if (card_of(host, host->accels[i].numa_node) != card)
            continue;
        draw_accelerator(p, i, x + 10, cy);
        cy += DEVICE_STEP;
    }
    for (size_t i = 0; i < host->nrdma; i++) {
        if (card_of(host, host->rdma[i].numa_node) != card)
            continue;
        draw_rdma(p, i, x + 10, cy);
        cy += DEVICE_STEP;
    }
    hv_svg_raw(&p->svg, "</g>\n");
}

/* The host as a whole; returns the height. */
static int draw_summary(picture *p, int x, int y, int width)
{
    const hv_host *host = p->host;
    char lines[3][256], a[32], b[32];
    const char *const texts[] = {lines[0], lines[1], lines[2]};
    const int height = 62;

    hv_format(lines[0], sizeof(lines[0]), "host %s: %s", hv_host_root(host), host->cpu_model);
    hv_format(lines[1], sizeof(lines[1]),
              "%zu CPUs, %u cores, %u packages, %u threads per core; memory %s (%s available)",
              host->ncpus, host->cores, host->packages, host->threads_per_core,
              size_text(host->memory_bytes, a, sizeof(a)),
              size_text(host->memory_available_bytes, b, sizeof(b)));
    hv_format(lines[2], sizeof(lines[2]),
              "%zu NUMA nodes, %zu accelerators, %zu RDMA devices; %u-bit physical addresses; "
              "profile %s",
              host->nnodes, host->naccels, host->nrdma, host->phys_addr_bits, host->profile);
    hv_svg_raw(&p->svg, "<g id=\"host\">\n");
    hv_svg_box(&p->svg, x, y, width, height, "panel", texts, 3);
    find_about(p, -1, NULL, NULL);
    hv_svg_marks(&p->svg, x, y, width, height, &host->findings, p->about);
    hv_svg_raw(&p->svg, "</g>\n");
    return height;
}

static int draw(picture *p, int *width)
{
    const hv_host *host = p->host;
    size_t ncards = host->nnodes + 1;
    int *heights = calloc(ncards, sizeof(int)), *xs = calloc(ncards, sizeof(int));
    int *ys = calloc(ncards, sizeof(int)), *labels = calloc(ncards, sizeof(int));
    int *distances = calloc(ncards * ncards, sizeof(int));
    int w, y = MARGIN;

    if (!heights || !xs || !ys || !labels || !distances) {
        free(heights), free(xs), free(ys), free(labels), free(distances);
        return HV_E_NOMEM;
    }
    for (size_t c = 0; c < ncards; c++)
        heights[c] = CARD_HEAD + 4;
    for (size_t i = 0; i < host->naccels; i++)
        heights[card_of(host, host->accels[i].numa_node)] += DEVICE_STEP;
    for (size_t i = 0; i < host->nrdma; i++)
        heights[card_of(host, host->rdma[i].numa_node)] += DEVICE_STEP;
    if (heights[host->nnodes] == CARD_HEAD + 4) /* no device on no known node: no such card */
        ncards--;
    w = hv_svg_grid_width(ncards, CARD_W);
    w = w > MIN_W ? w : MIN_W;
    y += draw_summary(p, MARGIN, y, w) + 16;
    y += hv_svg_grid(ncards, CARD_W, heights, MARGIN, y, xs, ys) + 16;
    for (size_t c = 0; c < ncards; c++)
        draw_card(p, c, xs[c], ys[c], heights[c]);
    if (host->nnodes > 1) {
        for (size_t i = 0; i < host->nnodes; i++) {
            labels[i] = host->nodes[i].id;
            for (size_t j = 0; j < host->nnodes; j++)
                distances[i * host->nnodes + j] = host->nodes[i].distances[j];
        }
        y += hv_svg_distances(&p->svg, MARGIN, y, "NUMA distances", host->nnodes, labels,
                              distances) +
             16;
    }
    y += hv_svg_findings(&p->svg, MARGIN, y, w, &host->findings);
    free(heights), free(xs), free(ys), free(labels), free(distances);
    *width = w + 2 * MARGIN;
    return y + MARGIN;
}

int hv_host_to_svg(const hv_host *host, unsigned int flags, char **svg)
{
    picture p = {.host = host, .svg = HV_SVG_INIT};
    int width = 0, height, rc;
    char title[160];

    HV_CHECK_ARG(svg, "svg");
    *svg = NULL;
    HV_CHECK_ARG(host, "host");
    if (flags)
        return hv_error_set(HV_E_INVAL, "flags", "hv_host_to_svg() takes no flags yet: pass 0");
    p.about = calloc(host->findings.count + 1, sizeof(*p.about));
    if (!p.about)
        return hv_error_nomem();
    height = draw(&p, &width);
    hv_format(title, sizeof(title), "hpcvirt host %s", hv_host_root(host));
    title[hv_utf8_trim_partial(title, strlen(title))] = '\0';
    rc = height < 0 ? hv_error_nomem() : hv_svg_finish(&p.svg, width, height, title, svg);
    free(p.svg.body);
    free(p.about);
    return rc;
}
