/*
 * tests/plan/test-svg.c - pictures of plans and hosts (hv_plan_to_svg,
 * hv_host_to_svg): each rendered document is parsed with libxml2 (it must
 * be well-formed XML with an <svg> root), its text holds the labels of the
 * nodes and devices drawn, findings are marked where their paths point,
 * BARs lie inside the MMIO window, 16 nodes are laid out in a grid, and
 * hostile names (markup, control characters, U+FFFE) stay text.
 */
#include "hv-test.h"
#include "plan/plan.h"
#include "test-hosts.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

/* Parse `svg` (it must be well-formed, with an <svg> root); all its text, decoded, in *text. */
static xmlDocPtr parse_svg(const char *svg, char **text)
{
    xmlDocPtr doc = xmlReadMemory(svg, (int)strlen(svg), "picture.svg", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root;
    xmlChar *content;

    assert_non_null(doc);
    root = xmlDocGetRootElement(doc);
    assert_non_null(root);
    assert_string_equal((const char *)root->name, "svg");
    content = xmlNodeGetContent(root);
    *text = strdup((const char *)content);
    xmlFree(content);
    return doc;
}

/* The width="" of the document's root. */
static int svg_width(xmlDocPtr doc)
{
    xmlChar *w = xmlGetProp(xmlDocGetRootElement(doc), (const xmlChar *)"width");
    int width = atoi((const char *)w);

    xmlFree(w);
    return width;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Whether the element with id="`id`" (up to its end tag) holds `needle`. */
static bool element_has(const char *svg, const char *id, const char *needle)
{
    char attr[64];
    const char *at, *end;
    int depth = 1;

    snprintf(attr, sizeof(attr), "id=\"%s\"", id);
    at = strstr(svg, attr);
    if (!at)
        fail_msg("the picture has no element with id \"%s\"", id);
    for (end = at; depth > 0; end++) {
        end = strchr(end, '<');
        assert_non_null(end);
        if (strncmp(end, "<g ", 3) == 0 || strncmp(end, "<g>", 3) == 0)
            depth++;
        else if (strncmp(end, "</g>", 4) == 0)
            depth--;
    }
    at = strstr(at, needle);
    return at && at < end;
}

/* A spec file: `path` under the source tree. */
static char *read_spec(const char *path)
{
    const char *src = getenv("HV_TEST_SRCDIR");
    char full[4096];
    FILE *f;
    char *buf = calloc(1, 1 << 16);

    snprintf(full, sizeof(full), "%s/%s", src ? src : ".", path);
    f = fopen(full, "r");
    assert_non_null(f);
    assert_true(fread(buf, 1, (1 << 16) - 1, f) > 0);
    fclose(f);
    return buf;
}

static void test_two_nodes(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/dgx-a100-roce");
    char *spec_json = read_spec("examples/specs/training-8gpu.json");
    hv_plan *plan = test_plan(host, spec_json);
    hv_mmio_window_bar bars[64];
    size_t nbars = hv_mmio_window_bars(plan, bars, 64);
    char *svg = NULL, *text;
    xmlDocPtr doc;

    (void)state;
    assert_hv_ok(hv_plan_to_svg(plan, 0, &svg));
    doc = parse_svg(svg, &text);
    for (const char *const *label =
             (const char *const[]){"plan train-8gpu", "host node 0", "host node 1", "vNUMA node 0",
                                   "vNUMA node 1", "0000:07:00.0", "0000:bd:00.0", "a100-sxm4-80gb",
                                   "mlx5_0", "nics[0]", "64-bit PCI window, 2 TiB at 2 TiB",
                                   "guest NUMA distances", "plan.pages.4k", NULL};
         *label; label++)
        if (!strstr(text, *label))
            fail_msg("the picture does not say '%s'", *label);
    assert_true(element_has(svg, "host-node-0", "id=\"vnode-0\""));
    /* a device in host node 1's card hangs from vNUMA node 1 */
    assert_true(element_has(svg, "host-node-1", "id=\"vnode-1\""));
    assert_true(element_has(svg, "host-node-1", "class=\"link\""));
    /* every 64-bit BAR is drawn, inside the window, naturally aligned, none overlapping */
    assert_int_equal(nbars, 8 * 2); /* 8 GPUs x (BAR1, BAR3) */
    assert_int_equal(count_of(svg, "class=\"bar\""), nbars);
    for (size_t i = 0; i < nbars; i++) {
        assert_true(bars[i].offset_bytes % bars[i].size_bytes == 0);
        assert_true(bars[i].offset_bytes + bars[i].size_bytes <= hv_plan_mmio_window_bytes(plan));
        assert_true(i == 0 ||
                    bars[i].offset_bytes >= bars[i - 1].offset_bytes + bars[i - 1].size_bytes);
    }
    /* the 4k-pages warning is about page_size: marked on the VM's panel */
    assert_true(element_has(svg, "vm", "class=\"mark-warning\""));
    assert_true(element_has(svg, "vm", "outline sev-warning"));
    assert_false(element_has(svg, "mmio", "outline sev-"));
    assert_true(svg_width(doc) < 1400);
    xmlFreeDoc(doc);
    free(text);
    hv_free(svg);
    /* no flags yet */
    assert_hv_error(hv_plan_to_svg(plan, 1, &svg), HV_E_INVAL);
    assert_null(svg);
    assert_hv_error(hv_plan_to_svg(NULL, 0, &svg), HV_E_INVAL);
    hv_plan_free(plan);
    free(spec_json);
    hv_host_free(host);
}

static void test_sixteen_nodes_eight_gpus(void **state)
{
    hv_host *host = hv_test_fixture_host("hosts/gpu-16node-8gpu");
    char *spec_json = read_spec("tests/fixtures/specs/gpu-16node-8gpu.json");
    hv_plan *plan = test_plan(host, spec_json);
    char *svg = NULL, *text;
    xmlDocPtr doc;
    char id[32];

    (void)state;
    assert_int_equal(hv_plan_vnuma_node_count(plan), 16);
    assert_int_equal(hv_plan_device_count(plan), 128);
    assert_hv_ok(hv_plan_to_svg(plan, 0, &svg));
    doc = parse_svg(svg, &text);
    for (int n = 0; n < 16; n++) {
        snprintf(id, sizeof(id), "host-node-%d", n);
        assert_true(element_has(svg, id, "class=\"vnode\""));
        snprintf(id, sizeof(id), "vNUMA node %d:", n);
        assert_non_null(strstr(text, id));
    }
    for (int d = 0; d < 128; d++) {
        snprintf(id, sizeof(id), "device-%d", d);
        assert_true(element_has(svg, id, "class=\"accelerator\""));
    }
    assert_non_null(strstr(text, "0000:f8:00.0"));
    /* a grid of 4 columns, not one long row */
    assert_true(svg_width(doc) < 2000);
    /* the 32-bit hole cannot hold 128 x 16 MiB: an error about "accelerators", on the MMIO panel */
    assert_finding(plan, "plan.mmio.hole32-full", HV_SEVERITY_ERROR);
    assert_true(element_has(svg, "mmio", "outline sev-error"));
    assert_false(element_has(svg, "device-0", "outline sev-"));
    xmlFreeDoc(doc);
    free(text);
    hv_free(svg);

    /* the host itself: 16 node cards, 128 GPUs, the distance matrix */
    assert_hv_ok(hv_host_to_svg(host, 0, &svg));
    doc = parse_svg(svg, &text);
    assert_true(element_has(svg, "node-15", "id=\"accelerator-127\""));
    assert_int_equal(count_of(text, "NVIDIA H100 SXM5 80GB"), 128);
    assert_non_null(strstr(text, "NUMA distances"));
    assert_null(strstr(svg, "id=\"node-none\"")); /* every GPU is on a node */
    assert_true(svg_width(doc) < 2000);
    xmlFreeDoc(doc);
    free(text);
    hv_free(svg);
    hv_plan_free(plan);
    free(spec_json);
    hv_host_free(host);
}

static void test_hostile_names(void **state)
{
    /* markup, quotes, an escape sequence, a bidi override, U+FFFE (not allowed in XML) */
    static const char hostile_json[] = "<svg onload=\\\"x()\\\">&amp;'\\u001b[31m\\u202e\\ufffe]]>";
    static const char hostile_shown[] = "<svg onload=\"x()\">&amp;'\\u001b[31m\\u202e";
    hv_host *fixture = hv_test_fixture_host("hosts/hugepages-2node"), *host = NULL;
    char *json = NULL, *edited, *svg = NULL, *text, spec[512];
    const char *model;
    hv_plan *plan;
    xmlDocPtr doc;

    (void)state;
    /* the host's CPU model (from a host document, as a remote host's would be) */
    assert_hv_ok(hv_host_to_json(fixture, HV_JSON_COMPACT, &json));
    model = strstr(json, hv_host_cpu_model(fixture));
    assert_non_null(model);
    edited = malloc(strlen(json) + sizeof(hostile_json));
    snprintf(edited, strlen(json) + sizeof(hostile_json), "%.*s%s%s", (int)(model - json), json,
             hostile_json, model + strlen(hv_host_cpu_model(fixture)));
    assert_hv_ok(hv_host_from_json(edited, &host));
    assert_hv_ok(hv_host_to_svg(host, 0, &svg));
    doc = parse_svg(svg, &text);
    assert_non_null(strstr(text, hostile_shown)); /* as text, escaped as the CLI shows it */
    assert_null(strstr(svg, "<svg onload"));
    assert_null(strstr(svg, "\x1b"));
    assert_null(strstr(svg, "\xef\xbf\xbe")); /* U+FFFE */
    xmlFreeDoc(doc);
    free(text);
    hv_free(svg);

    /* a spec's accelerator model that no catalogue knows (printable: specs take nothing else) */
    snprintf(spec, sizeof(spec),
             "{\"name\": \"evil\", \"vcpus\": 2, \"memory\": \"4GiB\", \"accelerators\": "
             "[{\"model\": \"%s\"}]}",
             "<svg onload=\\\"x()\\\">&amp;'\\ufffe]]>");
    plan = test_plan(host, spec);
    assert_hv_ok(hv_plan_to_svg(plan, 0, &svg));
    doc = parse_svg(svg, &text);
    assert_non_null(strstr(text, "<svg onload=\"x()\">&amp;'"));
    assert_null(strstr(svg, "<svg onload"));
    assert_null(strstr(svg, "\xef\xbf\xbe"));
    assert_true(element_has(svg, "vm", "class=\"mark-error\"")); /* the model is unknown */
    xmlFreeDoc(doc);
    free(text);
    hv_free(svg);
    hv_plan_free(plan);
    hv_free(json);
    free(edited);
    hv_host_free(host);
    hv_host_free(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nodes),
        cmocka_unit_test(test_sixteen_nodes_eight_gpus),
        cmocka_unit_test(test_hostile_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
