/*
 * kvm/vcpu.c - a vCPU of the built-in engine: creation (kvm_run mapping,
 * CPUID), the entry state of the guest ABI (64-bit mode at CPL 3, IOPL 3,
 * identity page tables, SSE enabled) and the kick (immediate_exit plus a
 * signal) that brings it out of the guest for pause and stop. Its thread
 * and what its exits do to the VM are run.c's; vm.c owns the VM.
 */
#include "kvm/engine.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "kvm/cpuid.h"
#include "kvm/layout.h"
#include "kvm/linux.h"

#include <errno.h>
#include <hpcvirt/guest.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The signal that interrupts KVM_RUN. Its handler does nothing; it is
 * installed once, only where the process left the signal at its default or
 * ignored (docs/backends.md says so).
 */
#define KICK_SIGNAL (SIGRTMIN + 7)

int hv_kvm_vcpu_kick_signal(void)
{
    return KICK_SIGNAL;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig)
{
    (void)sig;
}

static void install_kick_handler(void)
{
    struct sigaction old, sa;

    if (sigaction(KICK_SIGNAL, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
        return; /* the application's own handler: KVM_RUN still returns EINTR */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(KICK_SIGNAL, &sa, NULL);
}

/* ---- creation and entry state ---------------------------------------------------- */

/*
 * A Linux guest's vCPU gets its own CPUID: KVM's with the topology leaves of
 * the plan's sockets x cores x threads, its APIC id and its vNUMA node
 * (payloads get KVM's table unchanged).
 */
static int set_linux_cpuid(hv_kvm_vcpu *vcpu)
{
    const hv_kvm_vm *vm = vcpu->vm;
    const struct kvm_cpuid2 *supported = vm->conn->sys.cpuid;
    uint32_t max = supported->nent + HV_KVM_CPUID_EXTRA, node = 0, count = 0;
    struct kvm_cpuid2 *table =
        hv_calloc(1, sizeof(*table) + (size_t)max * sizeof(struct kvm_cpuid_entry2));
    int rc;

    if (!table)
        return HV_E_NOMEM;
    for (size_t n = 0; n < vm->layout.node_count; n++)
        if (vcpu->index >= vm->layout.nodes[n].first_vcpu)
            node = (uint32_t)n;
    rc = hv_kvm_cpuid_for_vcpu(supported->entries, supported->nent,
                               hv_kvm_linux_topology(vm->linux_guest), vcpu->index, node,
                               table->entries, max, &count);
    if (rc == 0) {
        table->nent = count;
        if (ioctl(vcpu->fd, KVM_SET_CPUID2, table) < 0)
            rc = hv_error_set(HV_E_IO, NULL, "setting vCPU %u's CPUID failed: %s", vcpu->index,
                              strerror(errno));
    }
    free(table);
    return rc;
}

int hv_kvm_vcpu_create(hv_kvm_vm *vm, hv_kvm_vcpu *vcpu, uint32_t index)
{
    const hv_kvm_system *sys = &vm->conn->sys;
    /* a Linux guest's vCPU ids are its APIC ids (the topology's, with gaps) */
    uint32_t id = vm->linux_guest ? hv_kvm_linux_vcpu_id(vm->linux_guest, index) : index;
    void *run;

    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->affinity = (hv_cpuset)HV_CPUSET_EMPTY;
    vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
    if (vcpu->fd < 0)
        return hv_error_set(HV_E_IO, NULL, "creating vCPU %u (id %u) of %s failed: %s", index, id,
                            vm->name, strerror(errno));
    run = mmap(NULL, (size_t)sys->vcpu_mmap_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED)
        return hv_error_set(HV_E_IO, NULL, "mapping vCPU %u's run area failed: %s", index,
                            strerror(errno));
    vcpu->run = run;
    if (vm->linux_guest) {
        int rc = set_linux_cpuid(vcpu);

        if (rc < 0)
            return rc;
    } else if (ioctl(vcpu->fd, KVM_SET_CPUID2, sys->cpuid) < 0) {
        return hv_error_set(HV_E_IO, NULL, "setting vCPU %u's CPUID failed: %s", index,
                            strerror(errno));
    }
    pthread_once(&kick_once, install_kick_handler);
    return 0;
}

void hv_kvm_vcpu_destroy(hv_kvm_vcpu *vcpu)
{
    if (vcpu->run)
        munmap(vcpu->run, (size_t)vcpu->vm->conn->sys.vcpu_mmap_bytes);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    vcpu->run = NULL;
    vcpu->fd = -1;
    hv_cpuset_clear(&vcpu->affinity);
}

#define CR0_PE          (1u << 0)
#define CR0_MP          (1u << 1)
#define CR0_ET          (1u << 4)
#define CR0_NE          (1u << 5)
#define CR0_WP          (1u << 16)
#define CR0_PG          (1u << 31)
#define CR4_PAE         (1u << 5)
#define CR4_OSFXSR      (1u << 9)
#define CR4_OSXMMEXCPT  (1u << 10)
#define CR4_OSXSAVE     (1u << 18)
#define EFER_LME        (1u << 8)
#define EFER_LMA        (1u << 10)
#define RFLAGS_RESERVED (1u << 1)
#define RFLAGS_IOPL3    (3u << 12)

static void user_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type, bool code)
{
    memset(seg, 0, sizeof(*seg));
    seg->base = 0;
    seg->limit = 0xffffffff;
    seg->selector = selector;
    seg->type = type;
    seg->present = 1;
    seg->dpl = 3;
    seg->s = 1;
    seg->g = 1;
    seg->l = code ? 1 : 0;
    seg->db = code ? 0 : 1;
}

int hv_kvm_vcpu_setup(hv_kvm_vcpu *vcpu, uint64_t cr3, uint64_t entry)
{
    const hv_kvm_system *sys = &vcpu->vm->conn->sys;
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    struct kvm_fpu fpu;

    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return hv_error_set(HV_E_IO, NULL, "reading vCPU %u's registers failed: %s", vcpu->index,
                            strerror(errno));
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr3 = cr3;
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (sys->xsave ? CR4_OSXSAVE : 0);
    sregs.efer = EFER_LME | EFER_LMA;
    /* ring-3 flat segments (selectors with RPL 3); no GDT is needed in guest memory */
    user_segment(&sregs.cs, 0x2b, 11, true);
    user_segment(&sregs.ss, 0x23, 3, false);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return hv_error_set(HV_E_IO, NULL,
                            "putting vCPU %u in 64-bit mode at CPL 3 failed: %s (KVM refused the "
                            "control registers)",
                            vcpu->index, strerror(errno));
    if (sys->xsave) {
        struct kvm_xcrs xcrs;

        memset(&xcrs, 0, sizeof(xcrs));
        xcrs.nr_xcrs = 1;
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = sys->xcr0;
        if (ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs) < 0)
            return hv_error_set(HV_E_IO, NULL, "setting vCPU %u's XCR0 failed: %s", vcpu->index,
                                strerror(errno));
    }
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting vCPU %u's FPU state failed: %s", vcpu->index,
                            strerror(errno));
    memset(&regs, 0, sizeof(regs));
    regs.rip = entry;
    regs.rdi = vcpu->index;
    regs.rsi = HV_GUEST_BOOT_INFO_ADDR;
    regs.rsp = hv_kvm_layout_stack_top(&vcpu->vm->layout, vcpu->index);
    regs.rflags = RFLAGS_RESERVED | RFLAGS_IOPL3;
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting vCPU %u's registers failed: %s", vcpu->index,
                            strerror(errno));
    return 0;
}

/*
 * Bring the vCPU out of the guest: immediate_exit stops a KVM_RUN about to
 * start, the signal one that runs. A thread signals only once it has
 * registered itself (it then reads the VM's flags under the lock before
 * its next KVM_RUN, so a kick before that is not lost) and until it ends.
 */
void hv_kvm_vcpu_kick_locked(hv_kvm_vcpu *vcpu)
{
    if (!vcpu->run)
        return;
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (vcpu->kickable)
        pthread_kill(vcpu->self, KICK_SIGNAL);
}

void hv_kvm_vcpus_kick_locked(hv_kvm_vcpu *vcpus, uint32_t count, const hv_kvm_vcpu *except)
{
    for (uint32_t i = 0; i < count; i++)
        if (&vcpus[i] != except)
            hv_kvm_vcpu_kick_locked(&vcpus[i]);
}
