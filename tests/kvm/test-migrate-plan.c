/*
 * tests/kvm/test-migrate-plan.c - the destination's own plan of a migrated
 * VM (lib/kvm/migrate-plan.c), without KVM: a VM planned on one synthetic
 * host is described as the source's META and PLAN frames would describe it,
 * then planned on another. A host that can run it places its nodes and
 * vCPUs there; its vNUMA nodes and page size stay the source's whatever the
 * spec left to the planner; a host too small, or without the huge pages,
 * refuses it with the planner's first error; a plan without a spec that
 * reads is refused as what the source should not send.
 */
#include "hv-test.h"
#include "kvm/migrate-plan.h"
#include "plan/test-hosts.h"

#include <json.h>

/* `plan`'s VM as META describes it (each node where the plan put it, no vCPU pinned) and
 * the plan's JSON as PLAN carries it; `page_bytes` (non-zero) overrides node 1's page. */
static void describe(const hv_plan *plan, uint64_t page_bytes, hv_kvm_snapshot_meta *m)
{
    char meta[4096], *plan_json = NULL;
    size_t n = 0;
    unsigned int vcpus = hv_plan_vcpus(plan);

    n += (size_t)snprintf(meta + n, sizeof(meta) - n,
                          "{\"format\": \"hpcvirt-kvm-vm\", \"version\": 1, \"name\": \"%s\", "
                          "\"state\": \"running\", \"vcpus\": %u, \"nodes\": [",
                          hv_vm_spec_name(hv_plan_spec(plan)), vcpus);
    for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);

        n += (size_t)snprintf(
            meta + n, sizeof(meta) - n,
            "%s{\"bytes\": %llu, \"page_bytes\": %llu, \"host_node\": %d, \"vcpus\": %u}",
            i ? ", " : "", (unsigned long long)hv_plan_vnode_memory_bytes(node),
            (unsigned long long)(i == 1 && page_bytes ? page_bytes
                                                      : hv_plan_vnode_page_bytes(node)),
            hv_plan_vnode_host_node(node), hv_plan_vnode_vcpu_count(node));
    }
    n += (size_t)snprintf(meta + n, sizeof(meta) - n, "], \"affinity\": [");
    for (unsigned int v = 0; v < vcpus; v++)
        n += (size_t)snprintf(meta + n, sizeof(meta) - n, "%s\"\"", v ? ", " : "");
    n += (size_t)snprintf(meta + n, sizeof(meta) - n,
                          "], \"image\": {\"base\": 1048576, \"end\": 1114112, \"entry\": "
                          "1048576}, \"payload_path\": \"/opt/payloads/worker\", \"clone_id\": 0, "
                          "\"clone_index\": 0, \"generation\": 0, \"console_total\": 0}");
    assert_true(n < sizeof(meta));
    assert_hv_ok(hv_kvm_snapshot_meta_parse(meta, n, "the test", m));
    assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &plan_json));
    m->plan_json = plan_json;
}

/* A host of `nodes` nodes of `cores` cores, `free` bytes and `free_2m` 2 MiB pages free on each. */
static hv_host *host_of(unsigned int nodes, unsigned int cores, uint64_t free, uint64_t free_2m)
{
    test_host_params p = {.nodes = nodes,
                          .cores_per_node = cores,
                          .memory_per_node = free + GiB(2),
                          .free_per_node = free,
                          .free_2m_pages = free_2m,
                          .remote_distance = 32};

    return test_host(&p);
}

/* The source: the VM of `spec_json` planned on a host of `nodes` nodes of 8 cores. */
static void source_vm(const char *spec_json, unsigned int nodes, uint64_t page_bytes,
                      hv_kvm_snapshot_meta *m)
{
    hv_host *host = host_of(nodes, 8, GiB(60), 8192);
    hv_plan *plan = test_plan(host, spec_json);

    assert_true(hv_plan_ok(plan));
    describe(plan, page_bytes, m);
    hv_plan_free(plan);
    hv_host_free(host);
}

/* The affinity the destination wrote for vCPU `v`. */
static const char *affinity_of(const hv_kvm_snapshot_meta *m, unsigned int v)
{
    return json_object_get_string(json_object_array_get_idx(m->affinity, v));
}

/*
 * A host of four nodes takes a VM that ran on two of a two-node host: the
 * plan here says where each node and vCPU goes, and becomes the VM's.
 */
static void test_placed_on_this_host(void **state)
{
    hv_host *host = host_of(4, 4, GiB(30), 0);
    hv_kvm_snapshot_meta m;
    hv_plan *plan = NULL;

    (void)state;
    source_vm("{\"name\": \"moved\", \"vcpus\": 4, \"memory\": \"8GiB\", \"page_size\": \"4k\", "
              "\"vnuma\": [{\"vcpus\": 2, \"memory\": \"4GiB\"}, {\"vcpus\": 2, \"memory\": "
              "\"4GiB\"}]}",
              2, 0, &m);
    assert_hv_ok(hv_kvm_migrate_replan(&m, host, &plan));
    assert_int_equal(hv_plan_vnuma_node_count(plan), 2);
    assert_hv_ok(hv_kvm_migrate_place(plan, &m));
    for (size_t i = 0; i < 2; i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);

        assert_int_equal(m.nodes[i].host_node, hv_plan_vnode_host_node(node));
        assert_int_equal(m.nodes[i].bytes, GiB(4));
        assert_int_equal(m.nodes[i].page_bytes, 4096);
        /* shared placement: each vCPU on its node's host CPUs */
        for (unsigned int v = 2 * (unsigned int)i; v < 2 * (unsigned int)i + 2; v++)
            assert_string_equal(affinity_of(&m, v), hv_plan_vnode_host_cpus(node));
    }
    assert_true(m.nodes[0].host_node != m.nodes[1].host_node);
    /* the VM's plan is this host's now */
    {
        char *json = NULL;

        assert_hv_ok(hv_plan_to_json(plan, HV_JSON_COMPACT, &json));
        assert_string_equal(m.plan_json, json);
        hv_free(json);
    }
    hv_plan_free(plan);
    hv_kvm_snapshot_meta_clear(&m);
    hv_host_free(host);
}

/* Dedicated placement: each vCPU goes to the host CPU the plan here pins it to. */
static void test_dedicated_vcpus_pinned_here(void **state)
{
    hv_host *host = host_of(1, 16, GiB(60), 0);
    hv_kvm_snapshot_meta m;
    hv_plan *plan = NULL;

    (void)state;
    source_vm("{\"name\": \"pinned\", \"vcpus\": 2, \"memory\": \"2GiB\", \"page_size\": \"4k\", "
              "\"cpu_placement\": \"dedicated\"}",
              1, 0, &m);
    assert_hv_ok(hv_kvm_migrate_replan(&m, host, &plan));
    assert_hv_ok(hv_kvm_migrate_place(plan, &m));
    for (unsigned int v = 0; v < 2; v++) {
        char cpu[16];

        assert_true(hv_plan_vcpu_pin(plan, v) >= 0);
        snprintf(cpu, sizeof(cpu), "%d", hv_plan_vcpu_pin(plan, v));
        assert_string_equal(affinity_of(&m, v), cpu);
    }
    hv_plan_free(plan);
    hv_kvm_snapshot_meta_clear(&m);
    hv_host_free(host);
}

/*
 * The spec left the nodes and the page size to the planner ("auto"): on a
 * host of one node with no free huge pages it would choose one node of 4 KiB
 * pages. The guest's layout cannot change: the plan here keeps the source's
 * two nodes (sharing the host node) - and refuses 2 MiB pages it cannot have.
 */
static void test_layout_held_to_the_source(void **state)
{
    hv_host *host;
    hv_kvm_snapshot_meta m;
    hv_plan *plan = NULL;

    (void)state;
    /* 4 KiB pages at the source: the node count is what is held */
    source_vm("{\"name\": \"auto4k\", \"vcpus\": 16, \"memory\": \"64GiB\", \"page_size\": "
              "\"4k\"}",
              2, 0, &m);
    assert_int_equal(m.node_count, 2);
    host = host_of(1, 32, GiB(250), 65536);
    assert_hv_ok(hv_kvm_migrate_replan(&m, host, &plan));
    assert_int_equal(hv_plan_vnuma_node_count(plan), 2);
    assert_finding(plan, "plan.vnuma.shared-host-node", HV_SEVERITY_WARNING);
    assert_hv_ok(hv_kvm_migrate_place(plan, &m));
    assert_int_equal(m.nodes[0].host_node, 0);
    assert_int_equal(m.nodes[1].host_node, 0);
    hv_plan_free(plan);
    hv_host_free(host);
    hv_kvm_snapshot_meta_clear(&m);

    /* "auto" chose 2 MiB pages at the source: a host without them refuses */
    source_vm("{\"name\": \"autopages\", \"vcpus\": 16, \"memory\": \"4GiB\"}", 2, 0, &m);
    assert_int_equal(m.node_count, 2);
    assert_int_equal(m.nodes[0].page_bytes, 2u << 20);
    host = host_of(1, 32, GiB(250), 0);
    assert_hv_error(hv_kvm_migrate_replan(&m, host, &plan), HV_E_PLAN);
    assert_null(plan);
    assert_error_mentions("this host cannot run the VM: vNUMA node 0 needs 1024 2 MiB pages on "
                          "host node 0, which has 0 free");
    assert_error_mentions("(plan.pages.short)");
    assert_string_equal(hv_error_path(hv_error_last()), "page_size");
    hv_host_free(host);
    /* with them, the same VM is planned there in 2 MiB pages */
    host = host_of(1, 32, GiB(250), 65536);
    assert_hv_ok(hv_kvm_migrate_replan(&m, host, &plan));
    assert_int_equal(hv_plan_vnode_page_bytes(hv_plan_vnuma_node_at(plan, 1)), 2u << 20);
    hv_plan_free(plan);
    hv_host_free(host);
    hv_kvm_snapshot_meta_clear(&m);
}

/* A host too small for the VM refuses it with the planner's first error and its code. */
static void test_host_too_small(void **state)
{
    hv_host *host = host_of(1, 2, GiB(60), 0);
    hv_kvm_snapshot_meta m;
    hv_plan *plan = NULL;

    (void)state;
    source_vm("{\"name\": \"wide\", \"vcpus\": 4, \"memory\": \"8GiB\", \"page_size\": \"4k\"}", 1,
              0, &m);
    assert_hv_error(hv_kvm_migrate_replan(&m, host, &plan), HV_E_PLAN);
    assert_null(plan);
    assert_error_mentions("this host cannot run the VM: 4 vCPUs on a host with 2 logical CPUs");
    assert_error_mentions("(plan.host.vcpus)");
    hv_host_free(host);
    host = host_of(1, 16, GiB(1), 0);
    assert_hv_error(hv_kvm_migrate_replan(&m, host, &plan), HV_E_PLAN);
    assert_error_mentions("vNUMA node 0 needs 8 GiB but host node 0 can give 1 GiB");
    assert_error_mentions("(plan.host.memory)");
    hv_host_free(host);
    hv_kvm_snapshot_meta_clear(&m);
}

/* META that gives one node another page size than the plan: no spec says that; refused. */
static void test_layout_that_would_change(void **state)
{
    hv_host *host = host_of(2, 8, GiB(60), 8192);
    hv_kvm_snapshot_meta m;
    hv_plan *plan = NULL;

    (void)state;
    source_vm("{\"name\": \"mixed\", \"vcpus\": 2, \"memory\": \"2GiB\", \"page_size\": \"2m\", "
              "\"vnuma\": [{\"vcpus\": 1, \"memory\": \"1GiB\"}, {\"vcpus\": 1, \"memory\": "
              "\"1GiB\"}]}",
              2, 4096, &m);
    assert_hv_error(hv_kvm_migrate_replan(&m, host, &plan), HV_E_PLAN);
    assert_null(plan);
    assert_error_mentions("gives vNUMA node 1 1 vCPU, 1 GiB in 2 MiB pages where the source runs "
                          "it with 1 vCPU, 1 GiB in 4 KiB pages: a live migration cannot change "
                          "the guest's memory layout");
    hv_kvm_snapshot_meta_clear(&m);
    hv_host_free(host);
}

/* A plan without a spec, or with one no spec file could hold: what hpcvirt never sends. */
static void test_plan_without_a_spec(void **state)
{
    static const char *const plans[] = {
        "{\"ok\": true}",
        "{\"spec\": \"wide\"}",
        "{\"spec\": {\"name\": \"x\", \"vcpus\": 0, \"memory\": \"1GiB\"}}",
        "{\"spec\": {\"name\": \"x\", \"vcpus\": 2, \"memory\": \"1GiB\", \"extra\": 1}}",
    };
    hv_host *host = host_of(1, 8, GiB(60), 0);

    (void)state;
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        hv_kvm_snapshot_meta m;
        hv_plan *plan = NULL;

        source_vm("{\"name\": \"x\", \"vcpus\": 2, \"memory\": \"1GiB\", \"page_size\": \"4k\"}", 1,
                  0, &m);
        free(m.plan_json);
        m.plan_json = strdup(plans[i]);
        assert_non_null(m.plan_json);
        assert_hv_error(hv_kvm_migrate_replan(&m, host, &plan), HV_E_MIGRATION);
        assert_null(plan);
        assert_error_mentions("the source's plan holds no VM spec this host can plan");
        hv_kvm_snapshot_meta_clear(&m);
    }
    hv_host_free(host);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placed_on_this_host),
        cmocka_unit_test(test_dedicated_vcpus_pinned_here),
        cmocka_unit_test(test_layout_held_to_the_source),
        cmocka_unit_test(test_host_too_small),
        cmocka_unit_test(test_layout_that_would_change),
        cmocka_unit_test(test_plan_without_a_spec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
