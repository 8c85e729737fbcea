/*
 * kvm/vcpu.c - vCPUs of the built-in engine: creation (kvm_run mapping,
 * CPUID), the entry state of the guest ABI (64-bit mode at CPL 3, IOPL 3,
 * identity page tables, SSE enabled), one pinned thread per vCPU running
 * KVM_RUN and acting on its exits, and the kick (immediate_exit plus a
 * signal) that brings a vCPU out of the guest for pause and stop.
 */
#include "kvm/engine.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/format.h"
#include "kvm/layout.h"
#include "kvm/ports.h"

#include <errno.h>
#include <hpcvirt/guest.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
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

int hv_kvm_vcpu_create(hv_kvm_vm *vm, hv_kvm_vcpu *vcpu, uint32_t index)
{
    const hv_kvm_system *sys = &vm->conn->sys;
    void *run;

    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->affinity = (hv_cpuset)HV_CPUSET_EMPTY;
    vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0)
        return hv_error_set(HV_E_IO, NULL, "creating vCPU %u of %s failed: %s", index, vm->name,
                            strerror(errno));
    run = mmap(NULL, (size_t)sys->vcpu_mmap_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED)
        return hv_error_set(HV_E_IO, NULL, "mapping vCPU %u's run area failed: %s", index,
                            strerror(errno));
    vcpu->run = run;
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, sys->cpuid) < 0)
        return hv_error_set(HV_E_IO, NULL, "setting vCPU %u's CPUID failed: %s", index,
                            strerror(errno));
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

/* ---- guest failures --------------------------------------------------------------- */

void hv_kvm_vm_fail_locked(hv_kvm_vm *vm, const char *message)
{
    if (!vm->crashed && !vm->exit_code_set && !vm->stop_requested) {
        vm->crashed = true;
        hv_format(vm->failure, sizeof(vm->failure), "%s", message);
    }
    vm->stop_requested = true;
    pthread_cond_broadcast(&vm->cond);
}

/* What the vCPU did, with its registers, then end the VM. */
static void fail(hv_kvm_vcpu *vcpu, const char *what)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    char message[768];
    size_t n;

    n = hv_format(message, sizeof(message), "vCPU %u: %s", vcpu->index, what);
    if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0) {
        uint64_t cr2 = ioctl(vcpu->fd, KVM_GET_SREGS, &s) == 0 ? s.cr2 : 0;

        snprintf(message + n, sizeof(message) - n,
                 "; registers: rip 0x%llx rsp 0x%llx rflags 0x%llx rax 0x%llx rbx 0x%llx rcx "
                 "0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx cr2 0x%llx",
                 r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
                 (unsigned long long)cr2);
    }
    pthread_mutex_lock(&vcpu->vm->lock);
    hv_kvm_vm_fail_locked(vcpu->vm, message);
    hv_kvm_vm_kick_others_locked(vcpu->vm, vcpu);
    pthread_mutex_unlock(&vcpu->vm->lock);
}

/* ---- console and progress -------------------------------------------------------- */

void hv_kvm_vm_console(hv_kvm_vm *vm, const uint8_t *bytes, size_t length)
{
    pthread_mutex_lock(&vm->lock);
    /* made on first use: a clone that never prints costs nothing */
    if (!vm->console)
        vm->console = hv_reallocarray(NULL, HV_KVM_CONSOLE_BYTES, 1);
    for (size_t i = 0; vm->console && i < length; i++) {
        vm->console[vm->console_head] = (char)bytes[i];
        vm->console_head = (vm->console_head + 1) % HV_KVM_CONSOLE_BYTES;
    }
    if (vm->console)
        vm->console_kept += length;
    if (vm->console_kept > HV_KVM_CONSOLE_BYTES)
        vm->console_kept = HV_KVM_CONSOLE_BYTES;
    vm->console_total += length;
    pthread_mutex_unlock(&vm->lock);
    if (vm->console_fn)
        vm->console_fn(vm->console_data, (const char *)bytes, length);
}

/* ---- the run loop ---------------------------------------------------------------- */

/* The statistics hv_vm_stat() reads while the vCPU runs: atomic, relaxed. */
static void count_exit(hv_kvm_vcpu *vcpu, int which)
{
    __atomic_add_fetch(&vcpu->exits[which], 1, __ATOMIC_RELAXED);
}

enum { EXIT_LOOP_CONTINUE, EXIT_LOOP_END };

/* Act on a port access; EXIT_LOOP_END when this vCPU is done. */
static int on_io(hv_kvm_vcpu *vcpu)
{
    hv_kvm_vm *vm = vcpu->vm;
    struct kvm_run *run = vcpu->run;
    const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
    hv_port_decision d;

    hv_port_decide(run->io.port, run->io.direction == KVM_EXIT_IO_OUT, run->io.size, run->io.count,
                   data, &d);
    switch (d.action) {
    case HV_PORT_CONSOLE:
        hv_kvm_vm_console(vm, d.data, d.length);
        return EXIT_LOOP_CONTINUE;
    case HV_PORT_PROGRESS:
        pthread_mutex_lock(&vm->lock);
        vcpu->last_marker = d.value;
        vcpu->marker_count++;
        pthread_mutex_unlock(&vm->lock);
        if (vm->progress_fn)
            vm->progress_fn(vm->progress_data, vcpu->index, d.value);
        return EXIT_LOOP_CONTINUE;
    case HV_PORT_EXIT_VM:
        pthread_mutex_lock(&vm->lock);
        if (!vm->crashed && !vm->exit_code_set && !vm->stop_requested) {
            vm->exit_code = (int)d.value;
            vm->exit_code_set = true;
        }
        vm->stop_requested = true;
        pthread_cond_broadcast(&vm->cond);
        hv_kvm_vm_kick_others_locked(vm, vcpu);
        pthread_mutex_unlock(&vm->lock);
        return EXIT_LOOP_END;
    case HV_PORT_STOP_VCPU:
        pthread_mutex_lock(&vm->lock);
        vcpu->status = d.value;
        vcpu->stopped = true;
        pthread_mutex_unlock(&vm->lock);
        return EXIT_LOOP_END;
    case HV_PORT_FAULT:
    default:
        fail(vcpu, d.message);
        return EXIT_LOOP_END;
    }
}

static int on_exit_reason(hv_kvm_vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    char what[256];

    __atomic_store_n(&vcpu->last_exit_reason, run->exit_reason, __ATOMIC_RELAXED);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        count_exit(vcpu, HV_VM_STAT_EXITS_IO);
        return on_io(vcpu);
    case KVM_EXIT_MMIO:
        count_exit(vcpu, HV_VM_STAT_EXITS_MMIO);
        snprintf(what, sizeof(what),
                 "stray MMIO: a %u-byte %s at guest physical 0x%llx, where no device is (%s)",
                 run->mmio.len, run->mmio.is_write ? "write" : "read",
                 (unsigned long long)run->mmio.phys_addr,
                 run->mmio.phys_addr >= vcpu->vm->layout.mmio_base &&
                         run->mmio.phys_addr - vcpu->vm->layout.mmio_base <
                             vcpu->vm->layout.mmio_bytes
                     ? "the boot info's stray-MMIO window"
                     : "outside guest RAM");
        fail(vcpu, what);
        return EXIT_LOOP_END;
    case KVM_EXIT_SHUTDOWN:
        count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
        fail(vcpu, "triple fault: the guest took an exception (#UD, #GP, #PF, divide error, "
                   "...) and has no IDT to handle it");
        return EXIT_LOOP_END;
    case KVM_EXIT_HLT:
        count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
        fail(vcpu, "HLT: a payload ends through the exit or vcpu-stop port, not HLT");
        return EXIT_LOOP_END;
    case KVM_EXIT_FAIL_ENTRY:
        count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
        snprintf(what, sizeof(what), "KVM could not enter the guest (hardware reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        fail(vcpu, what);
        return EXIT_LOOP_END;
    case KVM_EXIT_INTERNAL_ERROR:
        count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
        snprintf(what, sizeof(what), "KVM internal error (suberror %u)", run->internal.suberror);
        fail(vcpu, what);
        return EXIT_LOOP_END;
    case KVM_EXIT_INTR:
        count_exit(vcpu, HV_VM_STAT_EXITS_INTR);
        return EXIT_LOOP_CONTINUE;
    default:
        count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
        snprintf(what, sizeof(what), "unexpected KVM exit reason %u", run->exit_reason);
        fail(vcpu, what);
        return EXIT_LOOP_END;
    }
}

/* Park while a pause is asked for; false when the vCPU must stop. vm->lock held. */
static bool park_locked(hv_kvm_vcpu *vcpu)
{
    hv_kvm_vm *vm = vcpu->vm;

    while (vm->pause_requested && !vm->stop_requested) {
        if (vcpu->state != HV_KVM_VCPU_PARKED) {
            vcpu->state = HV_KVM_VCPU_PARKED;
            pthread_cond_broadcast(&vm->cond);
        }
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    vcpu->state = HV_KVM_VCPU_RUNNING;
    return !vm->stop_requested;
}

/* The last vCPU out decides how the run ended. vm->lock held. */
static void vcpu_done_locked(hv_kvm_vcpu *vcpu)
{
    hv_kvm_vm *vm = vcpu->vm;

    vcpu->state = HV_KVM_VCPU_DONE;
    vcpu->kickable = false; /* it may be joined from now on: never signal it again */
    if (--vm->running > 0) {
        pthread_cond_broadcast(&vm->cond);
        return;
    }
    vm->ended_ns = hv_kvm_now_ns();
    if (vm->crashed) {
        vm->state = HV_VM_STATE_CRASHED;
    } else if (vm->exit_code_set) {
        vm->state = HV_VM_STATE_EXITED;
    } else if (vm->stop_requested) {
        vm->state = HV_VM_STATE_DEFINED; /* powered off */
    } else {
        /* every vCPU stopped itself: the first non-zero status is the exit code */
        vm->state = HV_VM_STATE_EXITED;
        vm->exit_code = 0;
        for (uint32_t i = 0; i < vm->nvcpus; i++)
            if (vm->vcpus[i].status) {
                vm->exit_code = (int)vm->vcpus[i].status;
                break;
            }
    }
    pthread_cond_broadcast(&vm->cond);
}

/*
 * Finish the I/O the last exit left pending (KVM completes an OUT or an MMIO
 * read on the next KVM_RUN): with immediate_exit set, KVM_RUN does only
 * that and returns EINTR. The KVM API asks for this before the vCPU's state
 * is read, so a snapshot or clone taken at an I/O exit neither repeats nor
 * loses it.
 */
static void complete_pending_io(hv_kvm_vcpu *vcpu)
{
    __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    while (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
        /* it entered the guest anyway (a kernel without the contract): act on the exit */
        if (on_exit_reason(vcpu) == EXIT_LOOP_END)
            break;
    }
    __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static void *vcpu_thread(void *arg)
{
    hv_kvm_vcpu *vcpu = arg;
    hv_kvm_vm *vm = vcpu->vm;
    bool io_pending = false;
    sigset_t unblock;

    sigemptyset(&unblock);
    sigaddset(&unblock, KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    /* From now on a kick reaches this thread by signal too: before it looks
     * at the flags below, so no kick can fall between the two. */
    pthread_mutex_lock(&vm->lock);
    vcpu->self = pthread_self();
    vcpu->kickable = true;
    pthread_mutex_unlock(&vm->lock);
    {
        /* "vcpu N" in top -H, ps -L and /proc/PID/task/TID/comm (15 bytes at most) */
        char name[16];

        snprintf(name, sizeof(name), "vcpu %u", vcpu->index);
        pthread_setname_np(pthread_self(), name);
    }
    for (;;) {
        uint64_t t0, t1;
        int rc, err;

        pthread_mutex_lock(&vm->lock);
        if (io_pending && vm->pause_requested && !vm->stop_requested) {
            pthread_mutex_unlock(&vm->lock);
            complete_pending_io(vcpu);
            io_pending = false;
            continue;
        }
        if (!park_locked(vcpu)) {
            pthread_mutex_unlock(&vm->lock);
            break;
        }
        pthread_mutex_unlock(&vm->lock);

        t0 = hv_kvm_now_ns();
        rc = ioctl(vcpu->fd, KVM_RUN, 0);
        err = errno;
        t1 = hv_kvm_now_ns();
        io_pending = false; /* entering completed it */
        __atomic_add_fetch(&vcpu->guest_ns, t1 - t0, __ATOMIC_RELAXED);
        count_exit(vcpu, HV_VM_STAT_EXITS);
        if (rc < 0) {
            if (err == EINTR || err == EAGAIN) {
                __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                count_exit(vcpu, HV_VM_STAT_EXITS_INTR);
                continue;
            }
            {
                char what[160];

                snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(err));
                count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
                fail(vcpu, what);
            }
            break;
        }
        if (on_exit_reason(vcpu) == EXIT_LOOP_END)
            break;
        io_pending =
            vcpu->run->exit_reason == KVM_EXIT_IO || vcpu->run->exit_reason == KVM_EXIT_MMIO;
    }
    pthread_mutex_lock(&vm->lock);
    vcpu_done_locked(vcpu);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

int hv_kvm_vcpu_start_thread(hv_kvm_vcpu *vcpu)
{
    pthread_attr_t attr;
    int err;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (hv_cpuset_count(&vcpu->affinity) > 0) {
        cpu_set_t *set = CPU_ALLOC(CPU_SETSIZE * 4);
        size_t bytes = CPU_ALLOC_SIZE(CPU_SETSIZE * 4);

        if (set) {
            CPU_ZERO_S(bytes, set);
            for (int cpu = hv_cpuset_next(&vcpu->affinity, 0); cpu >= 0;
                 cpu = hv_cpuset_next(&vcpu->affinity, (unsigned int)cpu + 1))
                if (cpu < CPU_SETSIZE * 4)
                    CPU_SET_S((size_t)cpu, bytes, set);
            pthread_attr_setaffinity_np(&attr, bytes, set);
            CPU_FREE(set);
        }
    }
    err = pthread_create(&vcpu->thread, &attr, vcpu_thread, vcpu);
    pthread_attr_destroy(&attr);
    if (err == EINVAL && hv_cpuset_count(&vcpu->affinity) > 0)
        return hv_error_set(HV_E_IO, NULL,
                            "starting vCPU %u's thread failed: its host CPUs are not available "
                            "to this process (a cpuset or taskset excludes them?)",
                            vcpu->index);
    if (err)
        return hv_error_set(HV_E_IO, NULL, "starting vCPU %u's thread failed: %s", vcpu->index,
                            strerror(err));
    pthread_mutex_lock(&vcpu->vm->lock);
    vcpu->thread_started = true;
    pthread_mutex_unlock(&vcpu->vm->lock);
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

void hv_kvm_vm_kick_others_locked(hv_kvm_vm *vm, const hv_kvm_vcpu *except)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++)
        if (&vm->vcpus[i] != except)
            hv_kvm_vcpu_kick_locked(&vm->vcpus[i]);
}
