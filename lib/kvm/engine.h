/*
 * kvm/engine.h - the built-in engine's objects (internal): a connection
 * (the /dev/kvm handle and its VMs by name), a VM (KVM VM fd, guest RAM per
 * vNUMA node, the payload, vCPUs, state, console, statistics) and its vCPUs
 * (threads pinned per the plan). Who calls whom, one way only:
 *   driver.c -> clone.c, snapshot.c -> vm.c -> run.c -> vcpu.c
 *   vm.c, driver.c -> conn.c (the connection and its list of VMs)
 * conn.c owns the connection, vm.c the VM's lifecycle, run.c the vCPU
 * threads and their exits, vcpu.c one vCPU. What comes next fits the same
 * way: a device model and Linux boot under vm.c (as memory.c, loader.c and
 * bootinfo.c are), migration beside snapshot.c.
 */
#ifndef HV_KVM_ENGINE_H
#define HV_KVM_ENGINE_H

#include "core/cpuset.h"
#include "kvm/layout.h"
#include "kvm/loader.h"
#include "kvm/memory.h"
#include "kvm/system.h"
#include "kvm/vcpu-state.h"
#include "plan/spec.h"

#include <hpcvirt/vm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HV_KVM_CONSOLE_BYTES (64 * 1024)
#define HV_KVM_NAME_BYTES    (HV_SPEC_MAX_NAME + 1) /* every name a spec allows */

struct kvm_run;
typedef struct hv_kvm_vm hv_kvm_vm;
typedef struct hv_kvm_linux hv_kvm_linux;               /* kvm/linux.h */
typedef struct hv_kvm_linux_params hv_kvm_linux_params; /* kvm/linux.h */

typedef enum hv_kvm_vcpu_thread_state {
    HV_KVM_VCPU_IDLE,    /* no thread yet */
    HV_KVM_VCPU_RUNNING, /* its thread runs the guest */
    HV_KVM_VCPU_PARKED,  /* its thread waits (pause) */
    HV_KVM_VCPU_DONE     /* its thread has ended */
} hv_kvm_vcpu_thread_state;

typedef struct hv_kvm_vcpu {
    hv_kvm_vm *vm;
    uint32_t index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started; /* guarded by vm->lock: pthread_create succeeded, not joined yet */
    hv_cpuset affinity;  /* host CPUs it may run on; empty: not pinned */
    /* guarded by vm->lock */
    bool kickable; /* its thread has registered itself (`self`) and not ended: signal it */
    pthread_t self;
    hv_kvm_vcpu_thread_state state;
    uint32_t status;      /* the status it stopped with (vcpu-stop port) */
    bool stopped;         /* it stopped itself: it stays stopped until the next boot */
    uint32_t last_marker; /* progress */
    uint64_t marker_count;
    bool throttle_due; /* kicked by hv_kvm_vm_throttle_tick(): sleep its share once */
    /* written by the vCPU's own thread, read by hv_vm_stat() at any time:
     * every access is atomic (relaxed), none plain */
    uint64_t exits[HV_VM_STAT_EXITS_OTHER + 1];
    uint64_t guest_ns;
    uint32_t last_exit_reason; /* KVM_EXIT_*, for messages about a VM that hangs */
} hv_kvm_vcpu;

typedef struct hv_kvm_conn {
    hv_kvm_system sys;
    pthread_mutex_t lock; /* the list of VMs and refs */
    int refs;             /* the connection itself plus every VM object alive */
    hv_kvm_vm **vms;
    size_t nvms, cap;
} hv_kvm_conn;

struct hv_kvm_vm {
    hv_kvm_conn *conn;
    char name[HV_KVM_NAME_BYTES];
    int refs;     /* handles plus the connection's list entry; guarded by conn->lock */
    bool defined; /* still in the connection's list */
    int fd;
    hv_kvm_layout layout;
    size_t nram;
    hv_kvm_ram ram[HV_KVM_MAX_NODES];
    uint8_t *payload; /* the file, read once (kept: a restart boots it again) */
    size_t payload_bytes;
    char payload_path[256];
    hv_elf_image image;
    hv_kvm_linux *linux_guest; /* a Linux guest's boot source and devices; NULL: a payload */
    char *plan_json;           /* the plan it was made from (snapshots carry it), or NULL */
    uint64_t clone_id;         /* boot info: 0, or this clone's id */
    uint64_t clone_index;      /* boot info: 0, or which clone of its parent it is (1, 2, ...) */
    uint64_t generation;       /* boot info: resumes from snapshots so far */
    uint64_t clones_made;      /* names the next clone */
    hv_kvm_vm *shells;         /* made ahead of need for clones (kvm/clone.c), guarded by lock */
    size_t nshells;
    hv_kvm_vm *next_shell;
    uint32_t nvcpus;
    hv_kvm_vcpu *vcpus;
    /* callbacks from the create options */
    hv_vm_console_fn console_fn;
    void *console_data;
    hv_vm_progress_fn progress_fn;
    void *progress_data;

    pthread_mutex_t lock;
    pthread_cond_t cond; /* state changes: vCPUs parked, done; resume */
    int state;           /* HV_VM_STATE_* */
    bool ran;            /* memory holds a previous run's contents */
    bool pause_requested, stop_requested;
    unsigned int throttle_percent; /* 0..99: the share of each slice vCPUs sleep (migration) */
    bool threads_pending;          /* paused since launch: the vCPU threads start at the resume */
    uint32_t running;              /* vCPU threads not yet done */
    int exit_code;
    bool exit_code_set; /* the exit port was used */
    bool crashed;
    char failure[768]; /* what the guest did, for HV_E_GUEST */
    uint64_t started_ns, ended_ns;
    /* console ring, guarded by lock */
    char *console;
    size_t console_head; /* next write position */
    size_t console_kept; /* bytes kept, <= HV_KVM_CONSOLE_BYTES */
    uint64_t console_total;
};

/* conn.c: the connection. VMs' refs are guarded by its lock. */
int hv_kvm_conn_open(hv_kvm_conn **out);
void hv_kvm_conn_ref(hv_kvm_conn *conn);
/* Drop a reference; the last frees the connection. */
void hv_kvm_conn_unref(hv_kvm_conn *conn);
/* List the VM under its name (HV_E_EXISTS for a taken one): refs become 2 (list + caller). */
int hv_kvm_conn_add(hv_kvm_conn *conn, hv_kvm_vm *vm);
/* Take the VM off the list; false when it was not listed. The list's ref stays the caller's. */
bool hv_kvm_conn_remove(hv_kvm_conn *conn, hv_kvm_vm *vm);
/* The listed VM named `name`, with a reference for the caller; HV_E_NOTFOUND otherwise. */
int hv_kvm_conn_lookup(hv_kvm_conn *conn, const char *name, hv_kvm_vm **out);
/* The listed VMs' names (NULL-terminated, hv_strv_free()). */
int hv_kvm_conn_names(hv_kvm_conn *conn, char ***names, size_t *count);
/* Empty the list and return it (free() it): each entry holds the list's reference. */
hv_kvm_vm **hv_kvm_conn_take_all(hv_kvm_conn *conn, size_t *count);
/* Drop one reference on `vm`: the references left. */
int hv_kvm_conn_vm_unref(hv_kvm_vm *vm);

/* What a VM is made of, whatever it is made from (a plan, a snapshot, a parent). */
typedef struct hv_kvm_vm_params {
    const char *name;
    const hv_kvm_node_request *nodes;
    size_t node_count;
    const hv_cpuset *affinity;             /* one per vCPU (copied), or NULL: not pinned */
    const hv_kvm_linux_params *linux_boot; /* a Linux guest; then no payload */
    const uint8_t *payload;                /* copied */
    size_t payload_bytes;
    const char *payload_path; /* for messages */
    const char *plan_json;    /* copied; may be NULL */
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
} hv_kvm_vm_params;

/* vm.c */
int hv_kvm_vm_create(hv_kvm_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts,
                     hv_kvm_vm **out);
/* A VM with its KVM VM, reserved RAM (nothing backing it yet) and vCPUs; not listed yet. */
int hv_kvm_vm_new(hv_kvm_conn *conn, const hv_kvm_vm_params *params, hv_kvm_vm **out);
/* Register every RAM slot (after backing it). */
int hv_kvm_vm_register_ram(hv_kvm_vm *vm);
/* List it on its connection (HV_E_EXISTS for a taken name); frees it on failure. */
int hv_kvm_vm_publish(hv_kvm_vm *vm);
/* Free a VM that was never published. */
void hv_kvm_vm_discard(hv_kvm_vm *vm);
/*
 * Take a VM off its connection's list (undefine): HV_E_STATE while it runs,
 * HV_E_NOTFOUND when it is not listed. The list's reference is dropped.
 */
int hv_kvm_vm_remove(hv_kvm_vm *vm);
/* Power off, take off the list and drop the caller's reference too (undo a publish). */
void hv_kvm_vm_forget(hv_kvm_vm *vm);
/* Start threads for the vCPUs that still run (states set already); paused: parked. */
int hv_kvm_vm_launch(hv_kvm_vm *vm, bool paused);
/* Every vCPU's state, the VM paused (or never run): states has vm->nvcpus entries. */
int hv_kvm_vm_capture(hv_kvm_vm *vm, hv_kvm_vcpu_state *states);
/* Write the boot info's clone id, clone index and generation into guest memory. */
int hv_kvm_vm_set_identity(hv_kvm_vm *vm, uint64_t clone_id, uint64_t clone_index,
                           uint64_t generation);
/* Write a clone's identity text into its boot info (after the node records; the guest
 * finds it through identity_offset and identity_bytes); NULL or "": none. */
int hv_kvm_vm_set_identity_text(hv_kvm_vm *vm, const char *text);
/* Write the boot info's clone count (clones made of this VM) into guest memory. */
int hv_kvm_vm_set_clone_count(hv_kvm_vm *vm, uint64_t clone_count);
void hv_kvm_vm_unref(hv_kvm_vm *vm);
int hv_kvm_vm_start(hv_kvm_vm *vm);
int hv_kvm_vm_pause(hv_kvm_vm *vm);
int hv_kvm_vm_resume(hv_kvm_vm *vm);
int hv_kvm_vm_destroy(hv_kvm_vm *vm);
int hv_kvm_vm_wait(hv_kvm_vm *vm, int timeout_ms, int *exit_code);

/* vcpu.c */
int hv_kvm_vcpu_create(hv_kvm_vm *vm, hv_kvm_vcpu *vcpu, uint32_t index);
void hv_kvm_vcpu_destroy(hv_kvm_vcpu *vcpu);
/* Set the entry state: long mode, CPL 3, registers per the guest ABI. */
int hv_kvm_vcpu_setup(hv_kvm_vcpu *vcpu, uint64_t cr3, uint64_t entry);
/* Make the vCPU leave KVM_RUN soon (pause, stop): immediate_exit plus a signal. vm->lock held. */
void hv_kvm_vcpu_kick_locked(hv_kvm_vcpu *vcpu);
/* Kick every vCPU of the array but `except` (may be NULL). Their VM's lock held. */
void hv_kvm_vcpus_kick_locked(hv_kvm_vcpu *vcpus, uint32_t count, const hv_kvm_vcpu *except);
/* The signal a kick sends (its thread unblocks it). */
int hv_kvm_vcpu_kick_signal(void);

/*
 * Guest physical [addr, addr + bytes) of the VM `ctx` as a host pointer, or NULL where it is
 * not inside one vNUMA node's RAM (an hv_guest_ptr_fn: the loaders write through it).
 */
static inline uint8_t *hv_kvm_vm_guest_ptr(void *ctx, uint64_t addr, uint64_t bytes)
{
    hv_kvm_vm *vm = ctx;
    uint64_t offset;

    for (size_t i = 0; i < vm->nram; i++)
        if (hv_kvm_node_offset(&vm->layout.nodes[i], addr, bytes, &offset))
            return vm->ram[i].host + offset;
    return NULL;
}

/* console.c: append guest output to the VM's console ring and give it to its callback. */
void hv_kvm_vm_console_write(hv_kvm_vm *vm, const uint8_t *bytes, size_t length);
/* The newest size - 1 bytes of the console ring (fewer if it has fewer), NUL-terminated in buf
 * (size >= 1); returns how many the ring keeps. */
size_t hv_kvm_vm_console_tail(hv_kvm_vm *vm, char *buf, size_t size);

/* run.c */
/* Start the vCPU's thread (pinned to its affinity): it runs the guest until it is done. */
int hv_kvm_vcpu_start_thread(hv_kvm_vcpu *vcpu);
/* What a throttled vCPU runs between ticks: it then sleeps percent/(100-percent) of it. */
#define HV_KVM_THROTTLE_SLICE_NS 10000000ull
/*
 * Slow the guest down to (100 - percent) % of its time: every running vCPU
 * is kicked and sleeps HV_KVM_THROTTLE_SLICE_NS * percent / (100 - percent)
 * before it enters the guest again. Call it every slice * 100 / (100 -
 * percent) ns while throttling; percent 0 ends it (sleepers wake at once).
 * A pause or stop ends a vCPU's sleep too.
 */
void hv_kvm_vm_throttle_tick(hv_kvm_vm *vm, unsigned int percent);

#endif
