/*
 * host/catalogue.h - the built-in catalogue of accelerators (internal):
 * PCI ids -> kind, model name and the BAR layout the device presents, so the
 * planner can budget MMIO for a `{model, count}` spec without the device.
 */
#ifndef HV_HOST_CATALOGUE_H
#define HV_HOST_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hpcvirt/host.h>

typedef struct hv_catalogue_bar {
    unsigned int index;
    uint64_t size_bytes;
    bool is_64bit;
    bool prefetchable;
} hv_catalogue_bar;

typedef struct hv_catalogue_entry {
    const char *id; /* "a100-sxm4-80gb": what a spec's `model` names */
    uint16_t vendor_id;
    uint16_t device_id;
    int kind;         /* HV_ACCELERATOR_* */
    const char *name; /* "NVIDIA A100 SXM4 80GB" */
    size_t bar_count;
    hv_catalogue_bar bars[6];
} hv_catalogue_entry;

const hv_catalogue_entry *hv_catalogue_by_ids(uint16_t vendor_id, uint16_t device_id);
/* By id or name, case-insensitive. */
const hv_catalogue_entry *hv_catalogue_by_model(const char *model);
const hv_catalogue_entry *hv_catalogue_at(size_t index);

/*
 * Kind of a PCI function from its ids and class code (0x030200): an
 * HV_ACCELERATOR_* value, or 0 when the function is no accelerator.
 */
int hv_accel_kind_from_pci(uint16_t vendor_id, uint16_t device_id, uint32_t class_code);
/* The HV_ACCELERATOR_* that hv_accelerator_kind_name() names `name`, else 0. */
int hv_accel_kind_from_name(const char *name);
const char *hv_pci_vendor_name(uint16_t vendor_id);

#endif
