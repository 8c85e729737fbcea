/*
 * plan/migration.h - what hpcvirt tells the user about a VM whose plan
 * keeps it from being live-migrated: the plan's finding (plan/migration.c),
 * the dispatch layer's refusal (lib/backend) and the libvirt backend's
 * refusal for handles found by name (lib/libvirt) say the same.
 */
#ifndef HV_PLAN_MIGRATION_H
#define HV_PLAN_MIGRATION_H

/*
 * What moves such a VM. Its passed-through devices keep their state in
 * hardware, and suspending it to a file is no way round that: libvirt's
 * QEMU driver saves a domain through migration, with the same host-device
 * checks (qemuDomainSaveInternal -> qemuMigrationSrcIsAllowed; only the
 * test driver saves one). A string literal, to be pasted into messages
 * that speak of the VM as "it".
 */
#define HV_PLAN_NOT_LIVE_ADVICE                                                                    \
    "stop it, move it with an offline migration (HV_MIGRATE_OFFLINE, hpcvirt migrate "             \
    "--offline) and start it on the other host (QEMU cannot save it to a file either)"

/* The refusal of a live migration, a format: the VM's name (quoted) and the reason. */
#define HV_PLAN_NOT_LIVE_REFUSAL "%s cannot be live-migrated: %s; " HV_PLAN_NOT_LIVE_ADVICE

#endif
