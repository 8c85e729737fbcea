/*
 * hpcvirt/vm.h - connections to backends and the VMs they run.
 *
 * hv_conn_open() picks a backend by URI, like libvirt's virConnectOpen():
 * "kvm:///" is the built-in engine, "libvirt:<libvirt URI>" drives libvirt
 * ("libvirt:test:///default", "libvirt:qemu:///system",
 * "libvirt:qemu+ssh://host/system"), and applications or plugins can
 * register their own (hpcvirt/backend.h). A VM is created from a plan, then
 * started, paused, resumed, stopped, suspended to a file and resumed from
 * it, snapshotted and migrated - each where the backend supports it; an
 * unsupported operation is HV_E_UNSUPPORTED naming the backend and the
 * operation.
 */
#ifndef HPCVIRT_VM_H
#define HPCVIRT_VM_H

#include <hpcvirt/common.h>
#include <hpcvirt/host.h>
#include <hpcvirt/plan.h>

HV_BEGIN_DECLS

typedef struct hv_conn hv_conn;
typedef struct hv_vm hv_vm;

/** The URI used when hv_conn_open() gets NULL and $HPCVIRT_DEFAULT_URI is unset. */
#define HV_DEFAULT_URI "kvm:///"

/**
 * Connect to a backend. `uri` NULL means $HPCVIRT_DEFAULT_URI, else
 * HV_DEFAULT_URI. Plugins in $HPCVIRT_PLUGIN_DIR are loaded first (once).
 * HV_E_NOTFOUND when no backend takes the URI; the backend's own error
 * otherwise (HV_E_BACKEND with libvirt's message, HV_E_NOKVM, ...).
 */
HV_EXTERN int hv_conn_open(const char *uri, hv_conn **conn);
HV_EXTERN void hv_conn_close(hv_conn *conn);
HV_EXTERN const char *hv_conn_uri(const hv_conn *conn);
/** Name of the backend serving the connection ("libvirt"). */
HV_EXTERN const char *hv_conn_backend(const hv_conn *conn);
/** The inventory of the host behind the connection (for libvirt: its capabilities). */
HV_EXTERN int hv_conn_host(hv_conn *conn, hv_host **host);
/** Names of the VMs the backend knows (caller frees with hv_strv_free()). */
HV_EXTERN int hv_conn_list_vms(hv_conn *conn, char ***names, size_t *count);
/** Free an array of strings returned by the library. */
HV_EXTERN void hv_strv_free(char **strings, size_t count);

typedef enum hv_vm_state_code {
    HV_VM_STATE_UNKNOWN = 0,
    HV_VM_STATE_DEFINED = 1, /**< defined, not running (shut off) */
    HV_VM_STATE_RUNNING = 2,
    HV_VM_STATE_PAUSED = 3,
    HV_VM_STATE_SUSPENDED = 4, /**< saved (managed save), starts where it stopped */
    HV_VM_STATE_STOPPING = 5,  /**< shutting down */
    HV_VM_STATE_CRASHED = 6,
    HV_VM_STATE_EXITED = 7 /**< the guest ended (built-in engine) */
} hv_vm_state_code;
/* Deprecated: the old name (POSIX reserves the _t suffix), kept for one release. */
typedef hv_vm_state_code hv_vm_state_t HV_DEPRECATED("use hv_vm_state_code");

/** "running", "paused", ... */
HV_EXTERN const char *hv_vm_state_name(int state);

typedef enum hv_vm_create_flags {
    HV_VM_CREATE_START = 1 << 0 /**< start it once defined */
} hv_vm_create_flags;

/**
 * Called with guest console output (built-in engine), from the thread of
 * the vCPU that wrote it: keep it short and do not call back into the VM.
 * Several vCPUs (and the clones that share a parent's callback) may call
 * it at the same time: it must be thread-safe.
 */
typedef void (*hv_vm_console_fn)(void *data, const char *bytes, size_t length);
/** Called when a vCPU writes a progress marker (built-in engine), from that vCPU's thread. */
typedef void (*hv_vm_progress_fn)(void *data, unsigned int vcpu, uint32_t marker);
/**
 * Called with the bytes a Linux guest of the built-in engine wrote to its
 * channel (its /dev/hvc0, a virtio console: docs/linux-guest.md), in order,
 * from the thread of the vCPU that wrote them: keep it short, do not call
 * back into the VM. Since HPCVIRT_1.1 (create options version 3).
 */
typedef void (*hv_vm_channel_fn)(void *data, const void *bytes, size_t length);

/** 2 added payload, console and progress; 3 the channel. */
#define HV_VM_CREATE_OPTIONS_VERSION 3
typedef struct hv_vm_create_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_CREATE_* */
    /**
     * Backend-specific settings as "key=value,key=value", NULL for none. The
     * libvirt backend takes domain_type=kvm|qemu (default: kvm where the
     * host's QEMU offers it), network=NAME and console_log=PATH.
     */
    const char *backend_options;
    /* ---- version 2 ---- */
    /**
     * The guest payload, a static ELF64 file (docs/guest-abi.md), for the
     * built-in engine; NULL when the spec's boot source names a Linux kernel,
     * which the engine then boots (docs/linux-guest.md).
     */
    const char *payload;
    hv_vm_console_fn console; /**< NULL: output is only kept (hv_vm_console_read()) */
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
    /* ---- version 3 ---- */
    /** A Linux guest's channel output; NULL: what the guest writes there is dropped */
    hv_vm_channel_fn channel;
    void *channel_data;
} hv_vm_create_options;
#define HV_VM_CREATE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        HV_VM_CREATE_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL            \
    }
HV_EXTERN int hv_vm_create_options_init(hv_vm_create_options *opts, unsigned int version);

/**
 * Create (define) a VM from a plan. A plan with errors is refused with
 * HV_E_PLAN naming its first error finding; nothing reaches the backend.
 * When a later step fails (start), the half-created VM is removed again.
 */
HV_EXTERN int hv_vm_create(hv_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts,
                           hv_vm **vm);
/** A VM the backend already knows, by name. HV_E_NOTFOUND when there is none. */
HV_EXTERN int hv_vm_lookup(hv_conn *conn, const char *name, hv_vm **vm);
/** Release the handle (the VM itself stays). NULL is ignored. */
HV_EXTERN void hv_vm_free(hv_vm *vm);
HV_EXTERN const char *hv_vm_name(const hv_vm *vm);

HV_EXTERN int hv_vm_start(hv_vm *vm);
HV_EXTERN int hv_vm_pause(hv_vm *vm);
HV_EXTERN int hv_vm_resume(hv_vm *vm);
/** Ask the guest to shut down; after `timeout_ms` (0 = at once) power it off. */
HV_EXTERN int hv_vm_stop(hv_vm *vm, unsigned int timeout_ms);
/** Power off at once. */
HV_EXTERN int hv_vm_destroy(hv_vm *vm);
/** Remove the VM's definition (it must not be running). */
HV_EXTERN int hv_vm_undefine(hv_vm *vm);
/** HV_VM_STATE_*. */
HV_EXTERN int hv_vm_state(hv_vm *vm, int *state);

/**
 * Wait for the guest to end (built-in engine): 0 with its exit code when it
 * exited (exit port, or every vCPU stopped), HV_E_GUEST with what it did
 * (exit reason and registers) when it crashed, HV_E_TIMEOUT after
 * `timeout_ms` (-1: no limit), HV_E_STATE when it is not running.
 */
HV_EXTERN int hv_vm_wait(hv_vm *vm, int timeout_ms, int *exit_code);
/** The exit code of a guest that exited; HV_E_STATE before, HV_E_GUEST after a crash. */
HV_EXTERN int hv_vm_exit_code(hv_vm *vm, int *exit_code);
/**
 * The console output kept for the VM (the most recent 64 KiB), NUL-terminated
 * in `buf`; when `size` is too small, its last size - 1 bytes. *length (may
 * be NULL) is the number of bytes kept.
 */
HV_EXTERN int hv_vm_console_read(hv_vm *vm, char *buf, size_t size, size_t *length);
/**
 * Send bytes to a Linux guest's channel (it reads them from /dev/hvc0):
 * they go into the buffers the guest has posted, and what does not fit is
 * queued, up to HV_VM_CHANNEL_QUEUE_BYTES, until it posts more; *sent (may
 * be NULL) is how many were taken - fewer when the queue is full: send the
 * rest later. Never waits for the guest. Any VM state but undefined; a guest
 * that resets its channel drops what was queued. HV_E_UNSUPPORTED for a
 * payload VM and on backends without channels (libvirt). Since HPCVIRT_1.1.
 */
HV_EXTERN int hv_vm_channel_send(hv_vm *vm, const void *bytes, size_t length, size_t *sent);
/** What hv_vm_channel_send() queues for a guest that reads nothing. */
#define HV_VM_CHANNEL_QUEUE_BYTES (64u * 1024)

typedef enum hv_vm_stat_id {
    HV_VM_STAT_EXITS = 0,       /**< exits from the guest to the engine, all reasons */
    HV_VM_STAT_EXITS_IO = 1,    /**< port I/O (the guest ABI) */
    HV_VM_STAT_EXITS_MMIO = 2,  /**< MMIO */
    HV_VM_STAT_EXITS_INTR = 3,  /**< interrupted by the engine (pause, stop) */
    HV_VM_STAT_EXITS_OTHER = 4, /**< anything else */
    HV_VM_STAT_GUEST_NS = 5,    /**< time the vCPUs spent in the guest, summed */
    HV_VM_STAT_WALL_NS = 6,     /**< time since the VM was started */
    HV_VM_STAT_CONSOLE_BYTES = 7,
    HV_VM_STAT_PROGRESS = 8, /**< progress markers written, all vCPUs */
    HV_VM_STAT_COUNT = 9
} hv_vm_stat_id;
/** "exits", "exits_io", ... (NULL for an unknown id). */
HV_EXTERN const char *hv_vm_stat_name(int stat);
HV_EXTERN int hv_vm_stat(hv_vm *vm, int stat, uint64_t *value);
/** A vCPU's last progress marker and how many it wrote. */
HV_EXTERN int hv_vm_progress(hv_vm *vm, unsigned int vcpu, uint32_t *marker, uint64_t *count);

/** How one vNUMA node's guest memory is really backed (built-in engine). */
#define HV_VM_MEMORY_INFO_VERSION 2
typedef struct hv_vm_memory_info {
    unsigned int version;
    uint64_t guest_base;     /**< guest physical address of the node's RAM */
    uint64_t bytes;          /**< its size */
    uint64_t page_bytes;     /**< the page size the kernel gave: 4096, 2 MiB or 1 GiB (hugetlb) */
    int host_node;           /**< the host node it is bound to, -1 when not bound */
    bool bound;              /**< the kernel reports an MPOL_BIND policy for it */
    bool thp_requested;      /**< 4 KiB pages with transparent huge pages asked for */
    uint64_t thp_bytes;      /**< bytes the kernel actually maps with huge pages now */
    uint64_t resident_bytes; /**< bytes the guest has touched (resident) */
    /* ---- version 2 ---- */
    /** Resident bytes on host_node, as the kernel places them now (numa_maps). */
    uint64_t host_node_bytes;
    /** Resident bytes on any other host node (0 for memory bound where it should be). */
    uint64_t other_node_bytes;
} hv_vm_memory_info;
#define HV_VM_MEMORY_INFO_INIT                                                                     \
    {                                                                                              \
        HV_VM_MEMORY_INFO_VERSION, 0, 0, 0, -1, false, false, 0, 0, 0, 0                           \
    }
HV_EXTERN int hv_vm_memory_info_init(hv_vm_memory_info *info, unsigned int version);
HV_EXTERN int hv_vm_memory_node_count(hv_vm *vm, size_t *count);
HV_EXTERN int hv_vm_memory_node_info(hv_vm *vm, size_t node, hv_vm_memory_info *info);

typedef enum hv_vm_suspend_flags {
    HV_VM_SUSPEND_KEEP_RUNNING = 1 << 0 /**< write the snapshot, then go on running */
} hv_vm_suspend_flags;

#define HV_VM_SUSPEND_OPTIONS_VERSION 1
typedef struct hv_vm_suspend_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_SUSPEND_* */
} hv_vm_suspend_options;
#define HV_VM_SUSPEND_OPTIONS_INIT                                                                 \
    {                                                                                              \
        HV_VM_SUSPEND_OPTIONS_VERSION, 0                                                           \
    }
HV_EXTERN int hv_vm_suspend_options_init(hv_vm_suspend_options *opts, unsigned int version);

/** Suspend to a file: the VM's state and memory; the VM stops (unless KEEP_RUNNING). */
HV_EXTERN int hv_vm_suspend(hv_vm *vm, const char *path, const hv_vm_suspend_options *opts);

typedef enum hv_vm_resume_flags {
    HV_VM_RESUME_PAUSED = 1 << 0, /**< restore, but leave the vCPUs paused */
    /** read all memory now instead of on demand (always so for a hugetlb plan) */
    HV_VM_RESUME_EAGER = 1 << 1
} hv_vm_resume_flags;

#define HV_VM_RESUME_OPTIONS_VERSION 3
typedef struct hv_vm_resume_options {
    unsigned int version;
    unsigned int flags; /**< HV_VM_RESUME_* */
    /* ---- version 2 (the built-in engine) ---- */
    /** The new VM's name; NULL: the name in the snapshot (which must be free then). */
    const char *name;
    hv_vm_console_fn console; /**< as in hv_vm_create_options */
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
    /* ---- version 3 ---- */
    /** A resumed Linux guest's channel output, as in hv_vm_create_options; NULL: dropped. */
    hv_vm_channel_fn channel;
    void *channel_data;
} hv_vm_resume_options;
#define HV_VM_RESUME_OPTIONS_INIT                                                                  \
    {                                                                                              \
        HV_VM_RESUME_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL                  \
    }
HV_EXTERN int hv_vm_resume_options_init(hv_vm_resume_options *opts, unsigned int version);

/** A VM that continues from a file written by hv_vm_suspend(). */
HV_EXTERN int hv_vm_resume_from(hv_conn *conn, const char *path, const hv_vm_resume_options *opts,
                                hv_vm **vm);

/* ---- clones (the built-in engine; linked clones: the libvirt backend) ---- */

typedef enum hv_vm_clone_mode {
    /** Copy-on-write views of the parent's frozen memory, the parent's vCPU state. */
    HV_VM_CLONE_INSTANT = 0,
    /** The same, with the memory copied (for comparison). */
    HV_VM_CLONE_FULL = 1,
    /** A fresh VM booted from the parent's payload (for comparison). */
    HV_VM_CLONE_COLD = 2,
    /**
     * The libvirt backend: new domains from the shut-off parent's
     * definition (new name, UUID and MAC addresses), each writable disk a
     * qcow2 overlay backed by the parent's image (docs/backends.md).
     */
    HV_VM_CLONE_LINKED = 3
} hv_vm_clone_mode;

typedef enum hv_vm_clone_flags {
    HV_VM_CLONE_PAUSED = 1 << 0 /**< leave the clones paused */
} hv_vm_clone_flags;

/** Called as clones are made: `done` of `total` (the CLI's progress bar). */
typedef void (*hv_vm_clone_progress_fn)(void *data, size_t done, size_t total);

/** The longest identity text a clone is given (hv_vm_clone_options.identities). */
#define HV_VM_CLONE_IDENTITY_MAX_BYTES 4096

#define HV_VM_CLONE_OPTIONS_VERSION    4
typedef struct hv_vm_clone_options {
    unsigned int version;
    unsigned int flags;       /**< HV_VM_CLONE_* */
    int mode;                 /**< HV_VM_CLONE_INSTANT (default), _FULL, _COLD, _LINKED */
    unsigned int threads;     /**< threads making them; 0: the host's CPU count */
    hv_vm_console_fn console; /**< each clone's console; NULL: the parent's callback */
    void *console_data;
    hv_vm_clone_progress_fn progress;
    void *progress_data;
    /* version 2 */
    /** `count` names, one per clone, each a valid VM name; NULL: name_pattern */
    const char *const *names;
    /**
     * Each clone's name with "{index}" replaced by its index ("web-{index}"):
     * the built-in engine's clone index (1, 2, ..., going on over the
     * parent's later clones), the libvirt backend's position in this call
     * (1 .. count). NULL: "<parent>-cN" (engine), "<parent>-linkedN" (libvirt).
     */
    const char *name_pattern;
    /**
     * `count` texts, one per clone (NULL: none), of at most
     * HV_VM_CLONE_IDENTITY_MAX_BYTES each, that each clone reads as its own
     * (host name, address, rank): the built-in engine writes it into the
     * clone's boot info (docs/guest-abi.md), the libvirt backend into the
     * domain's SMBIOS OEM strings (docs/backends.md).
     */
    const char *const *identities;
    /* version 3 */
    /**
     * A Linux guest's clones' channel output (the built-in engine): clone i's
     * goes to channel(channel_data ? channel_data[i] : NULL, ...). NULL: the
     * parent's callback, with the parent's data.
     */
    hv_vm_channel_fn channel;
    void *const *channel_data; /**< `count` entries, or NULL */
    /* version 4 */
    /**
     * HV_VM_CLONE_LINKED: the name of the parent's libvirt snapshot to clone
     * (external, as `virsh snapshot-create-as --memspec ...,snapshot=external
     * --diskspec vda,snapshot=external` makes them): the clones' overlays are
     * backed by the images as they were then, their definition is the one
     * the snapshot kept, and with its memory they start from that memory.
     * The parent may be running. NULL: the parent as it is now.
     */
    const char *snapshot;
} hv_vm_clone_options;
#define HV_VM_CLONE_OPTIONS_INIT                                                                   \
    {                                                                                              \
        HV_VM_CLONE_OPTIONS_VERSION, 0, HV_VM_CLONE_INSTANT, 0, NULL, NULL, NULL, NULL, NULL,      \
            NULL, NULL, NULL, NULL, NULL                                                           \
    }
HV_EXTERN int hv_vm_clone_options_init(hv_vm_clone_options *opts, unsigned int version);

/**
 * Make `count` clones of a running or paused VM into clones[0..count-1]
 * (handles the caller frees). The parent is paused at a consistent point
 * and stays paused (resume it to go on); each clone starts where the
 * parent stood, with its own identity in its boot info (clone_id,
 * clone_index, the caller's identity text) and its own console, isolated from the parent and the
 * other clones. All or nothing: when one fails, none is kept. HV_VM_CLONE_LINKED (the libvirt
 * backend) instead wants a shut-off parent, which it leaves as it is: its clones are new domains on
 * qcow2 overlays of its disks (and start from its memory when it was suspended with a managed save
 * image); or, with opts->snapshot, one of the parent's external snapshots, the parent running or
 * not.
 */
HV_EXTERN int hv_vm_clone(hv_vm *parent, size_t count, const hv_vm_clone_options *opts,
                          hv_vm **clones);
/**
 * Make `count` empty VMs like `parent` ahead of need, so that its next
 * hv_vm_clone() costs only the mappings and register writes.
 */
HV_EXTERN int hv_vm_clone_prepare(hv_vm *parent, size_t count);
/** A clone's unique id and index (0 and 0 for a VM that is not a clone). */
HV_EXTERN int hv_vm_clone_identity(hv_vm *vm, uint64_t *clone_id, uint64_t *clone_index);

/** Suspend into the backend's own storage; the next start resumes there. */
HV_EXTERN int hv_vm_managed_save(hv_vm *vm);
HV_EXTERN int hv_vm_has_managed_save(hv_vm *vm, bool *has);

HV_EXTERN int hv_vm_snapshot_create(hv_vm *vm, const char *name);
HV_EXTERN int hv_vm_snapshot_revert(hv_vm *vm, const char *name);
HV_EXTERN int hv_vm_snapshot_delete(hv_vm *vm, const char *name);
/** Snapshot names (caller frees with hv_strv_free()). */
HV_EXTERN int hv_vm_snapshot_list(hv_vm *vm, char ***names, size_t *count);

typedef enum hv_migrate_flags {
    HV_MIGRATE_OFFLINE = 1 << 0, /**< move a stopped VM's definition only (not live) */
    /** the built-in engine: past max_rounds, give up (the VM runs on) rather than stop it
     * for as long as copying what is still dirty takes */
    HV_MIGRATE_FAIL_UNCONVERGED = 1 << 1,
    /** the built-in engine: a guest that dirties memory faster than it is sent is slowed
     * down (its vCPUs sleep part of each 10 ms: 20 %, then 10 % more each round that does
     * not converge, up to 99 %) until what is left fits the downtime budget */
    HV_MIGRATE_THROTTLE = 1 << 2
} hv_migrate_flags;

/** Where a migration of the built-in engine stands (hv_migrate_options.progress). */
typedef struct hv_migrate_progress {
    unsigned int round;             /**< the pre-copy round under way (0: the first pass) */
    bool stopped;                   /**< the VM is paused for the last copy */
    uint64_t memory_bytes;          /**< the guest's memory */
    uint64_t bytes_sent;            /**< so far, framing included */
    uint64_t remaining_bytes;       /**< still to send as far as is known now */
    uint64_t dirty_bytes_per_s;     /**< what the guest dirtied per second last round */
    uint64_t bandwidth_bytes_per_s; /**< measured over the last round (or this one) */
    uint64_t expected_downtime_ns;  /**< remaining_bytes at that bandwidth */
    unsigned int throttle_percent;  /**< how much the guest is slowed down now (0..99) */
} hv_migrate_progress;
/**
 * Called from the migrating thread after each batch of memory at most every
 * 100 ms, after each round and before the last copy. Return 0 to go on;
 * anything else cancels the migration (the VM goes on where it was and
 * hv_vm_migrate() returns HV_E_MIGRATION saying it was cancelled).
 */
typedef int (*hv_migrate_progress_fn)(const hv_migrate_progress *progress, void *data);

/** What a migration of the built-in engine took (hv_migrate_options.stats). */
typedef struct hv_migrate_stats {
    uint64_t total_ns;    /**< from the handshake to the destination's word that it runs */
    uint64_t downtime_ns; /**< from the pause to that word */
    uint64_t bytes_sent;  /**< framing included */
    uint64_t pages_sent;  /**< 4 KiB pages with their contents */
    uint64_t zero_pages;  /**< pages sent as "zero now" (never-written zero pages are not sent) */
    unsigned int rounds;  /**< pre-copy rounds before the stop */
} hv_migrate_stats;

#define HV_MIGRATE_OPTIONS_VERSION 3
typedef struct hv_migrate_options {
    unsigned int version;
    unsigned int flags;           /**< HV_MIGRATE_* */
    uint64_t bandwidth_mib_per_s; /**< 0 = unlimited; else the average the sender keeps to */
    unsigned int max_downtime_ms; /**< 0 = the backend's default (the engine's: 300 ms) */
    /* version 2: the built-in engine */
    const void *key; /**< a pre-shared key both ends are given (HMAC-SHA-256); NULL: none */
    size_t key_bytes;
    unsigned int max_rounds; /**< pre-copy rounds at most; 0: 30 */
    unsigned int timeout_ms; /**< what each step waits for the peer; 0: 30 s */
    hv_migrate_stats *stats; /**< filled in when the migration succeeds; NULL: not wanted */
    /* version 3: the built-in engine */
    hv_migrate_progress_fn progress; /**< NULL: none */
    void *progress_data;
} hv_migrate_options;
#define HV_MIGRATE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        HV_MIGRATE_OPTIONS_VERSION, 0, 0, 0, NULL, 0, 0, 0, NULL, NULL, NULL                       \
    }
HV_EXTERN int hv_migrate_options_init(hv_migrate_options *opts, unsigned int version);

/**
 * Live-migrate a running VM to `dest` (for libvirt: the destination's libvirt
 * URI, peer to peer; for the built-in engine "tcp://HOST:PORT" of a
 * destination in hv_vm_migrate_incoming(), or "fd:N", a connected socket
 * the caller keeps). A VM whose plan makes it ineligible is refused up front
 * with HV_E_UNSUPPORTED and the plan's reasons; nothing is sent. The
 * built-in engine pauses the VM only for the last round and destroys it once
 * the destination says it runs there; on any failure before that it goes on
 * where it was (HV_E_MIGRATION says what happened).
 */
HV_EXTERN int hv_vm_migrate(hv_vm *vm, const char *dest, const hv_migrate_options *opts);

typedef enum hv_migrate_incoming_flags {
    HV_MIGRATE_INCOMING_PAUSED = 1 << 0 /**< leave the VM paused here */
} hv_migrate_incoming_flags;

#define HV_MIGRATE_INCOMING_OPTIONS_VERSION 2
typedef struct hv_migrate_incoming_options {
    unsigned int version;
    unsigned int flags; /**< HV_MIGRATE_INCOMING_* */
    const void *key;    /**< the key the source was given; NULL: accept only unauthenticated */
    size_t key_bytes;
    unsigned int
        timeout_ms;   /**< what each step waits for the source (the connection too); 0: 30 s */
    const char *name; /**< NULL: the source's name */
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
    /** where each vNUMA node goes on this host (node_count entries), its vCPUs then on that
     * node's CPUs; NULL: where this host's plan of the VM puts them (as on the source when it
     * came without a plan) */
    const int *host_nodes;
    size_t host_node_count;
    /* version 2 */
    /** the inventory the VM is planned against here (the caller's, kept); NULL: this
     * machine's, discovered when the VM arrives (hv_host_discover()) */
    const hv_host *host;
} hv_migrate_incoming_options;
#define HV_MIGRATE_INCOMING_OPTIONS_INIT                                                           \
    {                                                                                              \
        HV_MIGRATE_INCOMING_OPTIONS_VERSION, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, \
            NULL                                                                                   \
    }
HV_EXTERN int hv_migrate_incoming_options_init(hv_migrate_incoming_options *opts,
                                               unsigned int version);

/**
 * The destination of a live migration (the built-in engine): take one VM
 * from `source` - "tcp://HOST:PORT" (listen there and accept one
 * connection) or "fd:N" (a connected socket the caller keeps) - and run it
 * here. The VM is checked before any memory comes: the protocol version,
 * the key, and that this host can run it - a VM that came with a plan is
 * planned again against this host (opts->host, or this machine's inventory)
 * with the rules of hv_plan_create(), its vNUMA nodes, vCPUs and page size
 * held to the source's (a live migration cannot change the guest's memory
 * layout); a plan with errors is refused with the planner's first error,
 * and the plan places each vNUMA node and vCPU on this host unless
 * opts->host_nodes does. It is started only once all of it has arrived; on
 * any failure nothing is kept and the source, told why, goes on running its
 * VM.
 */
HV_EXTERN int hv_vm_migrate_incoming(hv_conn *conn, const char *source,
                                     const hv_migrate_incoming_options *opts, hv_vm **vm);

HV_END_DECLS

#endif /* HPCVIRT_VM_H */
