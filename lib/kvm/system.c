/*
 * kvm/system.c - /dev/kvm: opened once per connection, checked for the API
 * version and the capabilities the engine relies on, and asked for the
 * CPUID and XCR0 features every vCPU gets.
 */
#include "kvm/system.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_API_VERSION_EXPECTED 12
#define CPUID_MAX_ENTRIES        256

/* The device path the engine opens: $HPCVIRT_KVM_DEVICE or /dev/kvm. */
static const char *device_path(void)
{
    const char *path = getenv("HPCVIRT_KVM_DEVICE");

    return path && *path ? path : "/dev/kvm";
}

static int need_cap(int fd, long cap, const char *name, const char *path)
{
    if (ioctl(fd, KVM_CHECK_EXTENSION, cap) > 0)
        return 0;
    return hv_error_set(HV_E_UNSUPPORTED, NULL,
                        "%s lacks %s, which the built-in engine needs: use a newer kernel (guest "
                        "payloads run on nothing else), or a libvirt: URI for VMs without one",
                        path, name);
}

static int get_cpuid(hv_kvm_system *sys, const char *path)
{
    struct kvm_cpuid2 *cpuid =
        hv_calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));

    if (!cpuid)
        return HV_E_NOMEM;
    cpuid->nent = CPUID_MAX_ENTRIES;
    if (ioctl(sys->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
        int err = errno;

        free(cpuid);
        return hv_error_set(HV_E_IO, NULL, "%s: KVM_GET_SUPPORTED_CPUID failed: %s", path,
                            strerror(err));
    }
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 0x80000001)
            sys->gib_pages = (e->edx >> 26) & 1; /* pdpe1gb */
        if (e->function == 1 && ((e->ecx >> 26) & 1))
            sys->xsave = true;
        if (e->function == 0xd && e->index == 0)
            sys->xcr0 = ((uint64_t)e->edx << 32 | e->eax) & 0x7; /* x87, SSE, AVX */
    }
    if (!(sys->xcr0 & 1))
        sys->xsave = false;
    sys->cpuid = cpuid;
    return 0;
}

int hv_kvm_system_open(hv_kvm_system *sys)
{
    const char *device = device_path();
    char path[HV_QUOTE_SIZE]; /* the device as messages show it: $HPCVIRT_KVM_DEVICE is outside text
                               */
    int version, rc;

    hv_quote(path, sizeof(path), device);
    memset(sys, 0, sizeof(*sys));
    sys->fd = open(device, O_RDWR | O_CLOEXEC);
    if (sys->fd < 0) {
        int err = errno;

        if (err == ENOENT || err == ENXIO || err == ENODEV)
            return hv_error_set(HV_E_NOKVM, NULL,
                                "%s does not exist: this machine offers no KVM (no "
                                "virtualization extensions, or the kvm module is not loaded), so "
                                "the built-in engine cannot run here; guest payloads (hpcvirt "
                                "run) run on nothing else: load kvm_intel or kvm_amd (with "
                                "virtualization enabled in the firmware; in a VM, nested "
                                "virtualization from its host) or use a machine with KVM; a VM "
                                "without a payload can use a libvirt: URI instead "
                                "(libvirt:qemu:///system emulates its CPU in software)",
                                path);
        if (err == EACCES || err == EPERM)
            return hv_error_set(HV_E_PERM, NULL,
                                "%s: permission denied: add the user to the group that owns it "
                                "(usually kvm) and log in again, or run as root",
                                path);
        return hv_error_set(HV_E_NOKVM, NULL, "cannot open %s: %s", path, strerror(err));
    }
    version = ioctl(sys->fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION_EXPECTED) {
        hv_kvm_system_close(sys);
        return hv_error_set(HV_E_UNSUPPORTED, NULL,
                            "%s speaks KVM API version %d; the built-in engine needs version %d",
                            path, version, KVM_API_VERSION_EXPECTED);
    }
    if ((rc = need_cap(sys->fd, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", path)) < 0 ||
        (rc = need_cap(sys->fd, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", path)) < 0 ||
        (rc = need_cap(sys->fd, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", path)) < 0) {
        hv_kvm_system_close(sys);
        return rc;
    }
    sys->vcpu_mmap_bytes = ioctl(sys->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sys->vcpu_mmap_bytes <= 0) {
        hv_kvm_system_close(sys);
        return hv_error_set(HV_E_IO, NULL, "%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
    }
    sys->max_vcpus = ioctl(sys->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (sys->max_vcpus <= 0)
        sys->max_vcpus = ioctl(sys->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (sys->max_vcpus <= 0)
        sys->max_vcpus = 4;
    if ((rc = get_cpuid(sys, path)) < 0) {
        hv_kvm_system_close(sys);
        return rc;
    }
    if (sys->xsave && ioctl(sys->fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
        sys->xsave = false;
    return 0;
}

void hv_kvm_system_close(hv_kvm_system *sys)
{
    if (sys->fd >= 0)
        close(sys->fd);
    sys->fd = -1;
    free(sys->cpuid);
    sys->cpuid = NULL;
}
