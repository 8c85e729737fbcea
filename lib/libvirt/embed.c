/*
 * libvirt/embed.c - opening libvirt's embedded drivers ("qemu:///embed?root=DIR")
 * safely: one process at a time per root, and never returning while the
 * driver's start-up work on running domains is still going on.
 *
 * An embedded driver runs inside the calling process and locks a pid file
 * under its root (DIR/run/qemu/driver.pid) from its first open until the
 * process exits: closing the connection does not release it. A second
 * process is refused at once, and a process whose open failed that way
 * cannot open the driver again. So before opening, wait until no other
 * process holds the root: hpcvirt processes queue on a lock file of their
 * own (DIR/hpcvirt-open.lock, held only while opening) so that two of them
 * never race for libvirt's lock, and each then waits, bounded, until the
 * pid file is free.
 *
 * When it opens, the driver reconnects to the QEMU processes that a previous
 * process left running, one thread per domain ("init-NAME"), each holding
 * the domain's job while it probes the host (CPU model, NUMA nodes through
 * libnuma) and talks to QEMU's monitor. Nothing waits for those threads: a
 * short-lived program that returns from main() while one runs has the C
 * library's exit handlers (libnuma's destructor frees its node masks) pulled
 * from under it and crashes. So the open waits until every running domain's
 * reconnection is over.
 */
#include "libvirt/embed.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <libxml/uri.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Room to quote a URI or a root in a message (hv_quote()): both are the
 * caller's, and may hold anything (a root comes %-unescaped from the URI).
 */
#define QUOTE_SIZE 320

bool hv_libvirt_uri_is_embedded(const char *uri)
{
    const char *path = strstr(uri, ":///");

    return path && strncmp(path + 4, "embed", 5) == 0 && (path[9] == '\0' || path[9] == '?');
}

/* The root=DIR parameter of an embedded URI, unescaped (malloc'ed), or NULL. */
static char *embed_root(const char *uri)
{
    xmlURIPtr parsed = xmlParseURI(uri);
    char *root = NULL;

    if (!parsed)
        return NULL;
    for (const char *p = parsed->query_raw; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > 5 && strncmp(p, "root=", 5) == 0) {
            char *value = xmlURIUnescapeString(p + 5, (int)(len - 5), NULL);

            if (value) {
                root = hv_strdup(value);
                xmlFree(value);
            }
            break;
        }
        p = end ? end + 1 : NULL;
    }
    xmlFreeURI(parsed);
    return root;
}

static long elapsed_ms(uint64_t start_ns)
{
    return (long)((hv_clock_monotonic_ns() - start_ns) / 1000000u);
}

/* A pause that grows from 2 ms to 50 ms. */
static void back_off(long *pause_us)
{
    usleep((useconds_t)*pause_us);
    if (*pause_us < 50000)
        *pause_us *= 2;
}

/* Whether another process holds a write lock on DIR/run/qemu/driver.pid. */
static bool pid_file_taken(const char *root)
{
    char *path = hv_asprintf("%s/run/qemu/driver.pid", root);
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool taken = false;
    int fd;

    if (!path)
        return false;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    free(path);
    if (fd < 0)
        return false;
    /* F_GETLK reports only other processes' locks: this one's own driver is no obstacle */
    taken = fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
    close(fd);
    return taken;
}

static int busy_error(const char *uri, const char *root)
{
    char quoted_uri[QUOTE_SIZE], quoted_root[QUOTE_SIZE];

    return hv_error_set(HV_E_TIMEOUT, NULL,
                        "libvirt: connecting to '%s': another process has the embedded driver "
                        "of '%s' open (it serves one process at a time, until that process "
                        "exits); waited %d s: end that process, or use another root",
                        hv_quote(quoted_uri, sizeof(quoted_uri), uri),
                        hv_quote(quoted_root, sizeof(quoted_root), root),
                        HV_LIBVIRT_EMBED_WAIT_MS / 1000);
}

/*
 * Waits until no other process holds `root`, with this process queued on
 * DIR/hpcvirt-open.lock (returned in *queue_fd, -1 where the root does not
 * exist yet: then libvirt creates it and nothing can hold it).
 */
static int wait_for_root(const char *uri, const char *root, int *queue_fd)
{
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    uint64_t start;
    long pause_us = 2000;
    char *path = hv_asprintf("%s/hpcvirt-open.lock", root);
    int fd;

    *queue_fd = -1;
    if (!path)
        return HV_E_NOMEM;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(path);
    if (fd < 0)
        return 0;
    start = hv_clock_monotonic_ns();
    while (fcntl(fd, F_SETLK, &lock) < 0) {
        if ((errno != EAGAIN && errno != EACCES && errno != EINTR) ||
            elapsed_ms(start) >= HV_LIBVIRT_EMBED_WAIT_MS) {
            int e = errno;

            close(fd);
            if (e == EAGAIN || e == EACCES || e == EINTR)
                return busy_error(uri, root);
            return 0; /* a file system without locks: libvirt's own lock still guards */
        }
        back_off(&pause_us);
    }
    *queue_fd = fd;
    while (pid_file_taken(root)) {
        if (elapsed_ms(start) >= HV_LIBVIRT_EMBED_WAIT_MS)
            return busy_error(uri, root);
        back_off(&pause_us);
    }
    return 0;
}

/*
 * Waits until every running domain's reconnection is over, by asking each
 * for something that needs the domain's job (IOThread information: a
 * read-only query job, answered by QEMU's monitor). libvirt grants it only
 * after the reconnection's job has ended. Errors do not matter: a domain
 * whose QEMU went away in the meantime is simply off now.
 */
static void wait_for_reconnect(virConnectPtr conn)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

    for (int i = 0; i < n; i++) {
        virDomainIOThreadInfoPtr *info = NULL;
        int count = virDomainGetIOThreadInfo(doms[i], &info, VIR_DOMAIN_AFFECT_LIVE);

        for (int j = 0; j < count; j++)
            virDomainIOThreadInfoFree(info[j]);
        free(info);
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
}

int hv_libvirt_embed_open(const char *uri, virConnectAuthPtr auth, virConnectPtr *conn)
{
    char *root = embed_root(uri);
    int queue_fd = -1, rc;

    *conn = NULL;
    if (!root) {
        char quoted[QUOTE_SIZE], base[QUOTE_SIZE];

        return hv_error_set(HV_E_INVAL, "uri",
                            "'%s' names no root directory: write %s?root=DIR (an absolute "
                            "path, where the embedded driver keeps its state)",
                            hv_quote(quoted, sizeof(quoted), uri),
                            hv_quote_n(base, sizeof(base), uri, strcspn(uri, "?")));
    }
    rc = wait_for_root(uri, root, &queue_fd);
    if (rc == 0)
        *conn = virConnectOpenAuth(uri, auth, 0);
    if (queue_fd >= 0)
        close(queue_fd); /* the next process in the queue now finds libvirt's lock taken */
    free(root);
    if (rc < 0 || !*conn)
        return rc;
    wait_for_reconnect(*conn);
    return 0;
}
