/*
 * host/inroot.h - opening paths inside a root directory (internal), the way
 * a chroot sees them: every symlink on the way is followed, an absolute
 * target starts again at the root and ".." at the root stays there, so no
 * path, however its links are made, reaches a file outside the root.
 *
 * The kernel does it where it can (openat2 with RESOLVE_IN_ROOT, Linux 5.6);
 * elsewhere (an older kernel, a seccomp filter that refuses openat2) the
 * portable walk resolves one component at a time here, with the same rules
 * and at most HV_INROOT_MAX_LINKS links followed. Functions return a file
 * descriptor or 0, or a negative errno value, and set no error.
 */
#ifndef HV_HOST_INROOT_H
#define HV_HOST_INROOT_H

#include <fcntl.h>
#include <limits.h>

/* How paths are resolved inside the root. */
typedef enum hv_inroot_resolver {
    HV_INROOT_OPENAT2, /* the kernel: openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) */
    HV_INROOT_WALK,    /* the portable walk, component by component */
} hv_inroot_resolver;

/* Links followed in one resolution before ELOOP (the kernel's MAXSYMLINKS). */
#define HV_INROOT_MAX_LINKS 40

/*
 * Flags that open a file for lookups only (fstat, a directory to resolve
 * from) without opening what it is: a FIFO does not block, a device's driver
 * is not called.
 */
#ifdef O_PATH
#define HV_INROOT_LOOKUP O_PATH
#else
#define HV_INROOT_LOOKUP (O_RDONLY | O_NONBLOCK)
#endif

/* The resolver this kernel offers for `rootfd`: openat2 when it works, else the walk. */
hv_inroot_resolver hv_inroot_probe(int rootfd);

/*
 * Open `rel` (relative to the root; a leading '/' means the root too) with
 * `flags` (O_CLOEXEC is added), following its links inside the root.
 */
int hv_inroot_open(int rootfd, hv_inroot_resolver resolver, const char *rel, int flags);

/*
 * The directory that holds `rel`'s last component, opened for lookups with
 * the links before it followed inside the root, and that component in
 * `name`: a single name that may itself be a link (not followed), never "..";
 * "." when `rel` names a directory through "." or "..", or is empty.
 */
int hv_inroot_open_parent(int rootfd, hv_inroot_resolver resolver, const char *rel,
                          char name[NAME_MAX + 1]);

#endif
