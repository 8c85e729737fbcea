/*
 * kvm/vm.c - a VM of the built-in engine and its lifecycle: created from a
 * plan (layout, guest RAM per vNUMA node, payload, vCPUs), started (page
 * tables, boot info, image, entry state, threads), paused at a consistent
 * point, resumed, destroyed, waited for; nothing is left half-created when
 * a step fails.
 */
#include "kvm/engine.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"
#include "kvm/bootinfo.h"
#include "kvm/disks.h"
#include "kvm/guest-file.h"
#include "kvm/pagetable.h"
#include "kvm/vcpu-state.h"
#include "kvm/linux-boot.h"
#include "kvm/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <hpcvirt/guest.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The largest payload file read (the image itself must fit in node 0). */
#define PAYLOAD_MAX_BYTES (UINT64_C(1) << 30)

/* ---- creation ---------------------------------------------------------------- */

/* The engine has no device model: passthrough, vGPUs, NICs and RDMA need libvirt. */
static int refuse_devices(const hv_plan *plan)
{
    for (size_t i = 0; i < hv_plan_device_count(plan); i++) {
        const hv_plan_device *d = hv_plan_device_at(plan, i);
        int type = hv_plan_device_type_of(d);
        const char *kind = type == HV_PLAN_DEVICE_ACCELERATOR ? "accelerator"
                           : type == HV_PLAN_DEVICE_NIC       ? "NIC"
                           : type == HV_PLAN_DEVICE_RDMA      ? "RDMA device"
                                                              : "device";

        return hv_error_set(HV_E_UNSUPPORTED, hv_plan_device_spec_path(d),
                            "the built-in engine has no device model, so it cannot give the VM "
                            "its %s (%s%s%s): create it through the libvirt backend (a "
                            "libvirt: URI such as libvirt:qemu:///system), which realizes "
                            "every device but paravirtual RDMA (no backend realizes pvrdma: "
                            "give RDMA attachments mode \"sr-iov\" or \"passthrough\")",
                            kind, hv_plan_device_spec_path(d),
                            *hv_plan_device_pci_address(d) ? " " : "",
                            hv_plan_device_pci_address(d));
    }
    return 0;
}

/* The layout's node requests from the plan's vNUMA nodes. */
static int requests_from_plan(const hv_plan *plan, hv_kvm_node_request *req, size_t *n)
{
    *n = hv_plan_vnuma_node_count(plan);
    if (*n == 0 || *n > HV_KVM_MAX_NODES)
        return hv_error_set(HV_E_RANGE, "vnuma",
                            "the plan has %zu vNUMA nodes; the built-in engine runs 1 to %d", *n,
                            HV_KVM_MAX_NODES);
    for (size_t i = 0; i < *n; i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);

        req[i].bytes = hv_plan_vnode_memory_bytes(node);
        req[i].vcpu_count = hv_plan_vnode_vcpu_count(node);
        req[i].page_bytes = hv_plan_vnode_page_bytes(node);
        req[i].host_node = hv_plan_vnode_host_node(node);
    }
    return 0;
}

/* Where vCPU v may run: its pinned host CPU, else its vNUMA node's host CPUs. */
static int vcpu_affinity(const hv_plan *plan, uint32_t v, hv_cpuset *set)
{
    int pin = hv_plan_vcpu_pin(plan, v);

    if (pin >= 0)
        return hv_cpuset_add(set, (unsigned int)pin);
    for (size_t i = 0; i < hv_plan_vnuma_node_count(plan); i++) {
        const hv_plan_vnode *node = hv_plan_vnuma_node_at(plan, i);
        hv_cpuset vcpus = HV_CPUSET_EMPTY;
        bool mine;
        int rc = hv_cpuset_parse(&vcpus, hv_plan_vnode_vcpus(node), "vnuma");

        if (rc < 0)
            return rc;
        mine = hv_cpuset_has(&vcpus, v);
        hv_cpuset_clear(&vcpus);
        if (mine)
            return *hv_plan_vnode_host_cpus(node)
                       ? hv_cpuset_parse(set, hv_plan_vnode_host_cpus(node), "host_cpus")
                       : 0;
    }
    return 0;
}

static void vm_free(hv_kvm_vm *vm);

/* Free the shells made ahead of need for clones of `vm` (kvm/clone.c makes them). */
static void drop_shells(hv_kvm_vm *vm)
{
    hv_kvm_vm *shell;

    pthread_mutex_lock(&vm->lock);
    shell = vm->shells;
    vm->shells = NULL;
    vm->nshells = 0;
    pthread_mutex_unlock(&vm->lock);
    while (shell) {
        hv_kvm_vm *next = shell->next_shell;

        vm_free(shell);
        shell = next;
    }
}

static void vm_free(hv_kvm_vm *vm)
{
    hv_kvm_conn *conn = vm->conn;

    drop_shells(vm);
    for (uint32_t i = 0; vm->vcpus && i < vm->nvcpus; i++)
        hv_kvm_vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    for (size_t i = 0; i < vm->nram; i++)
        hv_kvm_ram_destroy(&vm->ram[i]);
    if (vm->fd >= 0)
        close(vm->fd);
    free(vm->payload);
    hv_kvm_linux_free(vm->linux_guest);
    free(vm->plan_json);
    free(vm->console);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
    hv_kvm_conn_unref(conn);
}

void hv_kvm_vm_discard(hv_kvm_vm *vm)
{
    if (vm)
        vm_free(vm);
}

int hv_kvm_vm_publish(hv_kvm_vm *vm)
{
    int rc = hv_kvm_conn_add(vm->conn, vm);

    if (rc < 0)
        vm_free(vm);
    return rc;
}

/* A new KVM VM for `vm` in *fd, with a Linux guest's platform; no memory, no vCPUs yet. */
static int create_kvm_vm(hv_kvm_vm *vm, int *fd)
{
    int rc;

    do
        *fd = ioctl(vm->conn->sys.fd, KVM_CREATE_VM, 0);
    while (*fd < 0 && errno == EINTR);
    if (*fd < 0)
        return hv_error_set(HV_E_IO, NULL, "KVM_CREATE_VM failed: %s", strerror(errno));
    if (vm->linux_guest && (rc = hv_kvm_linux_platform_create(*fd)) < 0) {
        close(*fd);
        *fd = -1;
        return rc;
    }
    return 0;
}

int hv_kvm_vm_new(hv_kvm_conn *conn, const hv_kvm_vm_params *p, hv_kvm_vm **out)
{
    hv_kvm_vm *vm;
    int rc;

    *out = NULL;
    if (!p->name || !*p->name || strlen(p->name) >= HV_KVM_NAME_BYTES)
        return hv_error_set(HV_E_INVAL, "name",
                            "the built-in engine needs a VM name of 1 to %d bytes",
                            HV_KVM_NAME_BYTES - 1);
    vm = hv_calloc(1, sizeof(*vm));
    if (!vm)
        return HV_E_NOMEM;
    vm->conn = conn;
    hv_kvm_conn_ref(conn); /* dropped by vm_free */
    vm->fd = -1;
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    hv_format(vm->name, sizeof(vm->name), "%s", p->name);
    hv_format(vm->payload_path, sizeof(vm->payload_path), "%s",
              p->payload_path ? p->payload_path : "payload");
    vm->console_fn = p->console;
    vm->console_data = p->console_data;
    vm->progress_fn = p->progress;
    vm->progress_data = p->progress_data;
    vm->state = HV_VM_STATE_DEFINED;

    /* a Linux guest's RAM leaves [3 GiB, 4 GiB) to its devices, as a PC's does */
    if ((rc = hv_kvm_layout_init_with_hole(&vm->layout, p->nodes, p->node_count,
                                           p->linux_boot ? HV_LINUX_HOLE_BASE : 0)) < 0)
        goto fail;
    if (vm->layout.vcpu_count > (uint32_t)conn->sys.max_vcpus) {
        rc = hv_error_set(HV_E_RANGE, "vcpus",
                          "the VM has %u vCPUs but this KVM allows %d per VM: plan fewer",
                          vm->layout.vcpu_count, conn->sys.max_vcpus);
        goto fail;
    }
    if (p->plan_json && !(vm->plan_json = hv_strdup(p->plan_json))) {
        rc = HV_E_NOMEM;
        goto fail;
    }
    if (p->linux_boot) {
        if ((rc = hv_kvm_linux_new(p->linux_boot, vm, &vm->linux_guest)) < 0)
            goto fail;
    } else {
        vm->payload = hv_reallocarray(NULL, p->payload_bytes ? p->payload_bytes : 1, 1);
        if (!vm->payload) {
            rc = HV_E_NOMEM;
            goto fail;
        }
        memcpy(vm->payload, p->payload, p->payload_bytes);
        vm->payload_bytes = p->payload_bytes;
        if ((rc = hv_elf_parse(vm->payload, vm->payload_bytes, vm->payload_path, &vm->image)) < 0 ||
            (rc = hv_kvm_layout_place_image(&vm->layout, vm->image.base, vm->image.end)) < 0)
            goto fail;
    }

    if ((rc = create_kvm_vm(vm, &vm->fd)) < 0)
        goto fail;
    for (size_t i = 0; i < vm->layout.node_count; i++) {
        const hv_kvm_node_layout *node = &vm->layout.nodes[i];

        rc = hv_kvm_ram_init(&vm->ram[i], vm->name, (uint32_t)i, node->base, node->bytes,
                             node->page_bytes, node->host_node);
        if (rc < 0)
            goto fail;
        if (node->high_base)
            hv_kvm_ram_split(&vm->ram[i], node->low_bytes, node->high_base);
        vm->nram = i + 1;
    }
    vm->nvcpus = vm->layout.vcpu_count;
    vm->vcpus = hv_calloc(vm->nvcpus, sizeof(*vm->vcpus));
    if (!vm->vcpus) {
        rc = HV_E_NOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        vm->vcpus[i].fd = -1;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        if ((rc = hv_kvm_vcpu_create(vm, &vm->vcpus[i], i)) < 0 ||
            (p->affinity && (rc = hv_cpuset_copy(&vm->vcpus[i].affinity, &p->affinity[i])) < 0))
            goto fail;
    }
    *out = vm;
    return 0;

fail:
    vm_free(vm);
    return rc;
}

int hv_kvm_vm_register_ram(hv_kvm_vm *vm)
{
    for (size_t i = 0; i < vm->nram; i++) {
        int rc = vm->ram[i].registered ? 0 : hv_kvm_ram_register(&vm->ram[i], vm->fd);

        if (rc < 0)
            return rc;
    }
    return 0;
}

int hv_kvm_vm_create(hv_kvm_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts,
                     hv_kvm_vm **out)
{
    hv_kvm_node_request req[HV_KVM_MAX_NODES];
    hv_kvm_vm_params params;
    hv_cpuset *affinity = NULL;
    uint8_t *payload = NULL;
    char *plan_json = NULL;
    hv_kvm_vm *vm = NULL;
    uint32_t nvcpus = hv_plan_vcpus(plan);
    const char *kernel = hv_vm_spec_boot_kernel(hv_plan_spec(plan));
    hv_kvm_linux_params linux_boot;
    hv_kvm_disks disks = {.count = 0};
    int *distances = NULL;
    int rc;

    *out = NULL;
    if (kernel && opts->payload && *opts->payload)
        return hv_error_set(HV_E_INVAL, "payload",
                            "the VM has a Linux kernel to boot (boot.kernel) and a payload: "
                            "give it one or the other");
    if (!kernel && (!opts->payload || !*opts->payload))
        return hv_error_set(HV_E_INVAL, "payload",
                            "the built-in engine runs a guest payload or boots a Linux kernel: "
                            "set hv_vm_create_options.payload to a static ELF64 file "
                            "(docs/guest-abi.md; build/guest/hello.elf is one), or give the "
                            "spec a boot source (hv_vm_spec_set_boot(), docs/spec-json.md)");
    if ((rc = refuse_devices(plan)) < 0 ||
        (rc = hv_kvm_disks_open(hv_plan_spec(plan), kernel != NULL, &disks)) < 0)
        return rc;
    memset(&params, 0, sizeof(params));
    params.name = hv_vm_spec_name(hv_plan_spec(plan));
    params.nodes = req;
    params.payload_path = opts->payload;
    params.console = opts->console;
    params.console_data = opts->console_data;
    params.progress = opts->progress;
    params.progress_data = opts->progress_data;
    if ((rc = requests_from_plan(plan, req, &params.node_count)) < 0)
        goto out;
    if (kernel) {
        size_t n = params.node_count;

        if (!(distances = hv_reallocarray(NULL, n * n, sizeof(int)))) {
            rc = HV_E_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < n * n; i++)
            distances[i] = hv_plan_vnuma_distance(plan, i / n, i % n);
        memset(&linux_boot, 0, sizeof(linux_boot));
        linux_boot.kernel = kernel;
        linux_boot.initrd = hv_vm_spec_boot_initrd(hv_plan_spec(plan));
        linux_boot.cmdline = hv_vm_spec_boot_cmdline(hv_plan_spec(plan));
        linux_boot.topology.threads_per_core = hv_plan_threads_per_core(plan);
        linux_boot.topology.cores_per_socket = hv_plan_cores_per_socket(plan);
        linux_boot.distances = distances;
        linux_boot.disks = &disks;
        linux_boot.channel = opts->channel;
        linux_boot.channel_data = opts->channel_data;
        params.linux_boot = &linux_boot;
        params.payload_path = kernel;
    } else if ((rc = hv_kvm_guest_file_read(opts->payload, "payload", PAYLOAD_MAX_BYTES, &payload,
                                            &params.payload_bytes)) < 0) {
        goto out;
    }
    params.payload = payload;
    affinity = hv_calloc(nvcpus ? nvcpus : 1, sizeof(*affinity));
    if (!affinity || hv_plan_to_json(plan, HV_JSON_COMPACT, &plan_json) < 0) {
        rc = HV_E_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < nvcpus; i++)
        if ((rc = vcpu_affinity(plan, i, &affinity[i])) < 0)
            goto out;
    params.affinity = affinity;
    params.plan_json = plan_json;
    if ((rc = hv_kvm_vm_new(conn, &params, &vm)) < 0)
        goto out;
    for (size_t i = 0; i < vm->nram && rc == 0; i++)
        rc = hv_kvm_ram_back_fresh(&vm->ram[i]);
    if (rc == 0)
        rc = hv_kvm_vm_register_ram(vm);
    if (rc < 0) {
        vm_free(vm);
        goto out;
    }
    if ((rc = hv_kvm_vm_publish(vm)) == 0)
        *out = vm;
out:
    /* the VM's devices hold their own descriptors; images made for a VM not made go again */
    hv_kvm_disks_close(&disks, rc < 0);
    for (uint32_t i = 0; affinity && i < nvcpus; i++)
        hv_cpuset_clear(&affinity[i]);
    free(affinity);
    hv_free(plan_json);
    free(payload);
    free(distances);
    return rc;
}

int hv_kvm_vm_remove(hv_kvm_vm *vm)
{
    int state;

    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state == HV_VM_STATE_RUNNING || state == HV_VM_STATE_PAUSED)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s is %s: destroy or stop it before removing its definition", vm->name,
                            hv_vm_state_name(state));
    if (!hv_kvm_conn_remove(vm->conn, vm))
        return hv_error_set(HV_E_NOTFOUND, NULL, "%s was already undefined", vm->name);
    hv_kvm_vm_unref(vm); /* the list's reference; handles keep the rest alive */
    return 0;
}

void hv_kvm_vm_forget(hv_kvm_vm *vm)
{
    hv_kvm_vm_destroy(vm);
    hv_kvm_vm_remove(vm);
    hv_kvm_vm_unref(vm);
}

void hv_kvm_vm_unref(hv_kvm_vm *vm)
{
    if (!vm || hv_kvm_conn_vm_unref(vm) > 0)
        return;
    /* the last handle: a VM still running is powered off first */
    hv_kvm_vm_destroy(vm);
    vm_free(vm);
}

/* ---- starting ------------------------------------------------------------------ */

/* The boot info, faulted in for the engine to write (a hugetlb view copies its page now). */
static int boot_info_for_write(hv_kvm_vm *vm, hv_guest_boot_info **info)
{
    int node = hv_kvm_layout_node_of(&vm->layout, HV_GUEST_BOOT_INFO_ADDR, sizeof(**info));

    if (node < 0)
        return hv_error_set(HV_E_INTERNAL, NULL, "the boot info is outside guest memory");
    *info = (hv_guest_boot_info *)(void *)hv_kvm_vm_guest_ptr(vm, HV_GUEST_BOOT_INFO_ADDR,
                                                              sizeof(**info));
    return hv_kvm_ram_prepare_access(&vm->ram[node],
                                     HV_GUEST_BOOT_INFO_ADDR - vm->ram[node].guest_base,
                                     sizeof(**info), true, "the boot info");
}

/* Join the vCPU threads (they have ended or been told to); vm->lock not held. */
static void join_threads(hv_kvm_vm *vm)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        bool started;

        pthread_mutex_lock(&vm->lock);
        started = vm->vcpus[i].thread_started;
        pthread_mutex_unlock(&vm->lock);
        if (!started)
            continue;
        pthread_join(vm->vcpus[i].thread, NULL);
        pthread_mutex_lock(&vm->lock);
        vm->vcpus[i].thread_started = false;
        vm->vcpus[i].state = HV_KVM_VCPU_IDLE;
        pthread_mutex_unlock(&vm->lock);
    }
}

/*
 * A Linux guest that ran boots again in a new KVM VM: fresh interrupt
 * controllers, PIT, clock and vCPUs (all but the first waiting for INIT/SIPI,
 * as at power-on), zeroed memory at the same host addresses, its devices
 * reset - nothing of the last run's machine to reset by hand. The new VM
 * takes the old one's descriptor number (dup2), so a device raising its
 * interrupt meanwhile reaches one VM or the other, never a stale number.
 * Its vCPU threads have ended.
 */
static int renew_linux_machine(hv_kvm_vm *vm)
{
    int fd, rc;

    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        hv_cpuset affinity = vm->vcpus[i].affinity;

        vm->vcpus[i].affinity = (hv_cpuset)HV_CPUSET_EMPTY; /* kept across the destroy */
        hv_kvm_vcpu_destroy(&vm->vcpus[i]);
        vm->vcpus[i].affinity = affinity;
    }
    if ((rc = create_kvm_vm(vm, &fd)) < 0)
        return rc;
    if (dup2(fd, vm->fd) < 0) {
        rc = hv_error_set(HV_E_IO, NULL, "replacing %s's KVM VM failed: %s", vm->name,
                          strerror(errno));
        close(fd);
        return rc;
    }
    close(fd);
    for (size_t i = 0; i < vm->nram && rc == 0; i++) {
        vm->ram[i].registered = false;
        rc = hv_kvm_ram_back_fresh(&vm->ram[i]);
    }
    if (rc == 0)
        rc = hv_kvm_vm_register_ram(vm);
    for (uint32_t i = 0; i < vm->nvcpus && rc == 0; i++) {
        hv_cpuset affinity = vm->vcpus[i].affinity;

        rc = hv_kvm_vcpu_create(vm, &vm->vcpus[i], i);
        hv_cpuset_clear(&vm->vcpus[i].affinity);
        vm->vcpus[i].affinity = affinity;
    }
    if (rc == 0)
        hv_kvm_linux_reset_devices(vm->linux_guest);
    return rc;
}

/* Page tables, boot info and the image in guest memory; every vCPU's entry state. */
static int prepare_guest(hv_kvm_vm *vm)
{
    uint8_t *low;
    uint64_t cr3 = 0;
    size_t used = 0;
    int rc;

    if (vm->linux_guest) {
        if (vm->ran && (rc = renew_linux_machine(vm)) < 0)
            return rc;
        return hv_kvm_linux_prepare(vm);
    }
    /* a VM that ran, or that views a snapshot or template, boots on fresh memory */
    for (size_t i = 0; i < vm->nram; i++)
        if ((vm->ran || vm->ram[i].kind != HV_KVM_RAM_FRESH) &&
            (rc = hv_kvm_ram_back_fresh(&vm->ram[i])) < 0)
            return rc;
    vm->clone_id = 0;
    vm->clone_index = 0;
    vm->generation = 0;
    low = hv_kvm_vm_guest_ptr(vm, 0, HV_GUEST_LOAD_MIN);
    if (!low)
        return hv_error_set(HV_E_INTERNAL, NULL, "vNUMA node 0 does not start at guest address 0");
    rc = hv_pagetable_build(low + HV_GUEST_PAGE_TABLES_ADDR,
                            HV_GUEST_LOAD_MIN - HV_GUEST_PAGE_TABLES_ADDR, &vm->layout,
                            vm->conn->sys.gib_pages, &cr3, &used);
    if (rc < 0)
        return rc;
    rc = hv_bootinfo_write(low + HV_GUEST_BOOT_INFO_ADDR, HV_GUEST_BOOT_INFO_MAX_BYTES, &vm->layout,
                           0, 0, &used);
    if (rc < 0)
        return rc;
    {
        /* the TSC's rate, for guests that pace themselves (KVM gives every vCPU the same) */
        int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
        uint64_t hz = khz > 0 ? (uint64_t)khz * 1000 : 0;

        memcpy(low + HV_GUEST_BOOT_INFO_ADDR + offsetof(hv_guest_boot_info, tsc_hz), &hz,
               sizeof(hz));
    }
    rc = hv_elf_load(vm->payload, vm->payload_bytes, &vm->image, hv_kvm_vm_guest_ptr, vm);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        if ((rc = hv_kvm_vcpu_setup(&vm->vcpus[i], cr3, vm->image.entry)) < 0)
            return rc;
        vm->vcpus[i].stopped = false;
        vm->vcpus[i].status = 0;
        vm->vcpus[i].last_marker = 0;
        vm->vcpus[i].marker_count = 0;
    }
    return 0;
}

int hv_kvm_vm_set_identity(hv_kvm_vm *vm, uint64_t clone_id, uint64_t clone_index,
                           uint64_t generation)
{
    hv_guest_boot_info *info;
    int rc;

    if (vm->linux_guest) {
        /* a Linux guest has no boot info: the engine keeps its identity (hv_vm_clone_identity) */
        vm->clone_id = clone_id;
        vm->clone_index = clone_index;
        vm->generation = generation;
        return 0;
    }
    if ((rc = boot_info_for_write(vm, &info)) < 0)
        return rc;
    /* one page of the guest's memory: a copy-on-write view copies just that page */
    memcpy(&info->clone_id, &clone_id, sizeof(clone_id));
    memcpy(&info->clone_index, &clone_index, sizeof(clone_index));
    memcpy(&info->generation, &generation, sizeof(generation));
    vm->clone_id = clone_id;
    vm->clone_index = clone_index;
    vm->generation = generation;
    return 0;
}

int hv_kvm_vm_set_identity_text(hv_kvm_vm *vm, const char *text)
{
    /* where it goes follows from the layout, never from what the guest may have written */
    uint32_t offset = (uint32_t)((sizeof(hv_guest_boot_info) +
                                  vm->layout.node_count * sizeof(hv_guest_boot_node) + 7) &
                                 ~(size_t)7);
    size_t len = text ? strlen(text) : 0;
    int node = hv_kvm_layout_node_of(&vm->layout, HV_GUEST_BOOT_INFO_ADDR, offset + len);
    hv_guest_boot_info *info;
    uint32_t bytes = (uint32_t)len;
    int rc;

    if (vm->linux_guest) {
        if (len == 0)
            return 0;
        return hv_error_set(HV_E_UNSUPPORTED, "identities",
                            "%s is a Linux guest, which has no boot info to write an identity "
                            "into: send each clone its identity over its channel "
                            "(hv_vm_channel_send())",
                            vm->name);
    }
    if (len > HV_GUEST_IDENTITY_MAX_BYTES || offset + len > HV_GUEST_BOOT_INFO_MAX_BYTES ||
        node < 0)
        return hv_error_set(HV_E_INVAL, "identities",
                            "an identity of %zu bytes does not fit the boot info (at most %u)", len,
                            HV_GUEST_IDENTITY_MAX_BYTES);
    if ((rc = boot_info_for_write(vm, &info)) < 0 ||
        (rc = hv_kvm_ram_prepare_access(&vm->ram[node],
                                        HV_GUEST_BOOT_INFO_ADDR - vm->ram[node].guest_base,
                                        offset + len, true, "the identity")) < 0)
        return rc;
    if (len == 0)
        offset = 0; /* none */
    else
        memcpy((uint8_t *)info + offset, text, len);
    memcpy(&info->identity_offset, &offset, sizeof(offset));
    memcpy(&info->identity_bytes, &bytes, sizeof(bytes));
    return 0;
}

int hv_kvm_vm_set_clone_count(hv_kvm_vm *vm, uint64_t clone_count)
{
    hv_guest_boot_info *info;
    int rc;

    if (vm->linux_guest)
        return 0; /* no boot info */
    if ((rc = boot_info_for_write(vm, &info)) < 0)
        return rc;
    /* an aligned 8-byte store: a vCPU that reads it while running sees old or new */
    __atomic_store_n(&info->clone_count, clone_count, __ATOMIC_RELEASE);
    return 0;
}

/* Start a thread for every vCPU that still runs; on failure the VM is powered off. */
static int start_threads(hv_kvm_vm *vm)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        int rc;

        if (vm->vcpus[i].stopped)
            continue;
        rc = hv_kvm_vcpu_start_thread(&vm->vcpus[i]);
        if (rc < 0) {
            char message[512];

            hv_format(message, sizeof(message), "%s", hv_error_message(hv_error_last()));
            /* the threads already running stop again; those never started are done */
            pthread_mutex_lock(&vm->lock);
            for (uint32_t j = i; j < vm->nvcpus; j++)
                if (!vm->vcpus[j].stopped) {
                    vm->vcpus[j].state = HV_KVM_VCPU_DONE;
                    vm->running--;
                }
            pthread_mutex_unlock(&vm->lock);
            hv_kvm_vm_destroy(vm);
            return hv_error_set(rc, NULL, "%s", message);
        }
    }
    return 0;
}

int hv_kvm_vm_launch(hv_kvm_vm *vm, bool paused)
{
    uint32_t running = 0;

    pthread_mutex_lock(&vm->lock);
    vm->ran = true;
    vm->pause_requested = paused;
    vm->stop_requested = false;
    vm->crashed = vm->exit_code_set = false;
    vm->exit_code = 0;
    vm->failure[0] = '\0';
    vm->started_ns = hv_clock_monotonic_ns();
    vm->ended_ns = 0;
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        hv_kvm_vcpu *vcpu = &vm->vcpus[i];

        /* hv_vm_stat() may read them at any time */
        for (size_t e = 0; e < sizeof(vcpu->exits) / sizeof(vcpu->exits[0]); e++)
            __atomic_store_n(&vcpu->exits[e], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&vcpu->guest_ns, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&vcpu->last_exit_reason, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        /* a paused VM gets its threads when it is resumed: idle clones cost no thread */
        vcpu->state = vcpu->stopped ? HV_KVM_VCPU_DONE
                      : paused      ? HV_KVM_VCPU_PARKED
                                    : HV_KVM_VCPU_RUNNING;
        running += !vcpu->stopped;
    }
    vm->running = running;
    vm->threads_pending = paused && running > 0;
    vm->state = paused ? HV_VM_STATE_PAUSED : HV_VM_STATE_RUNNING;
    for (size_t i = 0; i < vm->nram; i++)
        if (vm->ram[i].kind == HV_KVM_RAM_PRIVATE)
            vm->ram[i].diverged = true; /* its guest may write from now on */
    if (running == 0) {
        /* every vCPU had stopped itself: the run is over at once */
        vm->state = HV_VM_STATE_EXITED;
        vm->ended_ns = vm->started_ns;
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            if (vm->vcpus[i].status) {
                vm->exit_code = (int)vm->vcpus[i].status;
                break;
            }
        pthread_cond_broadcast(&vm->cond);
    }
    pthread_mutex_unlock(&vm->lock);
    return paused || running == 0 ? 0 : start_threads(vm);
}

int hv_kvm_vm_start(hv_kvm_vm *vm)
{
    int rc, state;

    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state == HV_VM_STATE_RUNNING || state == HV_VM_STATE_PAUSED)
        return hv_error_set(HV_E_STATE, NULL, "%s is already %s", vm->name,
                            hv_vm_state_name(state));
    join_threads(vm); /* a previous run's */
    if ((rc = prepare_guest(vm)) < 0)
        return rc;
    pthread_mutex_lock(&vm->lock);
    vm->console_head = vm->console_kept = 0;
    vm->console_total = 0;
    pthread_mutex_unlock(&vm->lock);
    return hv_kvm_vm_launch(vm, false);
}

int hv_kvm_vm_capture(hv_kvm_vm *vm, hv_kvm_vcpu_state *states)
{
    int state;

    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state == HV_VM_STATE_RUNNING)
        return hv_error_set(HV_E_STATE, NULL, "%s must be paused before its state is read",
                            vm->name);
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        hv_kvm_vcpu *vcpu = &vm->vcpus[i];
        int rc = hv_kvm_vcpu_state_get(vcpu->fd, vm->conn->sys.fd, i, vm->linux_guest != NULL,
                                       &states[i]);

        if (rc < 0)
            return rc;
        pthread_mutex_lock(&vm->lock);
        states[i].run_state = vcpu->stopped ? HV_KVM_VCPU_STATE_STOPPED : HV_KVM_VCPU_STATE_RUNNING;
        states[i].status = vcpu->status;
        states[i].last_marker = vcpu->last_marker;
        states[i].marker_count = vcpu->marker_count;
        pthread_mutex_unlock(&vm->lock);
    }
    return 0;
}

/* ---- pause, resume, destroy, wait ----------------------------------------------- */

/* Every vCPU thread still alive is parked. vm->lock held. */
static bool all_parked_locked(const hv_kvm_vm *vm)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].state == HV_KVM_VCPU_RUNNING)
            return false;
    return true;
}

/* No vCPU thread is left: all done (or never started). vm->lock held. */
static bool all_done_locked(const hv_kvm_vm *vm)
{
    return vm->running == 0;
}

/*
 * Kick the vCPUs and wait until `done` holds, kicking those still in the
 * guest again every 100 ms: a kick is never lost (see the vCPU thread's
 * registration), and this is the belt to those braces - a vCPU left in the
 * guest would hang pause and destroy for good. vm->lock held.
 */
static void kick_until_locked(hv_kvm_vm *vm, bool (*done)(const hv_kvm_vm *))
{
    hv_kvm_vcpus_kick_locked(vm->vcpus, vm->nvcpus, NULL);
    pthread_cond_broadcast(&vm->cond); /* a throttled vCPU asleep wakes to see why */
    while (!done(vm)) {
        struct timespec deadline;

        hv_clock_deadline_ms(&deadline, 100);
        if (pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT)
            for (uint32_t i = 0; i < vm->nvcpus; i++)
                if (vm->vcpus[i].state == HV_KVM_VCPU_RUNNING)
                    hv_kvm_vcpu_kick_locked(&vm->vcpus[i]);
    }
}

int hv_kvm_vm_pause(hv_kvm_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != HV_VM_STATE_RUNNING) {
        int state = vm->state;

        pthread_mutex_unlock(&vm->lock);
        return hv_error_set(HV_E_STATE, NULL, "%s is %s, not running: only a running VM pauses",
                            vm->name, hv_vm_state_name(state));
    }
    vm->pause_requested = true;
    kick_until_locked(vm, all_parked_locked);
    if (vm->state == HV_VM_STATE_RUNNING) {
        vm->state = HV_VM_STATE_PAUSED;
        pthread_mutex_unlock(&vm->lock);
        return 0;
    }
    /* the guest ended while its vCPUs were being stopped */
    vm->pause_requested = false;
    pthread_mutex_unlock(&vm->lock);
    return hv_error_set(HV_E_STATE, NULL, "%s ended before it could be paused", vm->name);
}

int hv_kvm_vm_resume(hv_kvm_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    if (vm->state != HV_VM_STATE_PAUSED) {
        int state = vm->state;

        pthread_mutex_unlock(&vm->lock);
        return hv_error_set(HV_E_STATE, NULL, "%s is %s, not paused", vm->name,
                            hv_vm_state_name(state));
    }
    vm->pause_requested = false;
    vm->state = HV_VM_STATE_RUNNING;
    if (vm->threads_pending) {
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            if (!vm->vcpus[i].stopped)
                vm->vcpus[i].state = HV_KVM_VCPU_RUNNING;
        vm->threads_pending = false;
        pthread_mutex_unlock(&vm->lock);
        return start_threads(vm);
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

int hv_kvm_vm_destroy(hv_kvm_vm *vm)
{
    bool had_threads;

    pthread_mutex_lock(&vm->lock);
    if (vm->threads_pending) {
        /* paused before it ever ran a thread: nothing to stop */
        vm->threads_pending = false;
        vm->running = 0;
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            vm->vcpus[i].state = HV_KVM_VCPU_IDLE;
        vm->state = HV_VM_STATE_DEFINED;
        pthread_cond_broadcast(&vm->cond);
    }
    had_threads =
        vm->state == HV_VM_STATE_RUNNING || vm->state == HV_VM_STATE_PAUSED || vm->running > 0;
    if (!had_threads && vm->state == HV_VM_STATE_DEFINED) {
        pthread_mutex_unlock(&vm->lock);
        join_threads(vm);
        return 0; /* nothing runs: already off */
    }
    vm->stop_requested = true;
    vm->pause_requested = false;
    pthread_cond_broadcast(&vm->cond);
    kick_until_locked(vm, all_done_locked);
    pthread_mutex_unlock(&vm->lock);
    join_threads(vm);
    pthread_mutex_lock(&vm->lock);
    vm->state = HV_VM_STATE_DEFINED;
    pthread_mutex_unlock(&vm->lock);
    return 0;
}

static const char *exit_reason_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_IO:
        return "port I/O";
    case KVM_EXIT_MMIO:
        return "MMIO";
    case KVM_EXIT_INTR:
        return "interrupted (kick)";
    case KVM_EXIT_SHUTDOWN:
        return "shutdown";
    case KVM_EXIT_HLT:
        return "HLT";
    default:
        return "other";
    }
}

/*
 * What each vCPU is doing, for a message about a VM that did not end in
 * time: "vCPU 0 in the guest, 41 exits (last: port I/O), marker 1 (x1); ...".
 * vm->lock held.
 */
static void describe_vcpus_locked(const hv_kvm_vm *vm, char *buf, size_t size)
{
    static const char *const states[] = {"not started", "in the guest", "parked", "done"};
    size_t n = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < vm->nvcpus && n < size; i++) {
        const hv_kvm_vcpu *v = &vm->vcpus[i];

        n += hv_format(
            buf + n, size - n, "%svCPU %u %s%s, %llu exits (last: %s), marker %u (x%llu)",
            i ? "; " : "", i, v->stopped ? "stopped itself, " : "", states[v->state],
            (unsigned long long)__atomic_load_n(&v->exits[HV_VM_STAT_EXITS], __ATOMIC_RELAXED),
            exit_reason_name(__atomic_load_n(&v->last_exit_reason, __ATOMIC_RELAXED)),
            v->last_marker, (unsigned long long)v->marker_count);
    }
}

int hv_kvm_vm_wait(hv_kvm_vm *vm, int timeout_ms, int *exit_code)
{
    char vcpus[512] = "";
    struct timespec deadline;
    int rc = 0, state;

    hv_clock_deadline_ms(&deadline, timeout_ms);
    pthread_mutex_lock(&vm->lock);
    while ((vm->state == HV_VM_STATE_RUNNING || vm->state == HV_VM_STATE_PAUSED) && rc == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&vm->cond, &vm->lock);
        else if (timeout_ms == 0 ||
                 pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT)
            rc = HV_E_TIMEOUT;
    }
    state = vm->state;
    *exit_code = vm->exit_code;
    if (rc == HV_E_TIMEOUT)
        describe_vcpus_locked(vm, vcpus, sizeof(vcpus));
    pthread_mutex_unlock(&vm->lock);
    if (rc == HV_E_TIMEOUT)
        return hv_error_set(HV_E_TIMEOUT, NULL, "%s is still %s after %d ms: %s", vm->name,
                            hv_vm_state_name(state), timeout_ms, vcpus);
    join_threads(vm);
    if (state == HV_VM_STATE_CRASHED)
        return hv_error_set(HV_E_GUEST, NULL, "%s: %s", vm->name, vm->failure);
    if (state != HV_VM_STATE_EXITED)
        return hv_error_set(HV_E_STATE, NULL, "%s is not running (%s): start it first", vm->name,
                            hv_vm_state_name(state));
    return 0;
}
