/*
 * hpcvirt/hpcvirt.h - the umbrella header: include this one.
 *
 * hpcvirt is an embeddable SDK that brings HPC and ML/DL virtualization
 * features to KVM hosts: host inventory, VM specs checked against
 * configuration maximums, plans (vNUMA, MMIO budget, huge pages, devices),
 * and backends that realize them (a built-in KVM engine, libvirt).
 */
#ifndef HPCVIRT_HPCVIRT_H
#define HPCVIRT_HPCVIRT_H

#include <hpcvirt/common.h>
#include <hpcvirt/version.h>
#include <hpcvirt/error.h>
#include <hpcvirt/log.h>
#include <hpcvirt/size.h>
#include <hpcvirt/finding.h>
#include <hpcvirt/host.h>
#include <hpcvirt/profile.h>
#include <hpcvirt/spec.h>
#include <hpcvirt/plan.h>
#include <hpcvirt/vm.h>
#include <hpcvirt/backend.h>
#include <hpcvirt/libvirt.h>
#include <hpcvirt/container.h>

#endif /* HPCVIRT_HPCVIRT_H */
