/*
 * plan/plan-svg.c - a picture of a plan as SVG (hv_plan_to_svg): the host
 * NUMA nodes it uses as cards with the vNUMA nodes placed on them and the
 * devices linked to the vNUMA node each is attached to, the guest's NUMA
 * distances, the 64-bit MMIO window to scale with its BARs, and the
 * findings, each marked on what its path names. Pure string building.
 */
#include "plan/plan.h"
#include "core/format.h"
#include "core/svg.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>
#include <hpcvirt/size.h>

#define MARGIN       20
#define CARD_W       420
#define MIN_W        860
#define CARD_HEAD    50
#define VNODE_H      54
#define VNODE_STEP   62
#define DEVICE_H     38
#define DEVICE_STEP  44
#define NO_HOST_NODE (-1)

typedef struct picture {
    const hv_plan *plan;
    hv_svg svg;
    bool *about; /* one flag per finding: the findings about the box being drawn */
    int *cards;  /* host node id of each card, ascending; NO_HOST_NODE last */
    size_t ncards;
    int *card_x, *card_y;
    int *vnode_x, *vnode_y;   /* each vNUMA node's box */
    int *device_x, *device_y; /* each device's box */
} picture;

static const char *const device_classes[] = {"", "accelerator", "nic", "rdma"};

static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
    hv_size_format(bytes, buf, len);
    return buf;
}

/* The host node (card) vNUMA node `vnode` is drawn in. */
static int vnode_host(const hv_plan *plan, int vnode)
{
    return vnode >= 0 && (size_t)vnode < plan->nvnodes && plan->vnodes[vnode].host_node >= 0
               ? plan->vnodes[vnode].host_node
               : NO_HOST_NODE;
}

/* The host node a device is drawn in: its own, else that of the vNUMA node it is attached to. */
static int device_host(const hv_plan *plan, const struct hv_plan_device *d)
{
    return d->host_node >= 0 ? d->host_node : vnode_host(plan, d->vnode);
}

static void add_card(picture *p, int host_node)
{
    size_t at = 0;

    while (
        at < p->ncards && p->cards[at] != host_node &&
        (host_node == NO_HOST_NODE || (p->cards[at] != NO_HOST_NODE && p->cards[at] < host_node)))
        at++;
    if (at < p->ncards && p->cards[at] == host_node)
        return;
    memmove(p->cards + at + 1, p->cards + at, (p->ncards - at) * sizeof(*p->cards));
    p->cards[at] = host_node;
    p->ncards++;
}

/* What a finding's path is about: a device (its spec entry), a vNUMA node, the MMIO budget. */
enum { ABOUT_VM, ABOUT_MMIO, ABOUT_VNODE, ABOUT_DEVICE };

static int about_what(const hv_plan *plan, const char *path, size_t *vnode)
{
    for (size_t d = 0; d < plan->ndevices; d++)
        if (hv_svg_path_within(path, plan->devices[d].spec_path))
            return ABOUT_DEVICE;
    for (size_t v = 0; v < plan->nvnodes; v++) {
        char entry[32];

        hv_format(entry, sizeof(entry), "vnuma[%zu]", v);
        if (hv_svg_path_within(path, entry)) {
            *vnode = v;
            return ABOUT_VNODE;
        }
    }
    if (strcmp(path, "accelerators") == 0 || hv_svg_path_within(path, "guest_phys_bits"))
        return ABOUT_MMIO;
    return ABOUT_VM;
}

/* Set p->about for the findings about `what` (for a device: its spec path; a vNUMA node: its id).
 */
static void find_about(picture *p, int what, const char *spec_path, size_t vnode)
{
    const hv_findings *list = &p->plan->findings;

    for (size_t i = 0; i < list->count; i++) {
        size_t v = SIZE_MAX;
        int kind = about_what(p->plan, list->items[i].path, &v);

        p->about[i] =
            kind == what &&
            (what != ABOUT_DEVICE || hv_svg_path_within(list->items[i].path, spec_path)) &&
            (what != ABOUT_VNODE || v == vnode);
    }
}

static int card_height(const picture *p, int host_node)
{
    int h = CARD_HEAD + 8;

    for (size_t v = 0; v < p->plan->nvnodes; v++)
        if (vnode_host(p->plan, (int)v) == host_node)
            h += VNODE_STEP;
    for (size_t d = 0; d < p->plan->ndevices; d++)
        if (device_host(p->plan, &p->plan->devices[d]) == host_node)
            h += DEVICE_STEP;
    return h;
}

static const hv_plan_host_node *host_node_of(const hv_plan *plan, int id)
{
    for (size_t i = 0; i < plan->nhost_nodes; i++)
        if (plan->host_nodes[i].id == id)
            return &plan->host_nodes[i];
    return NULL;
}

static void draw_vnode(picture *p, const struct hv_plan_vnode *vn, int x, int y)
{
    char lines[3][128], mem[32], page[32];
    const char *const texts[] = {lines[0], lines[1], lines[2]};

    hv_format(lines[0], sizeof(lines[0]), "vNUMA node %u: %u vCPU%s (%s)", vn->id, vn->vcpu_count,
              vn->vcpu_count == 1 ? "" : "s", vn->vcpus_text);
    hv_format(lines[1], sizeof(lines[1]), "%s on %s pages (%llu)",
              size_text(vn->memory_bytes, mem, sizeof(mem)),
              size_text(vn->page_bytes, page, sizeof(page)), (unsigned long long)vn->page_count);
    hv_format(lines[2], sizeof(lines[2]), "host CPUs %s",
              vn->host_cpus_text && *vn->host_cpus_text ? vn->host_cpus_text : "(none)");
    hv_svg_raw(&p->svg, "<g id=\"vnode-%u\">\n", vn->id);
    hv_svg_box(&p->svg, x, y, CARD_W - 20, VNODE_H, "vnode", texts, 3);
    find_about(p, ABOUT_VNODE, NULL, vn->id);
    hv_svg_marks(&p->svg, x, y, CARD_W - 20, VNODE_H, &p->plan->findings, p->about);
    hv_svg_raw(&p->svg, "</g>\n");
}

static void draw_device(picture *p, size_t index, int x, int y, int link_x, int link_top)
{
    const struct hv_plan_device *d = &p->plan->devices[index];
    char lines[2][256], bars[32];
    const char *const texts[] = {lines[0], lines[1]};
    size_t n = 0;

    if (link_top >= 0) /* from the vNUMA node above, in the same card */
        hv_svg_raw(&p->svg, "<path d=\"M %d %d V %d H %d\" class=\"link\"/>\n", link_x, link_top,
                   y + DEVICE_H / 2, x);
    if (d->vnode >= 0)
        hv_format(lines[0], sizeof(lines[0]), "%s %s \xe2\x86\x92 vNUMA %d", d->spec_path,
                  device_classes[d->type], d->vnode);
    else
        hv_format(lines[0], sizeof(lines[0]), "%s %s", d->spec_path, device_classes[d->type]);
    n += hv_format(lines[1], sizeof(lines[1]), "%s", *d->pci_address ? d->pci_address : "virtual");
    if (*d->model)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %s", d->model);
    if (*d->mdev_type)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", vGPU %s", d->mdev_type);
    if (*d->rdma_name)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %s port %u", d->rdma_name,
                       d->rdma_port);
    if (d->type == HV_PLAN_DEVICE_NIC)
        n += hv_format(lines[1] + n, sizeof(lines[1]) - n, ", %u queues", d->queues);
    if (hv_plan_device_bar_total_bytes(d))
        hv_format(lines[1] + n, sizeof(lines[1]) - n, ", BARs %s",
                  size_text(hv_plan_device_bar_total_bytes(d), bars, sizeof(bars)));
    hv_svg_raw(&p->svg, "<g id=\"device-%zu\">\n", index);
    hv_svg_box(&p->svg, x, y, CARD_W - 36, DEVICE_H, device_classes[d->type], texts, 2);
    find_about(p, ABOUT_DEVICE, d->spec_path, 0);
    hv_svg_marks(&p->svg, x, y, CARD_W - 36, DEVICE_H, &p->plan->findings, p->about);
    hv_svg_raw(&p->svg, "</g>\n");
}

static void draw_card(picture *p, size_t card, int height)
{
    const hv_plan *plan = p->plan;
    int host = p->cards[card], x = p->card_x[card], y = p->card_y[card];
    const hv_plan_host_node *hn = host_node_of(plan, host);
    hv_svg *svg = &p->svg;
    int cy = y + CARD_HEAD;
    char lines[2][256] = {"", ""}, mem[32];
    const char *const texts[] = {lines[0], lines[1]};

    if (host == NO_HOST_NODE) {
        hv_format(lines[0], sizeof(lines[0]), "on no host node");
        hv_format(lines[1], sizeof(lines[1]), "virtual devices; what could not be placed");
    } else {
        hv_format(lines[0], sizeof(lines[0]), "host node %d", host);
        if (hn)
            hv_format(lines[1], sizeof(lines[1]), "CPUs %s (%u), %s", hn->cpulist, hn->cpu_count,
                      size_text(hn->memory_bytes, mem, sizeof(mem)));
    }
    hv_svg_raw(svg, "<g id=\"host-node-%d\">\n", host);
    hv_svg_box(svg, x, y, CARD_W, height, "card", texts, 2);
    for (size_t v = 0; v < plan->nvnodes; v++) {
        if (vnode_host(plan, (int)v) != host)
            continue;
        p->vnode_x[v] = x + 10;
        p->vnode_y[v] = cy;
        draw_vnode(p, &plan->vnodes[v], x + 10, cy);
        cy += VNODE_STEP;
    }
    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_plan_device *dev = &plan->devices[d];
        /* a device attached to a vNUMA node of this card hangs from it, at that node's own x */
        bool linked_here = vnode_host(plan, dev->vnode) == host && dev->vnode >= 0;
        int link_x = x + 14 + 4 * (dev->vnode >= 0 ? dev->vnode % 4 : 0);

        if (device_host(plan, dev) != host)
            continue;
        p->device_x[d] = x + 26;
        p->device_y[d] = cy;
        draw_device(p, d, x + 26, cy, link_x, linked_here ? p->vnode_y[dev->vnode] + VNODE_H : -1);
        cy += DEVICE_STEP;
    }
    hv_svg_raw(svg, "</g>\n");
}

/* Devices attached to a vNUMA node on another host node than their own: a dashed link. */
static void draw_remote_links(picture *p)
{
    const hv_plan *plan = p->plan;

    for (size_t d = 0; d < plan->ndevices; d++) {
        const struct hv_plan_device *dev = &plan->devices[d];
        int x1 = p->device_x[d] + CARD_W - 36, y1 = p->device_y[d] + DEVICE_H / 2, x2, y2;

        if (dev->vnode < 0 || (size_t)dev->vnode >= plan->nvnodes ||
            vnode_host(plan, dev->vnode) == device_host(plan, dev))
            continue;
        x2 = p->vnode_x[dev->vnode] + CARD_W - 20;
        y2 = p->vnode_y[dev->vnode] + VNODE_H / 2;
        hv_svg_raw(&p->svg, "<path d=\"M %d %d C %d %d %d %d %d %d\" class=\"xlink\"/>\n", x1, y1,
                   x1 + 60, y1, x2 + 60, y2, x2, y2);
    }
}

/* The VM as a whole: name, verdict, size, firmware, migration; returns its height. */
static int draw_summary(picture *p, int x, int y, int width)
{
    const hv_plan *plan = p->plan;
    const hv_vm_spec *spec = plan->spec;
    hv_svg *svg = &p->svg;
    size_t errors = hv_findings_count_severity(&plan->findings, HV_SEVERITY_ERROR);
    size_t warnings = hv_findings_count_severity(&plan->findings, HV_SEVERITY_WARNING);
    size_t cols = (size_t)((width - 20) / HV_SVG_CHAR_W);
    char mem[32], why[512] = "";
    const int height = 76;

    hv_svg_raw(svg, "<g id=\"vm\">\n");
    hv_svg_rect(svg, x, y, width, height, "panel");
    hv_svg_textf(svg, x + 10, y + 22, "title", cols - 20,
                 "plan %s: %s (%zu error%s, %zu warning%s)", spec->name, plan->ok ? "OK" : "NOT OK",
                 errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    hv_svg_textf(svg, x + 10, y + 42, NULL, cols,
                 "%u vCPUs (%s) as %u x %u x %u (sockets x cores x threads), %s, %s firmware, "
                 "profile %s",
                 spec->vcpus, hv_spec_cpu_placement_name(spec->cpu_placement), plan->sockets,
                 plan->cores_per_socket, plan->threads_per_core,
                 size_text(spec->memory_bytes, mem, sizeof(mem)),
                 plan->firmware == HV_FIRMWARE_EFI ? "EFI" : "BIOS", plan->profile->name);
    for (size_t i = 0, n = 0; i < plan->nreasons; i++)
        n += hv_format(why + n, sizeof(why) - n, "%s%s", i ? "; " : ": ", plan->reasons[i]);
    hv_svg_textf(svg, x + 10, y + 62, "dim", cols, "live migration: %s%s",
                 plan->nreasons ? "no" : "yes", why);
    find_about(p, ABOUT_VM, NULL, 0);
    hv_svg_marks(svg, x, y, width, height, &plan->findings, p->about);
    hv_svg_raw(svg, "</g>\n");
    return height;
}

/* The 64-bit MMIO window to scale, each BAR in it; returns the height. */
static int draw_mmio(picture *p, int x, int y, int width)
{
    const hv_plan *plan = p->plan;
    hv_svg *svg = &p->svg;
    hv_mmio_window_bar bars[6 * 64];
    size_t nbars = hv_mmio_window_bars(plan, bars, sizeof(bars) / sizeof(bars[0]));
    size_t cols = (size_t)((width - 20) / HV_SVG_CHAR_W);
    unsigned int bits =
        plan->guest_phys_bits ? plan->guest_phys_bits : plan->profile->default_guest_phys_bits;
    int bar_w = width - 20, height = plan->window_bytes ? 118 : 62;
    char a[32], b[32], c[32], d[32];

    hv_svg_raw(svg, "<g id=\"mmio\">\n");
    hv_svg_rect(svg, x, y, width, height, "panel");
    hv_svg_textf(svg, x + 10, y + 20, "h", cols,
                 "MMIO: BARs %s; RAM %s below 4 GiB, %s above; 32-bit hole: %s of BARs",
                 size_text(plan->bar_total_bytes, a, sizeof(a)),
                 size_text(plan->low_ram_bytes, b, sizeof(b)),
                 size_text(plan->high_ram_bytes, c, sizeof(c)),
                 size_text(plan->hole32_bytes_used, d, sizeof(d)));
    hv_svg_textf(svg, x + 10, y + 38, NULL, cols,
                 "guest physical-address bits: needs %u, gets %u (%s), host %u: %s",
                 plan->guest_phys_bits_required, bits,
                 plan->guest_phys_bits_passthrough ? "passed through"
                 : plan->guest_phys_bits           ? "set"
                                                   : "the VMM's default",
                 plan->host_phys_bits, plan->mmio_feasible ? "feasible" : "NOT feasible");
    if (!plan->window_bytes) {
        hv_svg_text(svg, x + 10, y + 54, "dim", cols, "no 64-bit BARs: no 64-bit PCI window");
    } else {
        int wy = y + 50;

        hv_svg_textf(svg, x + 10, wy + 12, "dim", cols,
                     "64-bit PCI window, %s at %s (to scale: one pixel is %s)",
                     size_text(plan->window_bytes, a, sizeof(a)),
                     size_text(plan->window_base, b, sizeof(b)),
                     size_text(plan->window_bytes / (uint64_t)bar_w, c, sizeof(c)));
        hv_svg_raw(svg, "<g id=\"mmio-window\">\n");
        hv_svg_rect(svg, x + 10, wy + 20, bar_w, 30, "window");
        for (size_t i = 0; i < nbars; i++) {
            const struct hv_plan_device *dev = &plan->devices[bars[i].device];
            /* to scale, at least a pixel wide so that none disappears */
            int bx = x + 10 + (int)((double)bars[i].offset_bytes / plan->window_bytes * bar_w);
            int bw = (int)((double)bars[i].size_bytes / plan->window_bytes * bar_w);

            hv_svg_raw(svg, "<g class=\"bar\"><title>");
            hv_svg_escaped(svg, dev->spec_path);
            hv_svg_raw(svg, " ");
            hv_svg_escaped(svg, dev->pci_address);
            hv_svg_raw(svg, " BAR, %s at +%#llx</title>\n",
                       size_text(bars[i].size_bytes, a, sizeof(a)),
                       (unsigned long long)bars[i].offset_bytes);
            hv_svg_raw(svg, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"30\" class=\"%s\"/>\n",
                       bx, wy + 20, bw > 0 ? bw : 1, device_classes[dev->type]);
            if (bw > 8 * HV_SVG_CHAR_W)
                hv_svg_text(svg, bx + 3, wy + 39, NULL, (size_t)((bw - 6) / HV_SVG_CHAR_W), a);
            hv_svg_raw(svg, "</g>\n");
        }
        hv_svg_raw(svg, "</g>\n");
        hv_svg_textf(svg, x + 10, wy + 64, "dim", 0, "%#llx",
                     (unsigned long long)plan->window_base);
        hv_svg_raw(svg, "<text x=\"%d\" y=\"%d\" class=\"dim\" text-anchor=\"end\">%#llx</text>\n",
                   x + 10 + bar_w, wy + 64,
                   (unsigned long long)(plan->window_base + plan->window_bytes));
    }
    find_about(p, ABOUT_MMIO, NULL, 0);
    hv_svg_marks(svg, x, y, width, height, &plan->findings, p->about);
    hv_svg_raw(svg, "</g>\n");
    return height;
}

static int draw(picture *p, int *width)
{
    const hv_plan *plan = p->plan;
    int *heights = calloc(p->ncards ? p->ncards : 1, sizeof(int));
    int w, y = MARGIN;

    if (!heights)
        return HV_E_NOMEM;
    w = hv_svg_grid_width(p->ncards, CARD_W);
    w = w > MIN_W ? w : MIN_W;
    y += draw_summary(p, MARGIN, y, w) + 16;
    for (size_t c = 0; c < p->ncards; c++)
        heights[c] = card_height(p, p->cards[c]);
    y += hv_svg_grid(p->ncards, CARD_W, heights, MARGIN, y, p->card_x, p->card_y) + 16;
    for (size_t c = 0; c < p->ncards; c++)
        draw_card(p, c, heights[c]);
    free(heights);
    draw_remote_links(p);
    if (plan->nvnodes > 1) {
        int *labels = calloc(plan->nvnodes, sizeof(int));

        if (!labels)
            return HV_E_NOMEM;
        for (size_t v = 0; v < plan->nvnodes; v++)
            labels[v] = (int)plan->vnodes[v].id;
        y += hv_svg_distances(&p->svg, MARGIN, y, "guest NUMA distances (vNUMA nodes)",
                              plan->nvnodes, labels, plan->distances) +
             16;
        free(labels);
    }
    y += draw_mmio(p, MARGIN, y, w) + 16;
    y += hv_svg_findings(&p->svg, MARGIN, y, w, &plan->findings);
    *width = w + 2 * MARGIN;
    return y + MARGIN;
}

int hv_plan_to_svg(const hv_plan *plan, unsigned int flags, char **svg)
{
    picture p = {.plan = plan, .svg = HV_SVG_INIT};
    size_t nitems;
    int width = 0, height, rc = 0;
    char title[128];

    HV_CHECK_ARG(svg, "svg");
    *svg = NULL;
    HV_CHECK_ARG(plan, "plan");
    if (flags)
        return hv_error_set(HV_E_INVAL, "flags", "hv_plan_to_svg() takes no flags yet: pass 0");
    nitems = plan->nvnodes + plan->ndevices + 1;
    p.about = calloc(plan->findings.count + 1, sizeof(*p.about));
    p.cards = calloc(nitems, sizeof(*p.cards));
    p.card_x = calloc(nitems, sizeof(int));
    p.card_y = calloc(nitems, sizeof(int));
    p.vnode_x = calloc(nitems, sizeof(int));
    p.vnode_y = calloc(nitems, sizeof(int));
    p.device_x = calloc(nitems, sizeof(int));
    p.device_y = calloc(nitems, sizeof(int));
    if (!p.about || !p.cards || !p.card_x || !p.card_y || !p.vnode_x || !p.vnode_y || !p.device_x ||
        !p.device_y) {
        rc = hv_error_nomem();
    } else {
        for (size_t v = 0; v < plan->nvnodes; v++)
            add_card(&p, vnode_host(plan, (int)v));
        for (size_t d = 0; d < plan->ndevices; d++)
            add_card(&p, device_host(plan, &plan->devices[d]));
        height = draw(&p, &width);
        if (height < 0)
            rc = hv_error_nomem();
        hv_format(title, sizeof(title), "hpcvirt plan %s", plan->spec->name);
        title[hv_utf8_trim_partial(title, strlen(title))] = '\0';
        if (rc == 0)
            rc = hv_svg_finish(&p.svg, width, height, title, svg);
    }
    free(p.svg.body);
    free(p.about);
    free(p.cards);
    free(p.card_x);
    free(p.card_y);
    free(p.vnode_x);
    free(p.vnode_y);
    free(p.device_x);
    free(p.device_y);
    return rc;
}
