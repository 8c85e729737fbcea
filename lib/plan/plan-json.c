/*
 * plan/plan-json.c - plans as deterministic JSON (docs/plan-json.md): the
 * same host and spec give the same bytes.
 */
#include "plan/plan.h"
#include "core/error.h"
#include "core/json.h"

#include <string.h>

static const char *const device_type_names[] = {"", "accelerator", "nic", "rdma"};

static json_object *flag_list(unsigned int flags, const char *const *names)
{
    json_object *a = json_object_new_array();

    for (unsigned int b = 0; a && names[b]; b++) {
        json_object *s;

        if (!(flags & (1u << b)))
            continue;
        s = json_object_new_string(names[b]);
        if (!s || json_object_array_add(a, s) < 0) {
            json_object_put(s);
            json_object_put(a);
            return NULL;
        }
    }
    return a;
}

static json_object *device_to_json(const struct hv_plan_device *d)
{
    static const char *const rss[] = {"tcp", "udp", "esp", NULL};
    static const char *const tunnels[] = {"vxlan", "geneve", NULL};
    json_object *o = json_object_new_object();
    int rc = 0;

    if (!o)
        return NULL;
    rc |= hv_json_add_string(o, "type", device_type_names[d->type]);
    rc |= hv_json_add_string(o, "spec_path", d->spec_path);
    rc |= hv_json_add_string(o, "pci_address", d->pci_address);
    rc |= hv_json_add_string(o, "model", d->model);
    rc |= hv_json_add_int(o, "host_node", d->host_node);
    rc |= hv_json_add_int(o, "vnode", d->vnode);
    if (d->type == HV_PLAN_DEVICE_ACCELERATOR) {
        rc |= hv_json_add_string(o, "mode", hv_spec_accel_mode_name(d->mode));
        rc |= hv_json_add_string(o, "mdev_type", d->mdev_type);
        rc |= hv_json_add_u64(o, "bar_total_bytes", hv_plan_device_bar_total_bytes(d));
    } else if (d->type == HV_PLAN_DEVICE_NIC) {
        rc |= hv_json_add_int(o, "queues", d->queues);
        rc |= hv_json_add(o, "rss", flag_list(d->rss_flags, rss));
        rc |= hv_json_add(o, "tunnel_offloads", flag_list(d->tunnel_flags, tunnels));
    } else {
        rc |= hv_json_add_string(o, "mode", hv_spec_rdma_mode_name(d->mode));
        rc |= hv_json_add_string(o, "protocol", hv_spec_rdma_protocol_name(d->rdma_protocol));
        rc |= hv_json_add_string(o, "rdma_device", d->rdma_name);
        rc |= hv_json_add_int(o, "port", d->rdma_port);
        rc |= hv_json_add_int(o, "mtu", d->mtu);
    }
    if (rc < 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int add_array_item(json_object *array, json_object *item)
{
    if (!item || json_object_array_add(array, item) < 0) {
        json_object_put(item);
        return -1;
    }
    return 0;
}

static json_object *plan_to_json_object(const hv_plan *plan)
{
    json_object *root = json_object_new_object(), *topo = json_object_new_object();
    json_object *vnuma = json_object_new_object(), *nodes = json_object_new_array();
    json_object *dist = json_object_new_array(), *pins = json_object_new_array();
    json_object *mmio = json_object_new_object(), *devices = json_object_new_array();
    json_object *mig = json_object_new_object(), *reasons = json_object_new_array();
    int rc = 0;

    if (!root || !topo || !vnuma || !nodes || !dist || !pins || !mmio || !devices || !mig ||
        !reasons) {
        json_object *all[] = {root, topo, vnuma, nodes, dist, pins, mmio, devices, mig, reasons};

        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            json_object_put(all[i]);
        return NULL;
    }
    rc |= hv_json_add_bool(root, "ok", plan->ok);
    rc |= hv_json_add_string(root, "name", plan->spec->name);
    rc |= hv_json_add_string(root, "profile", plan->profile->name);
    rc |= hv_json_add(root, "findings", hv_findings_to_json(&plan->findings));
    rc |= hv_json_add_string(root, "firmware", hv_spec_firmware_name(plan->firmware));
    rc |= hv_json_add_int(root, "vcpus", plan->spec->vcpus);
    rc |= hv_json_add_u64(root, "memory_bytes", plan->spec->memory_bytes);
    rc |= hv_json_add_string(root, "cpu_placement",
                             hv_spec_cpu_placement_name(plan->spec->cpu_placement));
    rc |= hv_json_add_int(topo, "sockets", plan->sockets);
    rc |= hv_json_add_int(topo, "cores", plan->cores_per_socket);
    rc |= hv_json_add_int(topo, "threads", plan->threads_per_core);
    rc |= hv_json_add_bool(topo, "iommu_eim", plan->needs_iommu_eim);
    rc |= hv_json_add(root, "topology", topo);

    rc |= hv_json_add_string(vnuma, "policy", hv_spec_vnuma_policy_name(plan->spec->vnuma_policy));
    for (size_t i = 0; i < plan->nvnodes && rc == 0; i++) {
        const struct hv_plan_vnode *vn = &plan->vnodes[i];
        json_object *n = json_object_new_object(), *row = json_object_new_array();

        if (!n || !row) {
            json_object_put(n);
            json_object_put(row);
            rc = -1;
            break;
        }
        rc |= hv_json_add_int(n, "id", vn->id);
        rc |= hv_json_add_int(n, "vcpus", vn->vcpu_count);
        rc |= hv_json_add_string(n, "vcpu_list", vn->vcpus_text);
        rc |= hv_json_add_u64(n, "memory_bytes", vn->memory_bytes);
        rc |= hv_json_add_int(n, "host_node", vn->host_node);
        rc |= hv_json_add_u64(n, "page_bytes", vn->page_bytes);
        rc |= hv_json_add_u64(n, "page_count", vn->page_count);
        rc |= hv_json_add_string(n, "host_cpus", vn->host_cpus_text ? vn->host_cpus_text : "");
        rc |= add_array_item(nodes, n);
        for (size_t j = 0; j < plan->nvnodes; j++)
            rc |= hv_json_array_add_int(row, plan->distances[i * plan->nvnodes + j]);
        rc |= add_array_item(dist, row);
    }
    rc |= hv_json_add(vnuma, "nodes", nodes);
    rc |= hv_json_add(vnuma, "distances", dist);
    rc |= hv_json_add(root, "vnuma", vnuma);
    for (unsigned int v = 0; plan->spec->cpu_placement == HV_CPU_PLACEMENT_DEDICATED &&
                             plan->vcpu_pins && v < plan->spec->vcpus && rc == 0;
         v++)
        rc |= hv_json_array_add_int(pins, plan->vcpu_pins[v]);
    rc |= hv_json_add(root, "vcpu_pins", pins);
    rc |= hv_json_add_string(root, "emulator_cpus",
                             plan->emulator_cpus_text ? plan->emulator_cpus_text : "");

    rc |= hv_json_add_u64(mmio, "bar_total_bytes", plan->bar_total_bytes);
    rc |= hv_json_add_u64(mmio, "window_bytes", plan->window_bytes);
    rc |= hv_json_add_u64(mmio, "window_base", plan->window_base);
    rc |= hv_json_add_u64(mmio, "low_ram_bytes", plan->low_ram_bytes);
    rc |= hv_json_add_u64(mmio, "high_ram_bytes", plan->high_ram_bytes);
    rc |= hv_json_add_u64(mmio, "hole32_used_bytes", plan->hole32_bytes_used);
    rc |= hv_json_add_int(mmio, "guest_phys_bits_required", plan->guest_phys_bits_required);
    rc |= hv_json_add_int(mmio, "guest_phys_bits",
                          plan->guest_phys_bits ? plan->guest_phys_bits
                                                : plan->profile->default_guest_phys_bits);
    rc |= hv_json_add_string(mmio, "guest_phys_bits_mode",
                             plan->guest_phys_bits_passthrough ? "passthrough"
                             : plan->guest_phys_bits           ? "emulate"
                                                               : "default");
    rc |= hv_json_add_int(mmio, "host_phys_bits", plan->host_phys_bits);
    rc |= hv_json_add_bool(mmio, "feasible", plan->mmio_feasible);
    rc |= hv_json_add(root, "mmio", mmio);

    for (size_t d = 0; d < plan->ndevices && rc == 0; d++)
        rc |= add_array_item(devices, device_to_json(&plan->devices[d]));
    rc |= hv_json_add(root, "devices", devices);
    rc |= hv_json_add_bool(mig, "live", plan->nreasons == 0);
    for (size_t i = 0; i < plan->nreasons && rc == 0; i++)
        rc |= add_array_item(reasons, json_object_new_string(plan->reasons[i]));
    rc |= hv_json_add(mig, "reasons", reasons);
    rc |= hv_json_add(root, "migration", mig);
    rc |= hv_json_add(root, "spec", hv_vm_spec_to_json_object(plan->spec));
    if (rc < 0) {
        json_object_put(root);
        hv_error_nomem();
        return NULL;
    }
    return root;
}

int hv_plan_to_json(const hv_plan *plan, unsigned int flags, char **json)
{
    HV_CHECK_ARG(plan, "plan");
    HV_CHECK_ARG(json, "json");
    return hv_json_emit(plan_to_json_object(plan), flags, json);
}
