/*
 * kvm/clone.c - clones of a running or paused VM of the built-in engine:
 *   instant - the parent is paused at a consistent point and its memory
 *             frozen into a template (its memfd, or a copy when its view
 *             has diverged); each clone maps the template copy-on-write,
 *             gets the parent's vCPU state and its own identity (clone id in
 *             its boot info, its own console);
 *   full    - the same, with the memory copied into a fresh memfd;
 *   cold    - a fresh VM booted from the parent's payload, for comparison.
 * Shells (a KVM VM with its vCPUs and reserved, registered RAM) can be made
 * ahead of need (hv_kvm_clone_prepare) so a clone costs only mappings and
 * register writes; the work is spread over threads. All or nothing: when
 * one clone fails, none is kept.
 */
#include "kvm/clone.h"
#include "core/alloc.h"
#include "kvm/disks.h"
#include "kvm/linux.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* ---- shells --------------------------------------------------------------------------- */

static void params_of(const hv_kvm_vm *parent, const char *name, hv_kvm_node_request *nodes,
                      hv_kvm_vm_params *p)
{
    for (size_t i = 0; i < parent->layout.node_count; i++) {
        nodes[i].bytes = parent->layout.nodes[i].bytes;
        nodes[i].vcpu_count = parent->layout.nodes[i].vcpu_count;
        nodes[i].page_bytes = parent->layout.nodes[i].page_bytes;
        nodes[i].host_node = parent->layout.nodes[i].host_node;
    }
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->nodes = nodes;
    p->node_count = parent->layout.node_count;
    p->payload = parent->payload;
    p->payload_bytes = parent->payload_bytes;
    p->payload_path = parent->payload_path;
    p->plan_json = parent->plan_json;
    p->console = parent->console_fn;
    p->console_data = parent->console_data;
    p->progress = parent->progress_fn;
    p->progress_data = parent->progress_data;
}

/*
 * A VM like the parent, named `name`: the KVM VM and its vCPUs, no memory
 * yet. Shells made ahead of need (`ahead`) also reserve their RAM's address
 * range and register the KVM slots, which is where KVM spends its time
 * (its per-slot metadata); the clone then maps its view over the reservation.
 */
static int make_shell(hv_kvm_vm *parent, const char *name, bool ahead, hv_kvm_vm **out)
{
    hv_kvm_node_request nodes[HV_KVM_MAX_NODES];
    hv_kvm_vm_params p;
    hv_kvm_linux_source source;
    hv_kvm_linux_params linux_boot;
    hv_kvm_disks disks = {.count = 0};
    hv_cpuset *affinity;
    int rc;

    params_of(parent, name, nodes, &p);
    if (parent->linux_guest) {
        /* the same kernel, topology and disks (opened again: read-only, shared) */
        hv_kvm_linux_source_of(parent->linux_guest, &source);
        if ((rc = hv_kvm_linux_params_from_source(&source, &linux_boot, &disks)) < 0)
            return rc;
        p.linux_boot = &linux_boot;
    }
    affinity = hv_calloc(parent->nvcpus, sizeof(*affinity));
    if (!affinity) {
        hv_kvm_disks_close(&disks, false);
        return HV_E_NOMEM;
    }
    for (uint32_t i = 0; i < parent->nvcpus; i++)
        affinity[i] = parent->vcpus[i].affinity; /* copied by hv_kvm_vm_new */
    p.affinity = affinity;
    rc = hv_kvm_vm_new(parent->conn, &p, out);
    hv_kvm_disks_close(&disks, false); /* its devices hold their own descriptors */
    free(affinity);
    for (size_t i = 0; ahead && rc == 0 && i < (*out)->nram; i++)
        rc = hv_kvm_ram_reserve(&(*out)->ram[i]);
    if (ahead && rc == 0)
        rc = hv_kvm_vm_register_ram(*out);
    if (rc < 0 && *out) {
        hv_kvm_vm_discard(*out);
        *out = NULL;
    }
    return rc;
}

/* Clones share a Linux parent's disks: only read-only ones can be shared. */
static int refuse_writable_disks(const hv_kvm_vm *parent)
{
    hv_kvm_linux_source source;

    if (!parent->linux_guest)
        return 0;
    hv_kvm_linux_source_of(parent->linux_guest, &source);
    for (size_t i = 0; i < source.disk_count; i++) {
        char quoted[HV_QUOTE_SIZE], where[32];

        if (source.disks[i].read_only)
            continue;
        hv_quote(quoted, sizeof(quoted), source.disks[i].path);
        hv_format(where, sizeof(where), "disks[%zu]", i);
        return hv_error_set(HV_E_UNSUPPORTED, where,
                            "%s cannot be cloned: its %s ('%s') is writable, and its clones would "
                            "write one image together; give the VM its disks read-only (keep a "
                            "clone's writes in its memory, e.g. an overlay on tmpfs)",
                            parent->name, where, quoted);
    }
    return 0;
}

int hv_kvm_clone_prepare(hv_kvm_vm *parent, size_t count)
{
    int rc = refuse_writable_disks(parent);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        hv_kvm_vm *shell = NULL;

        if ((rc = make_shell(parent, "shell", true, &shell)) < 0)
            return rc;
        pthread_mutex_lock(&parent->lock);
        shell->next_shell = parent->shells;
        parent->shells = shell;
        parent->nshells++;
        pthread_mutex_unlock(&parent->lock);
    }
    return 0;
}

/* A prepared shell, renamed, or a new one. */
static int take_shell(hv_kvm_vm *parent, const char *name, hv_kvm_vm **out)
{
    hv_kvm_vm *shell;

    pthread_mutex_lock(&parent->lock);
    shell = parent->shells;
    if (shell) {
        parent->shells = shell->next_shell;
        parent->nshells--;
        shell->next_shell = NULL;
    }
    pthread_mutex_unlock(&parent->lock);
    if (!shell)
        return make_shell(parent, name, false, out);
    hv_format(shell->name, sizeof(shell->name), "%s", name);
    for (size_t i = 0; i < shell->nram; i++)
        hv_format(shell->ram[i].name, sizeof(shell->ram[i].name), "hpcvirt:%s:node%zu", name, i);
    *out = shell;
    return 0;
}

/* ---- making clones ------------------------------------------------------------------ */

/* A clone's unique id: 64 random bits, never 0 (0 means "not a clone"). */
static uint64_t new_clone_id(void)
{
    uint64_t id = 0;

    while (id == 0)
        if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
            id = (uint64_t)hv_clock_monotonic_ns() ^ ((uint64_t)getpid() << 40);
    return id;
}

typedef struct clone_job {
    hv_kvm_vm *parent;
    int mode;
    const hv_kvm_clone_params *params;
    const hv_kvm_vcpu_state *states;
    hv_kvm_linux_state linux_state; /* a Linux parent's platform and devices */
    int template_fd[HV_KVM_MAX_NODES];
    uint64_t template_offset[HV_KVM_MAX_NODES];
    size_t count;
    uint64_t first_index; /* the parent's clone counter when the job began */
    hv_kvm_vm **out;
    atomic_size_t next, done;
    atomic_int failed;
    pthread_mutex_t lock; /* the first error */
    int rc;
    char message[1024];
    char path[256];
} clone_job;

static void job_fail(clone_job *job, int rc)
{
    pthread_mutex_lock(&job->lock);
    if (!job->rc) {
        job->rc = rc;
        hv_format(job->message, sizeof(job->message), "%s", hv_error_message(hv_error_last()));
        hv_format(job->path, sizeof(job->path), "%s", hv_error_path(hv_error_last()));
    }
    pthread_mutex_unlock(&job->lock);
    atomic_store(&job->failed, 1);
}

/* Copy the template's data into the clone's own fresh memory (full clones): holes
 * (pages never written) are zero in both and are skipped. */
static int copy_memory(hv_kvm_ram *ram, int fd, uint64_t offset)
{
    uint64_t at = 0;

    while (at < ram->bytes) {
        off_t data = lseek(fd, (off_t)(offset + at), SEEK_DATA), hole;
        uint64_t end;

        if (data < 0)
            break; /* no more data: the rest is zero */
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = (off_t)(offset + ram->bytes);
        at = (uint64_t)data - offset;
        end = (uint64_t)hole - offset < ram->bytes ? (uint64_t)hole - offset : ram->bytes;
        while (at < end) {
            uint64_t chunk = end - at > (UINT64_C(64) << 20) ? (UINT64_C(64) << 20) : end - at;
            ssize_t n = pread(fd, ram->host + at, chunk, (off_t)(offset + at));

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return hv_error_set(HV_E_IO, NULL, "copying memory into %s failed: %s", ram->name,
                                    n < 0 ? strerror(errno) : "the template ended early");
            at += (uint64_t)n;
        }
    }
    return 0;
}

static int make_one(clone_job *job, size_t i)
{
    hv_kvm_vm *parent = job->parent, *vm = NULL;
    uint64_t index = job->first_index + i + 1;
    char name[HV_KVM_NAME_BYTES];
    int rc;

    if (job->params->names) {
        hv_format(name, sizeof(name), "%s", job->params->names[i]);
    } else if (job->params->name_pattern) {
        if (!hv_text_expand_index(job->params->name_pattern, index, name, sizeof(name)))
            return hv_error_set(HV_E_INVAL, "name_pattern",
                                "name_pattern gives clone %llu a "
                                "name longer than %d bytes",
                                (unsigned long long)index, HV_KVM_NAME_BYTES - 1);
    } else {
        /* the parent's name, cut to 40 bytes between characters, then "-cN" */
        hv_format(name, sizeof(name), "%.*s-%s%llu",
                  (int)hv_utf8_trim_partial(parent->name, strnlen(parent->name, 40)), parent->name,
                  job->mode == HV_VM_CLONE_COLD   ? "cold"
                  : job->mode == HV_VM_CLONE_FULL ? "full"
                                                  : "c",
                  (unsigned long long)index);
    }
    if ((rc = take_shell(parent, name, &vm)) < 0)
        return rc;
    if (job->params->console) {
        vm->console_fn = job->params->console;
        vm->console_data = job->params->console_data;
    }
    if (vm->linux_guest && job->params->channel)
        hv_kvm_linux_set_channel(vm->linux_guest, job->params->channel,
                                 job->params->channel_data ? job->params->channel_data[i] : NULL);
    if (job->mode == HV_VM_CLONE_COLD) {
        /* a fresh boot of the same payload: what instant clones are compared with */
        for (size_t n = 0; n < vm->nram && rc == 0; n++)
            rc = hv_kvm_ram_back_fresh(&vm->ram[n]);
        if (rc == 0)
            rc = hv_kvm_vm_register_ram(vm);
        if (rc == 0) {
            job->out[i] = vm;
            return 0;
        }
        hv_kvm_vm_discard(vm);
        return rc;
    }
    for (size_t n = 0; n < vm->nram && rc == 0; n++) {
        if (job->mode == HV_VM_CLONE_FULL) {
            rc = hv_kvm_ram_back_fresh(&vm->ram[n]);
            if (rc == 0)
                rc = copy_memory(&vm->ram[n], job->template_fd[n], job->template_offset[n]);
        } else {
            rc = hv_kvm_ram_back_private(&vm->ram[n], job->template_fd[n], job->template_offset[n]);
        }
    }
    if (rc == 0)
        rc = hv_kvm_vm_register_ram(vm);
    if (rc == 0 && vm->linux_guest)
        rc = hv_kvm_linux_state_restore_platform(vm, &job->linux_state, parent->name);
    for (uint32_t v = 0; v < vm->nvcpus && rc == 0; v++) {
        rc = hv_kvm_vcpu_state_set(vm->vcpus[v].fd, v, &job->states[v]);
        vm->vcpus[v].stopped = job->states[v].run_state == HV_KVM_VCPU_STATE_STOPPED;
        vm->vcpus[v].status = job->states[v].status;
    }
    if (rc == 0 && vm->linux_guest)
        rc = hv_kvm_linux_state_restore_devices(vm, &job->linux_state, parent->name);
    /* the clone's identity, where its guest looks for it: one page copied */
    if (rc == 0)
        rc = hv_kvm_vm_set_identity(vm, new_clone_id(), index, parent->generation);
    /* its own identity text, or none (never its parent's) */
    if (rc == 0)
        rc = hv_kvm_vm_set_identity_text(vm, job->params->identities ? job->params->identities[i]
                                                                     : NULL);
    if (rc == 0)
        rc = hv_kvm_vm_set_clone_count(vm, 0); /* none made of it yet */
    if (rc < 0) {
        hv_kvm_vm_discard(vm);
        return rc;
    }
    job->out[i] = vm;
    return 0;
}

static void *clone_worker(void *arg)
{
    clone_job *job = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        int rc;

        if (i >= job->count || atomic_load(&job->failed))
            break;
        rc = make_one(job, i);
        if (rc < 0) {
            job_fail(job, rc);
            break;
        }
        atomic_fetch_add(&job->done, 1);
    }
    return NULL;
}

int hv_kvm_clone(hv_kvm_vm *parent, size_t count, const hv_kvm_clone_params *params,
                 hv_kvm_vm **out)
{
    clone_job job;
    hv_kvm_vcpu_state *states = NULL;
    pthread_t threads[64];
    size_t nthreads, started = 0, published = 0;
    bool was_running;
    int rc = 0, state;

    memset(out, 0, count * sizeof(*out));
    if ((rc = refuse_writable_disks(parent)) < 0)
        return rc;
    if (parent->linux_guest && params->identities)
        return hv_error_set(HV_E_UNSUPPORTED, "identities",
                            "%s is a Linux guest, which has no boot info to write an identity "
                            "into: send each clone its identity over its channel "
                            "(hv_vm_channel_send())",
                            parent->name);
    pthread_mutex_lock(&parent->lock);
    state = parent->state;
    pthread_mutex_unlock(&parent->lock);
    if (params->mode != HV_VM_CLONE_COLD && state != HV_VM_STATE_RUNNING &&
        state != HV_VM_STATE_PAUSED)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s is %s: instant and full clones are made from a running or "
                            "paused VM",
                            parent->name, hv_vm_state_name(state));
    was_running = state == HV_VM_STATE_RUNNING;
    memset(&job, 0, sizeof(job));
    job.parent = parent;
    job.mode = params->mode;
    job.params = params;
    job.count = count;
    job.out = out;
    pthread_mutex_init(&job.lock, NULL);
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.failed, 0);
    pthread_mutex_lock(&parent->lock);
    job.first_index = parent->clones_made;
    parent->clones_made += count;
    pthread_mutex_unlock(&parent->lock);

    if (params->mode != HV_VM_CLONE_COLD) {
        /* a consistent point (pending I/O completed), then the memory frozen */
        if (was_running && (rc = hv_kvm_vm_pause(parent)) < 0)
            goto out;
        states = hv_calloc(parent->nvcpus, sizeof(*states));
        if (!states) {
            rc = HV_E_NOMEM;
            goto out;
        }
        if ((rc = hv_kvm_vm_capture(parent, states)) < 0 ||
            (parent->linux_guest &&
             (rc = hv_kvm_linux_state_capture(parent, &job.linux_state)) < 0))
            goto out;
        for (size_t n = 0; n < parent->nram; n++)
            if ((rc = hv_kvm_ram_freeze(&parent->ram[n], &job.template_fd[n],
                                        &job.template_offset[n])) < 0)
                goto out;
    }
    job.states = states;

    nthreads = params->threads ? params->threads : (size_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads > count)
        nthreads = count;
    if (nthreads > sizeof(threads) / sizeof(threads[0]))
        nthreads = sizeof(threads) / sizeof(threads[0]);
    if (nthreads < 1)
        nthreads = 1;
    /* this thread works too */
    for (size_t t = 1; t < nthreads; t++)
        if (pthread_create(&threads[started], NULL, clone_worker, &job) == 0)
            started++;
    clone_worker(&job);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (job.rc) {
        rc = hv_error_set(job.rc, *job.path ? job.path : NULL, "%s", job.message);
        goto out;
    }
    /* list them, then let them run: none is visible before all exist */
    for (published = 0; published < count; published++) {
        if ((rc = hv_kvm_vm_publish(out[published])) < 0) {
            out[published] = NULL; /* freed by publish */
            goto out;
        }
        if (params->progress)
            params->progress(params->progress_data, published + 1, count);
    }
    for (size_t i = 0; i < count; i++) {
        rc = params->mode == HV_VM_CLONE_COLD ? hv_kvm_vm_start(out[i])
                                              : hv_kvm_vm_launch(out[i], params->paused);
        if (rc < 0)
            goto out;
        if (params->mode == HV_VM_CLONE_COLD && params->paused &&
            (rc = hv_kvm_vm_pause(out[i])) < 0)
            goto out;
    }
    /* the parent learns it has been cloned, in its own view, before it runs again */
    rc = hv_kvm_vm_set_clone_count(parent, job.first_index + count);
out:
    if (rc < 0) {
        char message[1024], path[256];

        hv_format(message, sizeof(message), "%s", hv_error_message(hv_error_last()));
        hv_format(path, sizeof(path), "%s", hv_error_path(hv_error_last()));
        /* the indexes taken go back when no clone was made since */
        pthread_mutex_lock(&parent->lock);
        if (parent->clones_made == job.first_index + count)
            parent->clones_made = job.first_index;
        pthread_mutex_unlock(&parent->lock);
        for (size_t i = 0; i < count; i++) {
            if (!out[i])
                continue;
            if (i < published)
                hv_kvm_vm_forget(out[i]);
            else
                hv_kvm_vm_discard(out[i]);
            out[i] = NULL;
        }
        hv_error_set(rc, *path ? path : NULL, "%s", message);
    }
    free(states);
    hv_kvm_linux_state_clear(&job.linux_state);
    pthread_mutex_destroy(&job.lock);
    /* the parent stays paused: a template until it is resumed */
    (void)was_running;
    return rc;
}
