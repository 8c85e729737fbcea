/*
 * host/sysfs.h - reading sysfs/procfs files under a root directory
 * (internal). Every host fact is read through these, relative to the root,
 * so a captured tree reads exactly like the live machine. Links may be real
 * symlinks or "flattened" link files (a regular file holding the link's
 * target), as trees copied by tools that drop symlinks have them.
 *
 * A root is a description of a machine, often copied from elsewhere, so
 * nothing under it is trusted: every access (reads, links, listings,
 * existence checks) resolves inside the root as a chroot would (host/inroot.h:
 * an absolute link target starts at the root, ".." stops there), only a
 * regular file is read and only a directory listed (a FIFO, device or socket
 * is an error, never opened), and every read and listing is bounded.
 */
#ifndef HV_HOST_SYSFS_H
#define HV_HOST_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/inroot.h"

typedef struct hv_sysfs {
    int rootfd;
    char *root;                  /* as given, for messages */
    hv_inroot_resolver resolver; /* openat2 where the kernel has it; tests may force the walk */
} hv_sysfs;

/* Open the root directory. HV_E_NOTFOUND / HV_E_IO when it is not a readable directory. */
int hv_sysfs_open(hv_sysfs *fs, const char *root);
void hv_sysfs_close(hv_sysfs *fs);

/* Largest file read, whatever `max` a caller passes (/proc/cpuinfo of the largest machines). */
#define HV_SYSFS_MAX_FILE (64u << 20)
/* Most entries a listing returns (HV_E_RANGE beyond). */
#define HV_SYSFS_MAX_ENTRIES 65536u

/*
 * Read a whole regular file (relative path, no leading '/'), NUL-terminated.
 * HV_E_NOTFOUND when it does not exist, HV_E_IO when it cannot be read or is
 * not a regular file (a directory, FIFO, device or socket: never opened for
 * reading), HV_E_RANGE when larger than `max` (at most HV_SYSFS_MAX_FILE),
 * HV_E_PARSE when it holds a NUL byte; the path is in the error.
 */
int hv_sysfs_read(const hv_sysfs *fs, const char *rel, size_t max, char **text);

/* Read one number (decimal, or hex with 0x); HV_E_PARSE names the file. */
int hv_sysfs_read_i64(const hv_sysfs *fs, const char *rel, int64_t *out);
int hv_sysfs_read_u64(const hv_sysfs *fs, const char *rel, uint64_t *out);
/* Read a short text attribute with surrounding whitespace removed. */
int hv_sysfs_read_line(const hv_sysfs *fs, const char *rel, char **out);

/*
 * The target of a link (real or flattened). HV_E_NOTFOUND when missing,
 * HV_E_PARSE when the entry is neither a link nor a link file.
 */
int hv_sysfs_readlink(const hv_sysfs *fs, const char *rel, char **target);

/*
 * Resolve `rel` to the path it stands for: when its last component is a
 * link (real or flattened), the link's directory joined with its target,
 * normalized ("sys/bus/pci/devices/X" -> "sys/devices/pci0000:00/X"). Paths
 * that are not links come back unchanged. Targets that leave the root are
 * refused (HV_E_PARSE).
 */
int hv_sysfs_resolve(const hv_sysfs *fs, const char *rel, char **resolved);

/* The last path component of a link's target ("nvidia" for a driver link). */
int hv_sysfs_link_basename(const hv_sysfs *fs, const char *rel, char **name);

/*
 * Entries of a directory (no "." and ".."), sorted in version order
 * ("cpu2" before "cpu10"), optionally only those starting with `prefix`.
 * HV_E_NOTFOUND when the directory does not exist, HV_E_IO when it is not a
 * directory or cannot be read, HV_E_RANGE beyond HV_SYSFS_MAX_ENTRIES.
 */
int hv_sysfs_list(const hv_sysfs *fs, const char *rel, const char *prefix, char ***names,
                  size_t *count);
void hv_sysfs_list_free(char **names, size_t count);

/* Join path parts with '/'; NULL on ENOMEM. */
char *hv_path_join(const char *a, const char *b);

#endif
