/*
 * container/initramfs.h - the container guest's initramfs (internal): a
 * newc cpio archive of the guest's init (hpcvirt-container-init), the
 * device node and folders it needs, and the kernel modules it loads, with
 * /modules.order saying in which order (docs/container-guest.md). It owns
 * choosing those modules from a kernel's modules folder (modules.dep,
 * modules.builtin) and writing the archive; it reads files, runs nothing.
 */
#ifndef HV_CONTAINER_INITRAMFS_H
#define HV_CONTAINER_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

/* The largest file the archive takes: the init, a module, modules.dep. */
#define HV_CONTAINER_INITRAMFS_MAX_FILE_BYTES (UINT64_C(64) << 20)

/*
 * The archive, uncompressed, in a new buffer (free() it) of *archive_bytes
 * bytes: /init is the file at `init_path` (an ELF program, mode 0755);
 * `modules_dir` is the guest kernel's modules folder (/lib/modules/VERSION,
 * with modules.dep and maybe modules.builtin), or NULL for a kernel that
 * has every module the guest needs built in (then /modules.order is
 * empty). Errors: HV_E_NOTFOUND for a folder without modules.dep or a
 * module the kernel has neither as a file nor built in, HV_E_UNSUPPORTED
 * when the kernel's modules are compressed (naming one), HV_E_RANGE for a
 * file above HV_CONTAINER_INITRAMFS_MAX_FILE_BYTES, HV_E_PARSE for a
 * modules.dep that cannot be followed (a loop, a path outside the folder),
 * HV_E_INVAL for an init that is not an ELF file, HV_E_IO for a file that
 * cannot be read (a missing one included) or is not a regular file.
 */
int hv_container_initramfs_build(const char *init_path, const char *modules_dir, uint8_t **archive,
                                 size_t *archive_bytes);

/*
 * An archive hv_container_initramfs_build() made (`length` bytes), into the file
 * `output_path` whole or not at all: written to a temporary file beside it
 * (mode 0644), synced, renamed over it; nothing is left when writing fails.
 */
int hv_container_initramfs_save(const char *output_path, const uint8_t *bytes, size_t length);

/* hv_container_initramfs_build(), then hv_container_initramfs_save() to `output_path`. */
int hv_container_initramfs_write(const char *init_path, const char *modules_dir,
                                 const char *output_path);

#endif
