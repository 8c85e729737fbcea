/*
 * backend/conn.c - connections: hv_conn_open() resolves the URI (argument,
 * $HPCVIRT_DEFAULT_URI, kvm:///), loads plugins once, and dispatches to the
 * backend that accepts it; the connection-level operations.
 */
#include "backend/backend.h"
#include "core/alloc.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int hv_conn_open(const char *uri, hv_conn **out)
{
    const hv_backend *backend = NULL;
    void *data = NULL;
    hv_conn *conn;
    int rc;

    HV_CHECK_ARG(out, "conn");
    *out = NULL;
    if (!uri || !*uri)
        uri = getenv("HPCVIRT_DEFAULT_URI");
    if (!uri || !*uri)
        uri = HV_DEFAULT_URI;
    rc = hv_backend_load_plugins(NULL);
    if (rc < 0)
        return rc;
    conn = hv_calloc(1, sizeof(*conn));
    if (!conn)
        return HV_E_NOMEM;
    conn->uri = hv_strdup(uri);
    if (!conn->uri) {
        free(conn);
        return HV_E_NOMEM;
    }
    rc = hv_backend_open_uri(uri, &backend, &data);
    if (rc < 0) {
        free(conn->uri);
        free(conn);
        return rc;
    }
    conn->backend = backend;
    conn->data = data;
    *out = conn;
    return 0;
}

void hv_conn_close(hv_conn *conn)
{
    if (!conn)
        return;
    if (conn->backend->close)
        conn->backend->close(conn->data);
    free(conn->uri);
    free(conn);
}

const char *hv_conn_uri(const hv_conn *conn)
{
    return conn ? conn->uri : "";
}

const char *hv_conn_backend(const hv_conn *conn)
{
    return conn ? conn->backend->name : "";
}

int hv_conn_host(hv_conn *conn, hv_host **host)
{
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(host, "host");
    *host = NULL;
    if (!conn->backend->host)
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(host), "host inventory");
    return conn->backend->host(conn->data, host);
}

int hv_conn_list_vms(hv_conn *conn, char ***names, size_t *count)
{
    HV_CHECK_ARG(conn, "conn");
    HV_CHECK_ARG(names, "names");
    HV_CHECK_ARG(count, "count");
    *names = NULL;
    *count = 0;
    if (!conn->backend->list_vms)
        return hv_backend_unsupported(conn->backend, HV_BACKEND_OP(list_vms), "listing VMs");
    return conn->backend->list_vms(conn->data, names, count);
}

void hv_strv_free(char **strings, size_t count)
{
    if (!strings)
        return;
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}
