/*
 * container/fs-tree.h - file system trees that came from images (internal):
 * paths opened beneath a directory with openat2(RESOLVE_BENEATH), so that
 * neither ".." nor a symlink leads out of it, and trees removed with *at
 * calls that never follow a symlink. Functions return a file descriptor or
 * 0, or a negative errno value, and set no error.
 */
#ifndef HV_CONTAINER_FS_TREE_H
#define HV_CONTAINER_FS_TREE_H

#include <stdint.h>

/*
 * openat2(dirfd, path, flags | O_CLOEXEC) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS and the RESOLVE_* bits of `resolve_more`: -EXDEV
 * when the path would leave `dirfd` (an absolute symlink, ".." above it),
 * -ENOSYS where the kernel has no openat2 (Linux < 5.6). "" opens dirfd's
 * directory itself.
 */
int hv_fs_open_beneath(int dirfd, const char *path, int flags, uint64_t resolve_more);

/* Remove everything inside the directory `dirfd` (which stays). */
int hv_fs_tree_clear(int dirfd);

/*
 * Remove `name`, a single component in `dirfd`: a file, a symlink (not what
 * it points to) or a directory with all inside it. Nothing there is 0.
 */
int hv_fs_tree_remove(int dirfd, const char *name);

#endif
