/*
 * host/catalogue.c - known accelerators and their BARs (from the vendors'
 * published specifications and lspci output of real devices), and the rules
 * that decide which PCI functions are accelerators at all, and of what kind
 * (hv_accelerator_kind_name()).
 */
#include "host/catalogue.h"

#include <string.h>
#include <strings.h>

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)

/* NVIDIA data-center GPUs: BAR0 registers (32-bit), BAR1 framebuffer, BAR3 doorbells. */
#define NV_BARS(bar1)                                                                              \
    3,                                                                                             \
    {                                                                                              \
        {0, MiB(16), false, false}, {1, (bar1), true, true},                                       \
        {                                                                                          \
            3, MiB(32), true, true                                                                 \
        }                                                                                          \
    }

static const hv_catalogue_entry catalogue[] = {
    {"h100-sxm5-80gb", 0x10de, 0x2330, HV_ACCELERATOR_GPU, "NVIDIA H100 SXM5 80GB",
     NV_BARS(GiB(128))},
    {"h100-pcie-80gb", 0x10de, 0x2331, HV_ACCELERATOR_GPU, "NVIDIA H100 PCIe 80GB",
     NV_BARS(GiB(128))},
    {"a100-sxm4-80gb", 0x10de, 0x20b2, HV_ACCELERATOR_GPU, "NVIDIA A100 SXM4 80GB",
     NV_BARS(GiB(128))},
    {"a100-sxm4-40gb", 0x10de, 0x20b0, HV_ACCELERATOR_GPU, "NVIDIA A100 SXM4 40GB",
     NV_BARS(GiB(64))},
    {"a100-pcie-80gb", 0x10de, 0x20b5, HV_ACCELERATOR_GPU, "NVIDIA A100 PCIe 80GB",
     NV_BARS(GiB(128))},
    {"a100-pcie-40gb", 0x10de, 0x20f1, HV_ACCELERATOR_GPU, "NVIDIA A100 PCIe 40GB",
     NV_BARS(GiB(64))},
    {"v100-pcie-16gb", 0x10de, 0x1db4, HV_ACCELERATOR_GPU, "NVIDIA V100 PCIe 16GB",
     NV_BARS(GiB(16))},
    {"v100-pcie-32gb", 0x10de, 0x1db6, HV_ACCELERATOR_GPU, "NVIDIA V100 PCIe 32GB",
     NV_BARS(GiB(32))},
    {"v100-sxm2-16gb", 0x10de, 0x1db1, HV_ACCELERATOR_GPU, "NVIDIA V100 SXM2 16GB",
     NV_BARS(GiB(16))},
    {"v100-sxm2-32gb", 0x10de, 0x1db5, HV_ACCELERATOR_GPU, "NVIDIA V100 SXM2 32GB",
     NV_BARS(GiB(32))},
    {"l40s", 0x10de, 0x26b9, HV_ACCELERATOR_GPU, "NVIDIA L40S", NV_BARS(GiB(64))},
    {"t4", 0x10de, 0x1eb8, HV_ACCELERATOR_GPU, "NVIDIA T4", NV_BARS(MiB(256))},
    /* Intel PACs: DFL register space at BAR0 (the FME), the D5005 adds a BAR2 window. */
    {"pac-a10-gx",
     0x8086,
     0x09c4,
     HV_ACCELERATOR_FPGA,
     "Intel PAC with Arria 10 GX FPGA",
     1,
     {{0, KiB(512), true, true}}},
    {"pac-d5005",
     0x8086,
     0x0b2b,
     HV_ACCELERATOR_FPGA,
     "Intel FPGA PAC D5005",
     2,
     {{0, KiB(512), true, false}, {2, KiB(512), true, true}}},
};

#define CATALOGUE_SIZE (sizeof(catalogue) / sizeof(catalogue[0]))

const hv_catalogue_entry *hv_catalogue_by_ids(uint16_t vendor_id, uint16_t device_id)
{
    for (size_t i = 0; i < CATALOGUE_SIZE; i++)
        if (catalogue[i].vendor_id == vendor_id && catalogue[i].device_id == device_id)
            return &catalogue[i];
    return NULL;
}

const hv_catalogue_entry *hv_catalogue_by_model(const char *model)
{
    if (!model)
        return NULL;
    for (size_t i = 0; i < CATALOGUE_SIZE; i++)
        if (strcasecmp(catalogue[i].id, model) == 0 || strcasecmp(catalogue[i].name, model) == 0)
            return &catalogue[i];
    return NULL;
}

const hv_catalogue_entry *hv_catalogue_at(size_t index)
{
    return index < CATALOGUE_SIZE ? &catalogue[index] : NULL;
}

/* Vendors whose display controllers are emulated or BMC consoles, never accelerators. */
static bool is_console_vga_vendor(uint16_t vendor_id)
{
    switch (vendor_id) {
    case 0x1234: /* QEMU stdvga */
    case 0x1af4: /* virtio-gpu */
    case 0x1b36: /* Red Hat QXL */
    case 0x15ad: /* VMware SVGA */
    case 0x1013: /* Cirrus */
    case 0x1a03: /* ASPEED BMC */
    case 0x102b: /* Matrox BMC */
    case 0x80ee: /* VirtualBox */
    case 0x1414: /* Hyper-V */
        return true;
    default:
        return false;
    }
}

static bool is_fpga_vendor(uint16_t vendor_id)
{
    return vendor_id == 0x10ee /* Xilinx/AMD */ || vendor_id == 0x1172 /* Altera */;
}

int hv_accel_kind_from_pci(uint16_t vendor_id, uint16_t device_id, uint32_t class_code)
{
    const hv_catalogue_entry *known = hv_catalogue_by_ids(vendor_id, device_id);
    uint32_t base = class_code >> 16, sub = (class_code >> 8) & 0xff;

    if (known)
        return known->kind;
    if (base == 0x03) { /* display controller */
        if (is_console_vga_vendor(vendor_id))
            return 0;
        return sub == 0x02 || sub == 0x80 || vendor_id == 0x10de || vendor_id == 0x1002
                   ? HV_ACCELERATOR_GPU
                   : 0;
    }
    if (base == 0x12) /* processing accelerator */
        return is_fpga_vendor(vendor_id) ? HV_ACCELERATOR_FPGA : HV_ACCELERATOR_OTHER;
    if (base == 0x11 && sub == 0x80 && is_fpga_vendor(vendor_id)) /* signal processing */
        return HV_ACCELERATOR_FPGA;
    return 0;
}

const char *hv_accelerator_kind_name(int kind)
{
    switch (kind) {
    case HV_ACCELERATOR_GPU:
        return "gpu";
    case HV_ACCELERATOR_FPGA:
        return "fpga";
    case HV_ACCELERATOR_OTHER:
        return "accelerator";
    default:
        return "";
    }
}

int hv_accel_kind_from_name(const char *name)
{
    for (int k = HV_ACCELERATOR_GPU; k <= HV_ACCELERATOR_OTHER; k++)
        if (name && strcmp(name, hv_accelerator_kind_name(k)) == 0)
            return k;
    return 0;
}

const char *hv_pci_vendor_name(uint16_t vendor_id)
{
    switch (vendor_id) {
    case 0x10de:
        return "NVIDIA";
    case 0x1002:
        return "AMD";
    case 0x8086:
        return "Intel";
    case 0x10ee:
        return "Xilinx";
    case 0x1172:
        return "Altera";
    case 0x15b3:
        return "Mellanox";
    case 0x1da3:
        return "Habana";
    default:
        return "";
    }
}
