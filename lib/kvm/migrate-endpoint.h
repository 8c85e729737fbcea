/*
 * kvm/migrate-endpoint.h - where a migration of the built-in engine goes or
 * comes from: "fd:N" (a connected socket the caller keeps) or
 * "tcp://HOST:PORT" (connected to, or listened on for one connection)
 * (internal; kvm/migrate-endpoint.c).
 */
#ifndef HV_KVM_MIGRATE_ENDPOINT_H
#define HV_KVM_MIGRATE_ENDPOINT_H

#include <stdbool.h>

/*
 * A connected descriptor for `address` into *fd, *owned saying whether the
 * caller must close it: connected to (`listen` false) or the one connection
 * accepted there within timeout_ms (`listen` true). HV_E_INVAL for an
 * address of another form, HV_E_MIGRATION when nobody answers, HV_E_TIMEOUT
 * when no source connected in time.
 */
int hv_kvm_migrate_endpoint(const char *address, bool listen, int timeout_ms, int *fd, bool *owned);

#endif
