/*
 * hpcvirt/container.h - containers as micro-VMs of the built-in engine.
 *
 * An OCI image (an image layout directory: index.json, manifests, configs
 * and layers, docs/container-images.md) runs as its own Linux VM: the
 * image's layers become a read-only ext4 root disk (made once per image
 * digest, in a cache), a small init of this project's is the guest's PID 1
 * (docs/container-guest.md), and the VM's vCPUs, memory and pages come from
 * a plan, as any VM's. The command's standard output and error reach the
 * caller separately; its exit status is the container's.
 *
 *   hv_container_create()  reads and checks the image, makes (or finds) its
 *                          root disk and the guest's initramfs, plans and
 *                          creates the VM: every refusal happens here, before
 *                          anything boots;
 *   hv_container_start()   boots it (cold) or resumes it from the image's
 *                          template (warm: HV_CONTAINER_WARM), and gives
 *                          init the command;
 *   hv_container_wait()    its exit status.
 *
 * Only the built-in engine (kvm:///) runs containers: another backend is
 * HV_E_UNSUPPORTED. Since HPCVIRT_1.1.
 */
#ifndef HPCVIRT_CONTAINER_H
#define HPCVIRT_CONTAINER_H

#include <hpcvirt/common.h>
#include <hpcvirt/host.h>
#include <hpcvirt/spec.h>
#include <hpcvirt/vm.h>

HV_BEGIN_DECLS

typedef struct hv_container hv_container;

/** Which of the command's streams bytes come from (hv_container_output_fn). */
typedef enum hv_container_stream {
    HV_CONTAINER_STDOUT = 1,
    HV_CONTAINER_STDERR = 2
} hv_container_stream;

/**
 * Called with what the container's command writes to its standard output
 * or error (`stream`), in order per stream, from one of the VM's vCPU
 * threads: the guest waits while it runs (so a slow reader slows the
 * command, as a pipe would). Do not call back into the container.
 */
typedef void (*hv_container_output_fn)(void *data, int stream, const void *bytes, size_t length);

typedef enum hv_container_flags {
    /**
     * Start from the image's template: a VM booted once for this image,
     * kernel and VM size, suspended where its init waits for a command,
     * kept in the cache; each container resumes from it (copy-on-write
     * memory) and is given its command. The first warm start makes it.
     */
    HV_CONTAINER_WARM = 1 << 0
} hv_container_flags;

#define HV_CONTAINER_OPTIONS_VERSION 1
typedef struct hv_container_options {
    unsigned int version;
    unsigned int flags; /**< hv_container_flags */
    /** The container's (its VM's) name; NULL: the image's name and a random suffix */
    const char *name;
    /** The image in the layout: its tag (org.opencontainers.image.ref.name); NULL: the only one */
    const char *tag;
    /**
     * The VM: vCPUs, memory, page size, host nodes, ... (its boot source and
     * disks must be unset: the container sets them). NULL: 1 vCPU, 256 MiB.
     */
    const hv_vm_spec *spec;
    /** The host to plan on; NULL: the connection's (hv_conn_host()) */
    const hv_host *host;
    /** The guest's kernel; NULL: /boot/vmlinuz-RELEASE (this machine's, uname -r) */
    const char *kernel_path;
    /**
     * That kernel's modules folder (with modules.dep) for what it does not
     * have built in (virtio, ext4, overlay); NULL: /lib/modules/RELEASE
     * when kernel_path is NULL too, else none (a kernel with all built in).
     */
    const char *modules_path;
    /** Root disks, initramfs and templates; NULL: $XDG_CACHE_HOME/hpcvirt, else ~/.cache/hpcvirt */
    const char *cache_path;
    /** The guest's init; NULL: the one installed with the library */
    const char *init_path;
    /** The command's arguments, replacing the image's Cmd (arg_count 0: the image's) */
    const char *const *args;
    size_t arg_count;
    /** The entrypoint, replacing the image's ("": none); NULL: the image's */
    const char *entrypoint;
    /** "NAME=VALUE" entries added to the image's environment (a NAME it has is replaced) */
    const char *const *env;
    size_t env_count;
    /** The working directory (absolute); NULL: the image's, else "/" */
    const char *workdir;
    /** "uid[:gid]" or a name in the image's /etc/passwd; NULL: the image's, else root */
    const char *user;
    hv_container_output_fn output; /**< NULL: the command's output is dropped */
    void *output_data;
    /** The guest kernel's serial console (for a diagnosis); NULL: kept only in the VM's ring */
    hv_vm_console_fn console;
    void *console_data;
} hv_container_options;
#define HV_CONTAINER_OPTIONS_INIT                                                                  \
    {                                                                                              \
        HV_CONTAINER_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0,  \
            NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL                                      \
    }
HV_EXTERN int hv_container_options_init(hv_container_options *opts, unsigned int version);

/**
 * A container of the image in the OCI image layout at `layout_path`, ready
 * to start. The image is read and checked (every digest and size; its
 * architecture must be this machine's, its OS linux), its root disk made
 * or found in the cache, the VM planned and created. HV_E_IMAGE for an
 * image that is malformed, corrupt (a digest that does not match), unsafe
 * (a layer that would write outside its root) or for another machine;
 * HV_E_NOTFOUND for a tag the layout lacks (the message lists its tags);
 * HV_E_PLAN for a VM the host cannot hold; HV_E_UNSUPPORTED on a backend
 * other than the built-in engine. Nothing is left behind on failure.
 */
HV_EXTERN int hv_container_create(hv_conn *conn, const char *layout_path,
                                  const hv_container_options *opts, hv_container **container);

/**
 * Boot the container's VM (or resume its image's template, HV_CONTAINER_WARM)
 * and give its init the command; returns once init has it.
 * HV_E_TIMEOUT when init did not answer within `timeout_ms` (0: 300 s); the
 * VM is then powered off. HV_E_STATE when it was started before.
 */
HV_EXTERN int hv_container_start(hv_container *container, int64_t timeout_ms);

/**
 * Wait up to `timeout_ms` (negative: for ever) for the command to end:
 * *exit_status is its status (0-255; 128+N for a command killed by signal
 * N). HV_E_NOTFOUND when the command is not in the image (status 127),
 * HV_E_PERM when it cannot be executed (126), HV_E_GUEST when init or the
 * guest failed (the message says how; status 125): the message is init's.
 * HV_E_TIMEOUT when it still runs (the container goes on).
 */
HV_EXTERN int hv_container_wait(hv_container *container, int64_t timeout_ms, int *exit_status);

/** Power the container's VM off (the command ends with status 137, as SIGKILL's). */
HV_EXTERN int hv_container_kill(hv_container *container);

/** The container's name (its VM's). */
HV_EXTERN const char *hv_container_name(const hv_container *container);
/** The image's manifest digest ("sha256:..."). */
HV_EXTERN const char *hv_container_image_digest(const hv_container *container);
/** The container's VM (owned by the container: do not free it). */
HV_EXTERN hv_vm *hv_container_vm(hv_container *container);

/** Power off a running container's VM and free it (NULL is fine). */
HV_EXTERN void hv_container_free(hv_container *container);

HV_END_DECLS

#endif /* HPCVIRT_CONTAINER_H */
