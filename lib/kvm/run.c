/*
 * kvm/run.c - the vCPU threads of the built-in engine: one pinned thread
 * per vCPU running KVM_RUN, the exits and what they do to the VM (console,
 * progress, exit, failure), parking while the VM is paused, and the end of
 * a run (the last vCPU out decides the VM's state). vm.c starts the
 * threads and waits for them; this file calls down to vcpu.c and ports.c,
 * never up.
 */
#include "kvm/engine.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/format.h"
#include "kvm/ports.h"
#include "kvm/linux.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* ---- guest failures --------------------------------------------------------------- */

/* Record a guest failure (the first one wins) and ask every vCPU to stop; vm->lock held. */
static void fail_locked(hv_kvm_vm *vm, const char *message)
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
    fail_locked(vcpu->vm, message);
    hv_kvm_vcpus_kick_locked(vcpu->vm->vcpus, vcpu->vm->nvcpus, vcpu);
    pthread_mutex_unlock(&vcpu->vm->lock);
}

/* ---- the run loop ---------------------------------------------------------------- */

/* The statistics hv_vm_stat() reads while the vCPU runs: atomic, relaxed. */
/* Whether any of the VM's RAM is backed by huge pages (then a KVM_RUN EFAULT is worth a hint). */
static bool hugetlb_backed(const hv_kvm_vm *vm)
{
    for (size_t i = 0; i < vm->nram; i++)
        if (vm->ram[i].page_bytes > 4096)
            return true;
    return false;
}

static void count_exit(hv_kvm_vcpu *vcpu, int which)
{
    __atomic_add_fetch(&vcpu->exits[which], 1, __ATOMIC_RELAXED);
}

enum { EXIT_LOOP_CONTINUE, EXIT_LOOP_END };

/* The guest ends the VM with `code` (the first word wins); every vCPU is told to stop. */
static void end_vm(hv_kvm_vcpu *vcpu, int code)
{
    hv_kvm_vm *vm = vcpu->vm;

    pthread_mutex_lock(&vm->lock);
    if (!vm->crashed && !vm->exit_code_set && !vm->stop_requested) {
        vm->exit_code = code;
        vm->exit_code_set = true;
    }
    vm->stop_requested = true;
    pthread_cond_broadcast(&vm->cond);
    hv_kvm_vcpus_kick_locked(vm->vcpus, vm->nvcpus, vcpu);
    pthread_mutex_unlock(&vm->lock);
}

/*
 * A Linux guest reset the machine: a reboot, or - with panic=-1, the default
 * command line's - a kernel panic, whose line on the console (the last
 * "Kernel panic - not syncing: ...") the failure then quotes.
 */
static void linux_reset(hv_kvm_vcpu *vcpu)
{
    static const char marker[] = "Kernel panic - not syncing: ";
    char tail[4096], reason[160], what[320];
    const char *panic = NULL, *p = tail;
    size_t n = 0;

    hv_kvm_vm_console_tail(vcpu->vm, tail, sizeof(tail));
    while ((p = strstr(p, marker)) != NULL)
        panic = p++;
    if (!panic) {
        fail(vcpu, "the guest reset the machine (a reboot or a triple fault; a Linux guest ends "
                   "by powering off)");
        return;
    }
    /* the panic's own words, up to the end of its line; the guest's bytes, so printable only */
    for (p = panic; *p && *p != '\n' && *p != '\r' && n + 1 < sizeof(reason); p++)
        reason[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    reason[n] = '\0';
    hv_format(what, sizeof(what),
              "the guest's kernel panicked (%s) and reset the machine (panic=-1); its console "
              "has the rest",
              reason);
    fail(vcpu, what);
}

/* What a Linux guest's device access did; EXIT_LOOP_END when the VM ends. */
static int on_linux_outcome(hv_kvm_vcpu *vcpu, hv_kvm_linux_outcome outcome, int code)
{
    switch (outcome) {
    case HV_KVM_LINUX_EXIT:
    case HV_KVM_LINUX_POWEROFF:
        end_vm(vcpu, code);
        return EXIT_LOOP_END;
    case HV_KVM_LINUX_RESET:
        linux_reset(vcpu);
        return EXIT_LOOP_END;
    case HV_KVM_LINUX_CONTINUE:
    default:
        return EXIT_LOOP_CONTINUE;
    }
}

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
        hv_kvm_vm_console_write(vm, d.data, d.length);
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
        end_vm(vcpu, (int)d.value);
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
    if (vcpu->vm->linux_guest) {
        hv_kvm_linux_outcome outcome;
        int code = 0;

        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            count_exit(vcpu, HV_VM_STAT_EXITS_IO);
            outcome = hv_kvm_linux_port_io(vcpu, &code); /* before `code` is read */
            return on_linux_outcome(vcpu, outcome, code);
        case KVM_EXIT_MMIO:
            count_exit(vcpu, HV_VM_STAT_EXITS_MMIO);
            outcome = hv_kvm_linux_mmio(vcpu, &code);
            return on_linux_outcome(vcpu, outcome, code);
        case KVM_EXIT_SHUTDOWN: /* a triple fault: how a PC resets when all else fails */
            count_exit(vcpu, HV_VM_STAT_EXITS_OTHER);
            return on_linux_outcome(vcpu, HV_KVM_LINUX_RESET, 0);
        default:
            break; /* as for a payload */
        }
    }
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

/* ---- throttling (a migration slowing a guest that dirties memory too fast) ---------- */

void hv_kvm_vm_throttle_tick(hv_kvm_vm *vm, unsigned int percent)
{
    pthread_mutex_lock(&vm->lock);
    vm->throttle_percent = percent > 99 ? 99 : percent;
    for (uint32_t i = 0; percent && i < vm->nvcpus; i++)
        if (vm->vcpus[i].state == HV_KVM_VCPU_RUNNING) {
            vm->vcpus[i].throttle_due = true;
            hv_kvm_vcpu_kick_locked(&vm->vcpus[i]);
        }
    pthread_cond_broadcast(&vm->cond); /* sleepers see a new percentage (0: wake) */
    pthread_mutex_unlock(&vm->lock);
}

/*
 * A vCPU kicked by a throttle tick sleeps its share of the slice (a pause,
 * a stop or the throttle's end wakes it); false when no tick was due.
 * vm->lock held.
 */
static bool throttle_sleep_locked(hv_kvm_vcpu *vcpu)
{
    hv_kvm_vm *vm = vcpu->vm;
    uint64_t until;

    if (!vcpu->throttle_due)
        return false;
    vcpu->throttle_due = false;
    if (!vm->throttle_percent)
        return true;
    until = hv_clock_monotonic_ns() +
            HV_KVM_THROTTLE_SLICE_NS * vm->throttle_percent / (100 - vm->throttle_percent);
    while (vm->throttle_percent && !vm->pause_requested && !vm->stop_requested) {
        uint64_t now = hv_clock_monotonic_ns();
        struct timespec deadline;

        if (now >= until)
            break;
        hv_clock_deadline_ms(&deadline, (int64_t)((until - now + 999999) / 1000000));
        pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline);
    }
    return true;
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
    vm->ended_ns = hv_clock_monotonic_ns();
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
    sigaddset(&unblock, hv_kvm_vcpu_kick_signal());
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
        if (throttle_sleep_locked(vcpu)) {
            pthread_mutex_unlock(&vm->lock);
            continue; /* paused or stopped meanwhile? */
        }
        pthread_mutex_unlock(&vm->lock);

        t0 = hv_clock_monotonic_ns();
        rc = ioctl(vcpu->fd, KVM_RUN, 0);
        err = errno;
        t1 = hv_clock_monotonic_ns();
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

                snprintf(what, sizeof(what), "KVM_RUN failed: %s%s", strerror(err),
                         err == EFAULT && hugetlb_backed(vcpu->vm)
                             ? " (guest memory backed by huge pages could not be faulted in: "
                               "is the host node's pool exhausted?)"
                             : "");
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
