/*
 * kvm/migrate-endpoint.c - the connection a migration of the built-in
 * engine runs over: a descriptor the caller gives ("fd:N"), a TCP
 * connection to "tcp://HOST:PORT", or the one accepted on that address by a
 * destination that listens.
 */
#include "kvm/migrate-endpoint.h"
#include "core/error.h"
#include "core/format.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "\"tcp://HOST:PORT\" or \"fd:N\" (a connected socket)"

/* "tcp://HOST:PORT" into host[] and port[] ("[::1]:PORT" for IPv6). */
static int split_tcp(const char *address, char *host, size_t host_size, char *port,
                     size_t port_size)
{
    const char *rest = address + strlen("tcp://"), *colon;
    char quoted[HV_QUOTE_SIZE];
    size_t host_len;

    if (*rest == '[') {
        const char *close = strchr(rest, ']');

        if (!close || close[1] != ':')
            goto bad;
        host_len = (size_t)(close - rest - 1);
        rest++;
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon)
            goto bad;
        host_len = (size_t)(colon - rest);
    }
    if (host_len == 0 || host_len >= host_size || strlen(colon + 1) == 0 ||
        strlen(colon + 1) >= port_size || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        goto bad;
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    hv_format(port, port_size, "%s", colon + 1);
    if (atoi(port) < 1 || atoi(port) > 65535)
        goto bad;
    return 0;
bad:
    return hv_error_set(HV_E_INVAL, NULL, "'%s' is not a migration address: write " USAGE,
                        hv_quote(quoted, sizeof(quoted), address));
}

static int tcp_socket(const char *address, bool listening, int timeout_ms, int *out)
{
    char host[256], port[8], quoted[HV_QUOTE_SIZE];
    struct addrinfo hints, *list = NULL;
    int rc, fd = -1, err = 0, one = 1;

    if ((rc = split_tcp(address, host, sizeof(host), port, sizeof(port))) < 0)
        return rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = listening ? AI_PASSIVE : 0;
    if ((rc = getaddrinfo(host, port, &hints, &list)) != 0)
        return hv_error_set(HV_E_MIGRATION, NULL, "%s: the host name does not resolve: %s",
                            hv_quote(quoted, sizeof(quoted), address), gai_strerror(rc));
    for (struct addrinfo *a = list; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (listening) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0)
                break;
        } else if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(list);
    if (fd < 0)
        return hv_error_set(HV_E_MIGRATION, NULL, "%s: %s failed: %s",
                            hv_quote(quoted, sizeof(quoted), address),
                            listening ? "listening" : "connecting", strerror(err));
    if (listening) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int listener = fd, n;

        do
            n = poll(&p, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        fd = n > 0 ? accept4(listener, NULL, NULL, SOCK_CLOEXEC) : -1;
        err = errno;
        close(listener);
        if (n == 0)
            return hv_error_set(HV_E_TIMEOUT, NULL, "no source connected to %s within %d ms",
                                hv_quote(quoted, sizeof(quoted), address), timeout_ms);
        if (fd < 0)
            return hv_error_set(HV_E_MIGRATION, NULL, "accepting a source on %s failed: %s",
                                hv_quote(quoted, sizeof(quoted), address), strerror(err));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return 0;
}

int hv_kvm_migrate_endpoint(const char *address, bool listening, int timeout_ms, int *fd,
                            bool *owned)
{
    char quoted[HV_QUOTE_SIZE];

    *fd = -1;
    *owned = false;
    if (strncmp(address, "fd:", 3) == 0) {
        char *end;
        long n;

        errno = 0;
        n = strtol(address + 3, &end, 10);
        if (address[3] == '\0' || *end || errno || n < 0 || n > INT_MAX)
            return hv_error_set(HV_E_INVAL, NULL, "'%s' is not a migration address: write " USAGE,
                                hv_quote(quoted, sizeof(quoted), address));
        if (fcntl((int)n, F_GETFD) < 0)
            return hv_error_set(HV_E_INVAL, NULL, "%s: descriptor %ld is not open", address, n);
        *fd = (int)n;
        return 0;
    }
    if (strncmp(address, "tcp://", 6) == 0) {
        int rc = tcp_socket(address, listening, timeout_ms, fd);

        *owned = rc == 0;
        return rc;
    }
    return hv_error_set(HV_E_INVAL, NULL, "'%s' is not a migration address: write " USAGE,
                        hv_quote(quoted, sizeof(quoted), address));
}
