/*
 * tools/hpcvirt/channel.c - `hpcvirt run --channel-in FILE --channel-out
 * FILE`: a Linux guest's channel (its /dev/hvc0) to and from files. What the
 * guest writes there goes to --channel-out as it comes (from the vCPU
 * threads, through the library's channel callback); --channel-in's bytes are
 * sent once the guest has written to its channel (its hello: a guest that
 * reads /dev/hvc0 sets the tty up first, raw and without echo, or the tty
 * would echo what it is sent), as fast as the guest takes them.
 */
#include "cli.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FEED_POLL_MS 10

/* The library's channel callback: append to the --channel-out file, if any. */
void cli_channel_to_file(void *data, const void *bytes, size_t length)
{
    cli_channel *c = data;
    int fd = c->out_fd;
    const char *p = bytes;

    atomic_store(&c->heard, true);
    if (fd < 0)
        return;
    while (length > 0) {
        ssize_t n = write(fd, p, length);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the command reports nothing more from a vCPU thread */
        p += n;
        length -= (size_t)n;
    }
}

int cli_channel_open_out(const char *path, cli_channel *c)
{
    c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (c->out_fd >= 0)
        return CLI_EXIT_OK;
    hv_error_report(errno == EACCES || errno == EPERM ? HV_E_PERM : HV_E_IO, NULL,
                    "--channel-out %s: cannot create it: %s", path, strerror(errno));
    return cli_fail("run");
}

int cli_channel_read_in(const char *path, cli_channel *c)
{
    c->in.bytes = (uint8_t *)cli_read_file_bytes(path, "--channel-in", &c->in.length);
    return c->in.bytes ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* Wait FEED_POLL_MS for the guest; false when it ended or the time is up. */
static bool wait_a_little(hv_vm *vm, int timeout_ms, int *waited_ms)
{
    int code;

    if (timeout_ms >= 0 && *waited_ms >= timeout_ms)
        return false;
    if (hv_vm_wait(vm, FEED_POLL_MS, &code) == 0 ||
        hv_error_code_of(hv_error_last()) != HV_E_TIMEOUT)
        return false;
    *waited_ms += FEED_POLL_MS;
    return true;
}

int cli_channel_feed(hv_vm *vm, cli_channel *c, int timeout_ms, int *waited_ms)
{
    cli_channel_input *in = &c->in;
    size_t done = 0;

    *waited_ms = 0;
    while (!atomic_load(&c->heard))
        if (!wait_a_little(vm, timeout_ms, waited_ms))
            return CLI_EXIT_OK; /* the run's wait says how it ended */
    while (done < in->length) {
        size_t sent = 0;

        if (hv_vm_channel_send(vm, in->bytes + done, in->length - done, &sent) < 0)
            return cli_fail_on("run: --channel-in", hv_vm_name(vm));
        done += sent;
        if (done == in->length)
            break;
        /* the guest has not taken the rest yet: give it time, unless it ended */
        if (!wait_a_little(vm, timeout_ms, waited_ms))
            break;
    }
    return CLI_EXIT_OK;
}

void cli_channel_close(cli_channel *c)
{
    if (c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    free(c->in.bytes);
    memset(&c->in, 0, sizeof(c->in));
}
