/*
 * guest/container-init/init.c - hpcvirt-container-init, the container
 * guest's PID 1 (docs/container-guest.md): it mounts what the guest needs,
 * loads the kernel modules of /modules.order, puts the image's root disk
 * under a RAM overlay, says HELLO over /dev/hvc0, reads one RUN record, runs
 * that command chrooted into the overlay, relays its stdout and stderr as
 * OUT and ERR records, sends EXIT and ends the VM with the command's status
 * through the exit port. With a pid other than 1, `--serve IN_FD OUT_FD`
 * does only the protocol part on those descriptors (for tests). A static
 * program with libc alone; the protocol's numbers come from
 * lib/container/guest-protocol.h, whose functions it does not use.
 */
#include "container/guest-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define EXIT_PORT            0xF0
#define DEVICE_WAIT_MS       10000 /* for /dev/hvc0 and /dev/vda to appear */
#define DEVICE_POLL_MS       10
#define MESSAGE_BYTES        1024       /* a FAIL record's message, at most */
#define SMALL_FILE_MAX_BYTES (4u << 20) /* /etc/passwd, /etc/group, /modules.order */
#define MAX_GROUPS           256
#define DEFAULT_PATH         "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What the init works with: the mode and the channel. */
typedef struct init_ctx {
    bool pid1;  /* the guest's PID 1 (else --serve) */
    int in_fd;  /* the channel: RUN comes from here (-1 before it is open) */
    int out_fd; /* the records go here (-1 before it is open) */
} init_ctx;

/* The RUN record's command; the strings point into the record's payload. */
typedef struct command {
    char **argv;
    char **env;
    const char *cwd;
    const char *user;
} command;

/* The user the command runs as. */
typedef struct user_ids {
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    size_t group_count;
} user_ids;

/* ---- output ------------------------------------------------------------- */

/* Read or write exactly `bytes`: 0, or -errno (-EPIPE: the other end closed). */
static int transfer_all(int fd, char *at, size_t bytes, bool reading)
{
    while (bytes > 0) {
        ssize_t n = reading ? read(fd, at, bytes) : write(fd, at, bytes);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        at += n;
        bytes -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t bytes)
{
    return transfer_all(fd, (char *)data, bytes, false);
}

/* One record on the channel: 0 or -errno. */
static int send_record(const init_ctx *ctx, unsigned int type, const void *payload, size_t bytes)
{
    uint8_t header[HV_CONTAINER_PROTO_HEADER_BYTES] = {(uint8_t)type, 0, 0, 0};
    int rc;

    hv_container_proto_put_u32(header + 4, (uint32_t)bytes);
    if ((rc = write_all(ctx->out_fd, header, sizeof(header))) < 0)
        return rc;
    return bytes ? write_all(ctx->out_fd, payload, bytes) : 0;
}

/* The length of the UTF-8 character at `s` (of `len` > 0 bytes), 0 when it is none. */
static size_t utf8_char_bytes(const unsigned char *s, size_t len)
{
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0; /* overlong */
    else if (s[0] == 0xED)
        hi = 0x9F; /* surrogates */
    else if (s[0] == 0xF0)
        lo = 0x90; /* overlong */
    else if (s[0] == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* `text` made valid UTF-8 without NUL in place (a file name may be any bytes): bad bytes '?'. */
static void make_utf8(char *text, size_t len)
{
    unsigned char *s = (unsigned char *)text;

    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_bytes(s + i, len - i);

        if (n == 0 || s[i] == 0) {
            s[i++] = '?';
            continue;
        }
        i += n;
    }
}

/* A line on the console (the init's stderr: /dev/console as PID 1). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char line[MESSAGE_BYTES + 64];
    va_list ap;
    int n = snprintf(line, sizeof(line), "hpcvirt-container-init: ");

    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, (size_t)n);
}

/* A FAIL record's payload: status, errno, the message. */
typedef struct fail_record {
    uint8_t status[4];
    uint8_t error_number[4];
    char message[MESSAGE_BYTES];
} fail_record;

/* Fill *rec; its payload's length. */
static size_t fail_record_make(fail_record *rec, int status, int error_number, const char *fmt,
                               va_list ap)
{
    int n = vsnprintf(rec->message, sizeof(rec->message), fmt, ap);

    if (n <= 0) {
        n = snprintf(rec->message, sizeof(rec->message), "failed (no message)");
    } else if ((size_t)n >= sizeof(rec->message)) {
        n = (int)sizeof(rec->message) - 1;
        while (n > 0 && ((unsigned char)rec->message[n] & 0xC0) == 0x80)
            n--; /* a whole character at the cut */
    }
    make_utf8(rec->message, (size_t)n);
    hv_container_proto_put_u32(rec->status, (uint32_t)status);
    hv_container_proto_put_u32(
        rec->error_number, error_number > 0 && error_number < 4096 ? (uint32_t)error_number : 0);
    return 8 + (size_t)n;
}

/* ---- the end ------------------------------------------------------------ */

/* End with `status`: as PID 1 the VM, through the exit port; else this process. */
static void __attribute__((noreturn)) finish(const init_ctx *ctx, int status)
{
    if (!ctx->pid1)
        exit(status);
    sync();
    if (ioperm(EXIT_PORT, 1, 1) == 0)
        outb((unsigned char)status, EXIT_PORT);
    else
        say("cannot use the exit port 0x%x (%s): powering off", EXIT_PORT, strerror(errno));
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}

/* The init cannot go on: the reason on the console and in a FAIL record, then the end. */
static void __attribute__((noreturn, format(printf, 4, 5)))
die(const init_ctx *ctx, int status, int error_number, const char *fmt, ...)
{
    fail_record rec;
    va_list ap;
    size_t bytes;

    va_start(ap, fmt);
    bytes = fail_record_make(&rec, status, error_number, fmt, ap);
    va_end(ap);
    say("%.*s", (int)(bytes - 8), rec.message);
    if (ctx->out_fd >= 0)
        send_record(ctx, HV_CONTAINER_REC_FAIL, &rec, bytes);
    finish(ctx, status);
}

/* ---- setting up the guest (PID 1) --------------------------------------- */

static void make_dir(const init_ctx *ctx, const char *path, mode_t mode)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot make %s: %s", path, strerror(errno));
}

static void mount_or_die(const init_ctx *ctx, const char *source, const char *target,
                         const char *type, unsigned long flags, const char *options)
{
    if (mount(source, target, type, flags, options) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot mount %s (%s) on %s: %s", source, type,
            target, strerror(errno));
}

/*
 * A regular file of at most SMALL_FILE_MAX_BYTES, NUL-terminated (free it);
 * NULL with errno. The image's files may be anything: a FIFO is not waited on.
 */
static char *read_small_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    size_t have = 0;
    struct stat st;
    char *text;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if (!(text = malloc(SMALL_FILE_MAX_BYTES + 1))) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, text + have, SMALL_FILE_MAX_BYTES + 1 - have);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && have + (size_t)n > SMALL_FILE_MAX_BYTES)) {
            int err = n < 0 ? errno : EFBIG;

            free(text);
            close(fd);
            errno = err;
            return NULL;
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    text[have] = '\0';
    return text;
}

/* Load the modules of /modules.order from /lib/modules, in order. */
static void load_modules(const init_ctx *ctx)
{
    char *order = read_small_file("/modules.order");
    char *line, *next;

    if (!order) {
        if (errno == ENOENT)
            return;
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot read /modules.order: %s",
            strerror(errno));
    }
    for (line = order; *line; line = next) {
        size_t len = strcspn(line, "\n");
        char path[PATH_MAX];
        int fd;

        next = line + len + (line[len] == '\n');
        line[len] = '\0';
        if (len == 0)
            continue;
        if (strchr(line, '/') || line[0] == '.' ||
            (size_t)snprintf(path, sizeof(path), "/lib/modules/%s", line) >= sizeof(path))
            die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL,
                "/modules.order names \"%s\", which is not a file name in /lib/modules", line);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot open the kernel module %s: %s", path,
                strerror(errno));
        if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
            die(ctx, HV_CONTAINER_STATUS_SETUP, errno,
                "the kernel refused the module %s: %s (is it built for this kernel?)", path,
                strerror(errno));
        close(fd);
    }
    free(order);
}

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait (sleeping) for a device node that a driver makes when it finds its device. */
static void wait_for_device(const init_ctx *ctx, const char *path, const char *what)
{
    int64_t deadline = now_ms() + DEVICE_WAIT_MS;
    struct timespec pause_time = {0, DEVICE_POLL_MS * 1000000L};

    while (access(path, F_OK) < 0) {
        if (now_ms() >= deadline)
            die(ctx, HV_CONTAINER_STATUS_SETUP, ENODEV,
                "%s did not appear within %d s: the VM has no %s, or its driver is missing "
                "from the kernel and the initramfs",
                path, DEVICE_WAIT_MS / 1000, what);
        nanosleep(&pause_time, NULL);
    }
}

/* /dev/hvc0, raw, with what came before it was raw discarded. */
static int open_channel(const init_ctx *ctx)
{
    struct termios tio;
    int fd;

    wait_for_device(ctx, "/dev/hvc0", "channel (a virtio console)");
    if ((fd = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot open /dev/hvc0: %s", strerror(errno));
    if (tcgetattr(fd, &tio) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "/dev/hvc0 is not a terminal: %s",
            strerror(errno));
    cfmakeraw(&tio);
    if (tcsetattr(fd, TCSANOW, &tio) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot make /dev/hvc0 raw: %s",
            strerror(errno));
    tcflush(fd, TCIFLUSH);
    return fd;
}

/* /newroot/NAME: a folder of the image, or made in the overlay; never a link out of it. */
static void newroot_dir(const init_ctx *ctx, const char *name, mode_t mode)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/newroot/%s", name);
    if (lstat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            die(ctx, HV_CONTAINER_STATUS_SETUP, ENOTDIR,
                "the image's /%s is not a folder (a link or a file): the container guest mounts "
                "a file system there",
                name);
        return;
    }
    make_dir(ctx, path, mode);
    if (chmod(path, mode) < 0) /* past the umask: /tmp's sticky bit */
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot set the mode of %s: %s", path,
            strerror(errno));
}

/* Open fds 0-2 on /dev/null where they are closed, so that no new descriptor is one of them. */
static void fill_std_fds(void)
{
    for (;;) {
        int fd = open("/dev/null", O_RDWR);

        if (fd < 0)
            return;
        if (fd > STDERR_FILENO) {
            close(fd);
            return;
        }
    }
}

/* PID 1: everything up to HELLO. */
static void setup_guest(init_ctx *ctx)
{
    umask(022);
    make_dir(ctx, "/proc", 0755);
    make_dir(ctx, "/sys", 0755);
    make_dir(ctx, "/dev", 0755);
    mount_or_die(ctx, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_or_die(ctx, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_or_die(ctx, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
    fill_std_fds();
    load_modules(ctx);
    ctx->in_fd = ctx->out_fd = open_channel(ctx);

    wait_for_device(ctx, "/dev/vda", "root disk");
    make_dir(ctx, "/lower", 0755);
    mount_or_die(ctx, "/dev/vda", "/lower", "ext4", MS_RDONLY, NULL);
    make_dir(ctx, "/upperfs", 0755);
    mount_or_die(ctx, "tmpfs", "/upperfs", "tmpfs", 0, "mode=0755");
    make_dir(ctx, "/upperfs/upper", 0755);
    make_dir(ctx, "/upperfs/work", 0755);
    make_dir(ctx, "/newroot", 0755);
    mount_or_die(ctx, "overlay", "/newroot", "overlay", 0,
                 "lowerdir=/lower,upperdir=/upperfs/upper,workdir=/upperfs/work");

    newroot_dir(ctx, "proc", 0555);
    newroot_dir(ctx, "sys", 0555);
    newroot_dir(ctx, "dev", 0755);
    newroot_dir(ctx, "tmp", 01777);
    mount_or_die(ctx, "proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_or_die(ctx, "sysfs", "/newroot/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount_or_die(ctx, "devtmpfs", "/newroot/dev", "devtmpfs", MS_NOSUID, NULL);
    make_dir(ctx, "/newroot/dev/pts", 0755);
    make_dir(ctx, "/newroot/dev/shm", 01777);
    mount_or_die(ctx, "devpts", "/newroot/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "mode=0620,ptmxmode=0666");
    mount_or_die(ctx, "shm", "/newroot/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_or_die(ctx, "tmpfs", "/newroot/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

/* ---- RUN ---------------------------------------------------------------- */

/* A RUN payload, read with bounds: a cursor. */
typedef struct reader {
    uint8_t *at;
    size_t left;
} reader;

static bool take_u32(reader *r, uint32_t *value)
{
    if (r->left < 4)
        return false;
    *value = hv_container_proto_get_u32(r->at);
    r->at += 4;
    r->left -= 4;
    return true;
}

static char *take_string(reader *r)
{
    uint8_t *nul = memchr(r->at, '\0', r->left);
    char *text = (char *)r->at;

    if (!nul)
        return NULL;
    r->left -= (size_t)(nul + 1 - r->at);
    r->at = nul + 1;
    return text;
}

/* `count` strings into a new NULL-terminated array; NULL when they are not there. */
static char **take_strings(reader *r, uint32_t count)
{
    char **list;

    if (count > r->left) /* each string has a NUL at least */
        return NULL;
    if (!(list = calloc((size_t)count + 1, sizeof(*list))))
        return NULL;
    for (uint32_t i = 0; i < count; i++)
        if (!(list[i] = take_string(r))) {
            free(list);
            return NULL;
        }
    return list;
}

/* Read RUN from the channel into *cmd (its strings in *payload, free both). */
static void read_run(const init_ctx *ctx, command *cmd, uint8_t **payload)
{
    uint8_t header[HV_CONTAINER_PROTO_HEADER_BYTES];
    uint32_t length, version, argc, envc;
    reader r;
    int rc;

    if ((rc = transfer_all(ctx->in_fd, (char *)header, sizeof(header), true)) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, -rc, "reading the RUN record failed: %s",
            rc == -EPIPE ? "the host closed the channel" : strerror(-rc));
    length = hv_container_proto_get_u32(header + 4);
    if (header[0] != HV_CONTAINER_REC_RUN || header[1] || header[2] || header[3] ||
        length > HV_CONTAINER_PROTO_MAX_PAYLOAD)
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL,
            "the host sent a record of type %u, reserved bytes %u %u %u, length %u where RUN "
            "belongs",
            header[0], header[1], header[2], header[3], length);
    if (!(*payload = malloc(length ? length : 1)))
        die(ctx, HV_CONTAINER_STATUS_SETUP, ENOMEM, "no memory for the RUN record");
    if ((rc = transfer_all(ctx->in_fd, (char *)*payload, length, true)) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, -rc, "reading the RUN record failed: %s",
            rc == -EPIPE ? "the host closed the channel" : strerror(-rc));
    r = (reader){*payload, length};
    if (!take_u32(&r, &version))
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL, "the RUN record has no version");
    if (version != HV_CONTAINER_PROTO_VERSION)
        die(ctx, HV_CONTAINER_STATUS_SETUP, EPROTO,
            "the host speaks protocol version %u, this init version %u: use the init of the "
            "host's library",
            version, HV_CONTAINER_PROTO_VERSION);
    if (!take_u32(&r, &argc) || argc == 0 || !(cmd->argv = take_strings(&r, argc)) ||
        !cmd->argv[0][0])
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL, "the RUN record's argv is malformed");
    if (!take_u32(&r, &envc) || !(cmd->env = take_strings(&r, envc)))
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL, "the RUN record's environment is malformed");
    for (uint32_t i = 0; i < envc; i++)
        if (cmd->env[i][0] == '=' || !strchr(cmd->env[i], '='))
            die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL,
                "the RUN record's environment entry %u is not NAME=value", i);
    if (!(cmd->cwd = take_string(&r)) || cmd->cwd[0] != '/')
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL,
            "the RUN record's working folder is not an absolute path");
    if (!(cmd->user = take_string(&r)) || !cmd->user[0])
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL, "the RUN record has no user");
    if (r.left)
        die(ctx, HV_CONTAINER_STATUS_SETUP, EINVAL, "the RUN record has %zu bytes after the user",
            r.left);
}

/* ---- the command's child: everything up to execve ----------------------- */

/* The child failed before execve: tell the init through the status pipe and end. */
static void __attribute__((noreturn, format(printf, 4, 5)))
child_fail(int status_fd, int status, int error_number, const char *fmt, ...)
{
    fail_record rec;
    va_list ap;
    size_t bytes;

    va_start(ap, fmt);
    bytes = fail_record_make(&rec, status, error_number, fmt, ap);
    va_end(ap);
    write_all(status_fd, &rec, bytes);
    _exit(status);
}

/* A decimal uid or gid (not (uid_t)-1): false when `text` is not one. */
static bool parse_id(const char *text, uint32_t *id)
{
    uint64_t value = 0;

    if (!*text || strlen(text) > 10)
        return false;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (uint64_t)(*p - '0');
    }
    if (value >= UINT32_MAX)
        return false;
    *id = (uint32_t)value;
    return true;
}

/* The next line of `*text` (cut in place), NULL at the end. */
static char *next_line(char **text)
{
    char *line = *text;
    size_t len;

    if (!line || !*line)
        return NULL;
    len = strcspn(line, "\n");
    *text = line + len + (line[len] == '\n');
    line[len] = '\0';
    return line;
}

/* Cut `line` at its ':' into fields[] (at most `count`): whether it has `count` of them. */
static bool split_fields(char *line, char **fields, size_t count)
{
    size_t n = 0;

    for (char *field = line; n < count && field; n++) {
        fields[n] = field;
        if ((field = strchr(field, ':')))
            *field++ = '\0';
    }
    return n == count;
}

/*
 * The line of /etc/passwd or /etc/group (`text`, cut in place) whose field
 * 0 is `name`, or whose field 2 is `id` when name is NULL: its first
 * `count` fields into fields[]; false when there is none.
 */
static bool find_entry(char *text, const char *name, uint32_t id, char **fields, size_t count)
{
    uint32_t line_id;

    for (char *line; (line = next_line(&text));)
        if (split_fields(line, fields, count) &&
            (name ? strcmp(fields[0], name) == 0 : parse_id(fields[2], &line_id) && line_id == id))
            return true;
    return false;
}

/* Add the groups of /etc/group (`text`, cut in place) that list user `name` to ids->groups. */
static void add_member_groups(char *text, const char *name, user_ids *ids)
{
    char *fields[4], *save;
    uint32_t id;

    for (char *line; (line = next_line(&text));) {
        if (!split_fields(line, fields, 4) || !parse_id(fields[2], &id))
            continue;
        for (char *member = strtok_r(fields[3], ",", &save); member;
             member = strtok_r(NULL, ",", &save))
            if (strcmp(member, name) == 0 && id != ids->gid && ids->group_count < MAX_GROUPS)
                ids->groups[ids->group_count++] = id;
    }
}

/* Resolve the RUN record's user in the image (after the chroot). */
static void resolve_user(int status_fd, const char *spec, user_ids *ids)
{
    char user[HV_CONTAINER_PROTO_MAX_USER_BYTES + 1], name[HV_CONTAINER_PROTO_MAX_USER_BYTES + 1];
    char *group, *fields[4], *text;
    uint32_t id;

    if (strlen(spec) >= sizeof(user))
        child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, EINVAL,
                   "the user \"%.64s...\" is too long", spec);
    strcpy(user, spec);
    if ((group = strchr(user, ':')))
        *group++ = '\0';
    memset(ids, 0, sizeof(*ids));
    name[0] = '\0';

    /* the user, and its group in /etc/passwd */
    text = read_small_file("/etc/passwd");
    if (parse_id(user, &id)) {
        ids->uid = id;
        if (text && find_entry(text, NULL, id, fields, 4)) {
            snprintf(name, sizeof(name), "%s", fields[0]);
            ids->gid = parse_id(fields[3], &id) ? id : 0;
        }
    } else {
        if (!text)
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, errno,
                       "user %s: the image has no /etc/passwd to find the name in (%s): give a "
                       "number",
                       user, strerror(errno));
        if (!find_entry(text, user, 0, fields, 4) || !parse_id(fields[2], &id))
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, ENOENT,
                       "user %s: no such user in the image's /etc/passwd", user);
        ids->uid = id;
        ids->gid = parse_id(fields[3], &id) ? id : 0;
        snprintf(name, sizeof(name), "%s", user);
    }
    free(text);

    /* the group given, and the supplementary groups that list the user's name */
    if (group && parse_id(group, &id)) {
        ids->gid = id;
    } else if (group) {
        text = read_small_file("/etc/group");
        if (!text || !find_entry(text, group, 0, fields, 3) || !parse_id(fields[2], &id))
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, ENOENT,
                       "group %s: no such group in the image's /etc/group", group);
        ids->gid = id;
        free(text);
    }
    ids->groups[ids->group_count++] = ids->gid;
    if (name[0] && (text = read_small_file("/etc/group"))) {
        add_member_groups(text, name, ids);
        free(text);
    }
}

/* mkdir -p `path` (absolute), 0755. */
static int make_path(const char *path)
{
    char partial[PATH_MAX];
    size_t len = strlen(path);

    if (len >= sizeof(partial))
        return -ENAMETOOLONG;
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(partial, path, i);
        partial[i] = '\0';
        if (mkdir(partial, 0755) < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

/* Why execve failed on `path`, as the FAIL record says it; never returns. */
static void __attribute__((noreturn)) exec_failed(int status_fd, const char *path, int err)
{
    if (err == ENOENT && access(path, F_OK) == 0)
        child_fail(status_fd, HV_CONTAINER_STATUS_NOT_FOUND, err,
                   "%s: its interpreter (the ELF program interpreter, or the program of its #! "
                   "line) is not in the image",
                   path);
    if (err == ENOENT || err == ENOTDIR)
        child_fail(status_fd, HV_CONTAINER_STATUS_NOT_FOUND, err, "%s: no such file in the image",
                   path);
    if (err == EACCES)
        child_fail(status_fd, HV_CONTAINER_STATUS_NOT_EXECUTABLE, err,
                   "%s: permission denied (not an executable file, or a folder on its path that "
                   "cannot be searched)",
                   path);
    if (err == ENOEXEC)
        child_fail(status_fd, HV_CONTAINER_STATUS_NOT_EXECUTABLE, err,
                   "%s: not a program the kernel can run (no #! line, or built for another "
                   "machine)",
                   path);
    child_fail(status_fd, HV_CONTAINER_STATUS_NOT_EXECUTABLE, err, "%s: cannot run it: %s", path,
               strerror(err));
}

/* execve the command, looked up on the environment's PATH as execvp would; never returns. */
static void __attribute__((noreturn)) exec_command(int status_fd, const command *cmd)
{
    const char *file = cmd->argv[0], *search = DEFAULT_PATH;
    bool denied = false;

    if (strchr(file, '/')) {
        execve(file, cmd->argv, cmd->env);
        exec_failed(status_fd, file, errno);
    }
    for (char **e = cmd->env; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            search = *e + 5;
    for (const char *dir = search, *end;; dir = end + 1) {
        char path[PATH_MAX];
        size_t dir_len;
        int n;

        end = strchr(dir, ':');
        dir_len = end ? (size_t)(end - dir) : strlen(dir);
        /* an empty element is the working folder, as for execvp */
        n = snprintf(path, sizeof(path), "%.*s%s%s", (int)dir_len, dir, dir_len ? "/" : "", file);
        if (n > 0 && (size_t)n < sizeof(path)) {
            execve(path, cmd->argv, cmd->env);
            if (errno == EACCES)
                denied = true;
            else if ((errno != ENOENT && errno != ENOTDIR) || access(path, F_OK) == 0)
                exec_failed(status_fd, path, errno); /* found, but it did not run */
        }
        if (!end)
            break;
    }
    if (denied)
        child_fail(status_fd, HV_CONTAINER_STATUS_NOT_EXECUTABLE, EACCES,
                   "%s: found on PATH (%s) but not executable", file, search);
    child_fail(status_fd, HV_CONTAINER_STATUS_NOT_FOUND, ENOENT,
               "%s: not found on PATH (%s) in the image", file, search);
}

/* The pipes between the init and the command. */
typedef struct command_fds {
    int null_fd;   /* /dev/null: its stdin */
    int out[2];    /* its stdout */
    int err[2];    /* its stderr */
    int status[2]; /* a failure before execve; closed by execve */
} command_fds;

/* The command's process, from fork to execve; never returns. */
static void __attribute__((noreturn))
run_child(const init_ctx *ctx, const command *cmd, const command_fds *fds)
{
    int status_fd = fds->status[1];
    sigset_t all;
    user_ids ids;

    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    if (ctx->pid1 && (chroot("/newroot") < 0 || chdir("/") < 0))
        child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, errno,
                   "cannot change the root to the image's (/newroot): %s", strerror(errno));
    if (chdir(cmd->cwd) < 0) {
        int err = errno;

        if (ctx->pid1 && err == ENOENT) { /* made, as runc does */
            err = -make_path(cmd->cwd);
            if (err == 0 && chdir(cmd->cwd) < 0)
                err = errno;
        }
        if (err)
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, err,
                       "cannot change to the working folder %s: %s", cmd->cwd, strerror(err));
    }
    resolve_user(status_fd, cmd->user, &ids);
    if (ctx->pid1 || ids.uid != getuid() || ids.gid != getgid()) {
        if (setgroups(ids.group_count, ids.groups) < 0)
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, errno,
                       "user %s: cannot set its groups: %s", cmd->user, strerror(errno));
        if (setgid(ids.gid) < 0 || setuid(ids.uid) < 0)
            child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, errno,
                       "user %s: cannot become uid %u gid %u: %s", cmd->user, (unsigned int)ids.uid,
                       (unsigned int)ids.gid, strerror(errno));
    }
    if (dup2(fds->null_fd, STDIN_FILENO) < 0 || dup2(fds->out[1], STDOUT_FILENO) < 0 ||
        dup2(fds->err[1], STDERR_FILENO) < 0)
        child_fail(status_fd, HV_CONTAINER_STATUS_SETUP, errno,
                   "cannot set up the command's stdin, stdout and stderr: %s", strerror(errno));
    /* nothing else of the init's reaches the command (and the status pipe closes on execve) */
    syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    exec_command(status_fd, cmd);
}

/* ---- relaying ----------------------------------------------------------- */

/* Relay one read of a pipe as `type`; the pipe is closed (*fd = -1) at its end. */
static void relay(const init_ctx *ctx, int *fd, unsigned int type, uint8_t *buffer)
{
    ssize_t n = read(*fd, buffer, HV_CONTAINER_PROTO_MAX_PAYLOAD);
    int rc;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    if ((rc = send_record(ctx, type, buffer, (size_t)n)) < 0) {
        say("the channel failed while relaying the command's output: %s", strerror(-rc));
        finish(ctx, HV_CONTAINER_STATUS_SETUP);
    }
}

/* Reap every child that ended; true (with *status) when `child` was one of them. */
static bool reap(int signal_fd, pid_t child, int *status)
{
    struct signalfd_siginfo info;
    bool ended = false;
    pid_t pid;
    int st;

    while (read(signal_fd, &info, sizeof(info)) > 0)
        ;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        if (pid == child) {
            *status = st;
            ended = true;
        }
    return ended;
}

/* Relay the command's output until it has ended and both pipes are closed: its wait status. */
static int relay_until_end(const init_ctx *ctx, pid_t child, int out_fd, int err_fd, int signal_fd)
{
    uint8_t *buffer = malloc(HV_CONTAINER_PROTO_MAX_PAYLOAD);
    bool ended = false;
    int status = 0;

    if (!buffer)
        die(ctx, HV_CONTAINER_STATUS_SETUP, ENOMEM, "no memory to relay the command's output");
    while (out_fd >= 0 || err_fd >= 0 || !ended) {
        struct pollfd p[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};

        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "poll failed: %s", strerror(errno));
        }
        if (p[0].revents)
            relay(ctx, &out_fd, HV_CONTAINER_REC_OUT, buffer);
        if (p[1].revents)
            relay(ctx, &err_fd, HV_CONTAINER_REC_ERR, buffer);
        if (p[2].revents && reap(signal_fd, child, &status)) {
            /* the command ended: what it left running goes too, and their pipes close */
            ended = true;
            kill(ctx->pid1 ? -1 : -child, SIGKILL);
        }
    }
    free(buffer);
    return status;
}

/* Run the command and relay it to its end: the status the VM ends with. */
static int run_command(const init_ctx *ctx, const command *cmd, int signal_fd)
{
    command_fds fds;
    fail_record rec;
    size_t got = 0;
    uint8_t exit_payload[4];
    int status, code;
    pid_t child;

    if ((fds.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
        pipe2(fds.out, O_CLOEXEC) < 0 || pipe2(fds.err, O_CLOEXEC) < 0 ||
        pipe2(fds.status, O_CLOEXEC) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot make the command's pipes: %s",
            strerror(errno));
    if ((child = fork()) < 0)
        die(ctx, HV_CONTAINER_STATUS_SETUP, errno, "cannot start the command: fork: %s",
            strerror(errno));
    if (child == 0)
        run_child(ctx, cmd, &fds);
    close(fds.null_fd);
    close(fds.out[1]);
    close(fds.err[1]);
    close(fds.status[1]);

    /* nothing comes here when execve succeeds: the pipe just closes */
    for (;;) {
        ssize_t n = read(fds.status[0], (char *)&rec + got, sizeof(rec) - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds.status[0]);
    if (got > 0) {
        int fail_status =
            got >= 8 ? (int)hv_container_proto_get_u32(rec.status) : HV_CONTAINER_STATUS_SETUP;

        waitpid(child, NULL, 0);
        if (got <= 8 || fail_status < HV_CONTAINER_STATUS_SETUP ||
            fail_status > HV_CONTAINER_STATUS_NOT_FOUND)
            die(ctx, HV_CONTAINER_STATUS_SETUP, EIO, "the command failed before it started");
        say("%.*s", (int)(got - 8), rec.message);
        send_record(ctx, HV_CONTAINER_REC_FAIL, &rec, got);
        return fail_status;
    }

    status = relay_until_end(ctx, child, fds.out[0], fds.err[0], signal_fd);
    if (WIFSIGNALED(status)) {
        hv_container_proto_put_u32(exit_payload,
                                   HV_CONTAINER_EXIT_SIGNALED | (uint32_t)WTERMSIG(status));
        code = 128 + WTERMSIG(status);
    } else {
        code = WEXITSTATUS(status);
        hv_container_proto_put_u32(exit_payload, (uint32_t)code);
    }
    if (send_record(ctx, HV_CONTAINER_REC_EXIT, exit_payload, sizeof(exit_payload)) < 0)
        say("the channel failed when the command's status was to be sent");
    return code;
}

/* ---- main --------------------------------------------------------------- */

static bool parse_fd(const char *text, int *fd)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < 0 || value > INT_MAX ||
        fcntl((int)value, F_SETFD, FD_CLOEXEC) < 0)
        return false;
    *fd = (int)value;
    return true;
}

int main(int argc, char **argv)
{
    init_ctx ctx = {getpid() == 1, -1, -1};
    uint8_t hello[4], *payload = NULL;
    command cmd = {0};
    sigset_t child_signal;
    int signal_fd, status;

    if (!ctx.pid1) {
        if (argc != 4 || strcmp(argv[1], "--serve") != 0 || !parse_fd(argv[2], &ctx.in_fd) ||
            !parse_fd(argv[3], &ctx.out_fd)) {
            fprintf(stderr,
                    "usage: %s --serve IN_FD OUT_FD\n"
                    "(the container guest's init: as PID 1 it takes no arguments)\n",
                    argv[0]);
            return 2;
        }
        fill_std_fds();
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_signal, NULL);
    if ((signal_fd = signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        die(&ctx, HV_CONTAINER_STATUS_SETUP, errno, "signalfd failed: %s", strerror(errno));
    if (ctx.pid1)
        setup_guest(&ctx);

    hv_container_proto_put_u32(hello, HV_CONTAINER_PROTO_VERSION);
    if ((status = send_record(&ctx, HV_CONTAINER_REC_HELLO, hello, sizeof(hello))) < 0) {
        say("cannot send HELLO on the channel: %s", strerror(-status));
        finish(&ctx, HV_CONTAINER_STATUS_SETUP);
    }
    read_run(&ctx, &cmd, &payload);
    status = run_command(&ctx, &cmd, signal_fd);
    free(cmd.argv);
    free(cmd.env);
    free(payload);
    finish(&ctx, status);
}
