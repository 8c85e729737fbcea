/*
 * kvm/migrate.c - live migration of a VM of the built-in engine
 * (docs/migration-protocol.md): the source's pre-copy (every non-zero page,
 * then rounds of the pages KVM's dirty log says were written, until the rest
 * fits the downtime budget at the bandwidth measured), its stop-and-copy and
 * the handover; the destination's checks, its VM built from what arrives and
 * started only once all of it has. The VM is never lost: the source is
 * destroyed only after the destination says the VM runs there, and any
 * failure before that resumes it where it was.
 */
#include "kvm/migrate.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/format.h"
#include "core/json.h"
#include "core/log.h"
#include "core/text.h"
#include "kvm/migrate-plan.h"
#include "kvm/migration-stream.h"
#include "kvm/vcpu-state.h"
#include "plan/spec.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#define DEFAULT_DOWNTIME_MS 300
#define DEFAULT_ROUNDS      30
#define BATCH_PAGES         1024 /* pages per frame (4 MiB of contents) */
#define STREAM_NAME         "the migration stream"

int hv_kvm_migrate_timeout_ms(const hv_kvm_migrate_params *p)
{
    return p->timeout_ms > 0 ? p->timeout_ms : 30000;
}

/* A peer that stops reading must not block a send for ever: sends on a socket time out
 * too (HV_E_TIMEOUT from the stream). Not a socket (a pipe): nothing to set. */
static void bound_sends(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The conversation is over on an error: the peer learns it at once (the descriptor
 * stays the caller's, so closing it is not this end's to do). */
static void end_conversation(int fd)
{
    shutdown(fd, SHUT_RDWR);
}

/* A copy of the thread's error message (hv_error_set() rewrites the one it reads). */
static const char *last_message(char *buf, size_t size)
{
    hv_format(buf, size, "%s", hv_error_message(hv_error_last()));
    return buf;
}

static void hex_encode(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool hex_decode(const char *text, uint8_t *out, size_t n)
{
    if (strlen(text) != 2 * n)
        return false;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

        if (v < 0)
            return false;
        out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : v << 4);
    }
    return true;
}

/* ---- messages both ends send ------------------------------------------------------ */

/* Tell the peer why this end gives up (best effort: it may be gone). */
static void send_refusal(hv_mig_stream *s, int code, const char *message)
{
    json_object *o = json_object_new_object();
    char *text = NULL;

    if (!o)
        return;
    hv_json_add_string(o, "code", hv_error_code_name(code));
    hv_json_add_string(o, "message", message);
    if (hv_json_emit(o, 0, &text) == 0)
        hv_mig_send(s, HV_MIG_REFUSE, text, strlen(text));
    hv_free(text);
}

/* The peer's REFUSE as this end's error. */
static int peer_refused(const uint8_t *data, size_t bytes, const char *peer)
{
    json_object *o = NULL;
    const char *message = NULL;
    int rc;

    if (hv_json_parse_bounded((const char *)data, bytes, "a refusal", NULL, &o) < 0 ||
        hv_json_read_string(o, "message", "", true, HV_E_PARSE, &message) < 0)
        message = "(its reason did not parse)";
    rc = hv_error_set(HV_E_MIGRATION, NULL, "the %s refused the migration: %s", peer, message);
    json_object_put(o);
    return rc;
}

/* The next frame, which must be `want` (a REFUSE from `peer` is its refusal). */
static int expect(hv_mig_stream *s, int timeout_ms, uint32_t want, const char *what,
                  const char *peer, const uint8_t **data, size_t *bytes)
{
    uint32_t type = 0;
    int rc = hv_mig_recv(s, timeout_ms, &type, data, bytes);

    if (rc == HV_E_TIMEOUT)
        return hv_error_set(HV_E_MIGRATION, NULL,
                            "the %s sent no %s within %d ms: is it still there?", peer, what,
                            timeout_ms);
    if (rc < 0)
        return rc;
    if (type == HV_MIG_REFUSE && want != HV_MIG_REFUSE)
        return peer_refused(*data, *bytes, peer);
    if (type != want)
        return hv_error_set(HV_E_MIGRATION, NULL,
                            "the %s sent frame type %u where %s was due: the stream is out of "
                            "step",
                            peer, type, what);
    return 0;
}

/* HELLO or WELCOME: {"version", "nonce", ["auth"]} */
static int send_greeting(hv_mig_stream *s, uint32_t type, const uint8_t *nonce, int auth)
{
    json_object *o = json_object_new_object();
    char hex[2 * HV_MIG_NONCE_BYTES + 1], *text = NULL;
    int rc = 0;

    hex_encode(nonce, HV_MIG_NONCE_BYTES, hex);
    rc |= o ? 0 : -1;
    rc |= o ? hv_json_add_int(o, "version", HV_MIG_VERSION) : 0;
    rc |= o ? hv_json_add_string(o, "nonce", hex) : 0;
    if (auth >= 0 && o)
        rc |= hv_json_add_bool(o, "auth", auth > 0);
    if (rc < 0) {
        json_object_put(o);
        return HV_E_NOMEM;
    }
    if ((rc = hv_json_emit(o, 0, &text)) == 0)
        rc = hv_mig_send(s, type, text, strlen(text));
    hv_free(text);
    return rc;
}

/*
 * HELLO (`auth` wanted) or WELCOME. A HELLO names the highest version the source
 * speaks (1 or more: this end answers 1, docs/migration-protocol.md, "Versioning");
 * a WELCOME the version both speak from then on, which must be this end's.
 */
static int read_greeting(const uint8_t *data, size_t bytes, const char *peer, uint8_t *nonce,
                         bool *auth)
{
    json_object *o = NULL;
    const char *hex = NULL;
    int64_t version = 0;
    char reason[512];
    int rc;

    if ((rc = hv_json_parse_bounded((const char *)data, bytes, "the greeting", NULL, &o)) < 0 ||
        (rc = hv_json_read_i64(o, "version", "", true, HV_E_PARSE, 1, INT32_MAX, &version)) < 0 ||
        (rc = hv_json_read_string(o, "nonce", "", true, HV_E_PARSE, &hex)) < 0 ||
        (auth && (rc = hv_json_read_bool(o, "auth", "", true, HV_E_PARSE, auth)) < 0)) {
        rc = hv_error_set(HV_E_MIGRATION, NULL, "the %s's greeting is not what hpcvirt sends: %s",
                          peer, last_message(reason, sizeof(reason)));
    } else if (auth ? version < HV_MIG_VERSION : version != HV_MIG_VERSION) {
        rc = hv_error_set(HV_E_MIGRATION, NULL,
                          "the %s speaks migration protocol version %" PRId64
                          "; this hpcvirt speaks %u: run the same hpcvirt at both ends",
                          peer, version, HV_MIG_VERSION);
    } else if (!hex_decode(hex, nonce, HV_MIG_NONCE_BYTES)) {
        rc = hv_error_set(HV_E_MIGRATION, NULL, "the %s's nonce is not %u hex bytes", peer,
                          HV_MIG_NONCE_BYTES);
    }
    json_object_put(o);
    return rc;
}

/* ---- the source ------------------------------------------------------------------- */

typedef struct source {
    hv_kvm_vm *vm;
    hv_mig_stream *s;
    const hv_kvm_migrate_params *p;
    hv_kvm_migrate_stats *stats;
    bool manual_protect;
    uint64_t *bitmap[HV_KVM_MAX_NODES];
    /* pacing (bandwidth_bytes_per_s): bytes sent since `paced_from_ns` began at paced_bytes */
    uint64_t paced_from_ns, paced_bytes;
    /* what the progress callback is told; the pages of this round not sent yet */
    hv_migrate_progress progress;
    uint64_t round_pages_left, reported_ns;
    /* this end ended the migration itself (cancelled, or it did not converge): the
     * destination is told why */
    bool gave_up;
    /* the throttle's ticker (HV_MIGRATE_THROTTLE) */
    pthread_t ticker;
    bool ticking, ticker_stop;
    pthread_mutex_t ticker_lock;
    pthread_cond_t ticker_cond;
    /* the batch being filled */
    uint32_t node, count;
    bool zero;
    uint64_t pages[BATCH_PAGES];
    uint8_t header[8 + 8 * BATCH_PAGES];
    /* the batch's contents, copied: the guest may write a page while it is sent, and
     * what the MAC covers must be what goes out (a page written since is dirty again) */
    uint8_t *contents;
} source;

/* Keep to the bandwidth asked for: sleep until the bytes sent so far are due. */
static void pace(source *o)
{
    uint64_t due_ns, now = hv_clock_monotonic_ns();

    if (!o->p->bandwidth_bytes_per_s)
        return;
    due_ns = o->paced_from_ns + (uint64_t)((double)(hv_mig_bytes_sent(o->s) - o->paced_bytes) *
                                           1e9 / (double)o->p->bandwidth_bytes_per_s);
    if (due_ns > now) {
        struct timespec wait = {.tv_sec = (time_t)((due_ns - now) / 1000000000u),
                                .tv_nsec = (long)((due_ns - now) % 1000000000u)};

        while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
            ;
    }
}

/* Tell the progress callback where things stand (`now`: whatever the time since the last
 * word); a non-zero answer cancels the migration. */
static int report(source *o, bool now)
{
    hv_migrate_progress *pr = &o->progress;
    uint64_t t = hv_clock_monotonic_ns();
    int answer;

    if (!o->p->progress || (!now && t - o->reported_ns < 100000000u))
        return 0;
    o->reported_ns = t;
    pr->bytes_sent = hv_mig_bytes_sent(o->s);
    pr->remaining_bytes = o->round_pages_left * HV_MIG_PAGE_BYTES;
    pr->expected_downtime_ns =
        pr->bandwidth_bytes_per_s
            ? (uint64_t)((double)pr->remaining_bytes * 1e9 / (double)pr->bandwidth_bytes_per_s)
            : 0;
    if ((answer = o->p->progress(pr, o->p->progress_data)) == 0)
        return 0;
    o->gave_up = true;
    return hv_error_set(HV_E_MIGRATION, NULL,
                        "the migration was cancelled (its progress callback returned %d)", answer);
}

static int flush(source *o)
{
    struct iovec iov[2];
    int rc;

    if (!o->count)
        return 0;
    iov[0].iov_base = o->header;
    iov[0].iov_len = hv_mig_pages_header(o->header, o->node, o->count, o->pages);
    iov[1].iov_base = o->contents;
    iov[1].iov_len = o->zero ? 0 : (size_t)o->count * HV_MIG_PAGE_BYTES;
    rc = hv_mig_sendv(o->s, o->zero ? HV_MIG_ZERO : HV_MIG_PAGES, iov, 2);
    if (o->zero)
        o->stats->zero_pages += o->count;
    else
        o->stats->pages_sent += o->count;
    o->count = 0;
    if (rc < 0)
        return rc;
    pace(o);
    return report(o, false);
}

/* Queue page `page` of node `node`: its contents, or a ZERO record when it is zero now. */
static int queue_page(source *o, uint32_t node, uint64_t page, bool zero)
{
    int rc;

    if (o->count && (o->node != node || o->zero != zero || o->count == BATCH_PAGES) &&
        (rc = flush(o)) < 0)
        return rc;
    o->node = node;
    o->zero = zero;
    if (!zero)
        memcpy(o->contents + (size_t)o->count * HV_MIG_PAGE_BYTES,
               o->vm->ram[node].host + page * HV_MIG_PAGE_BYTES, HV_MIG_PAGE_BYTES);
    o->pages[o->count++] = page;
    return 0;
}

/* Page `p` of node `n`, one of the round's: queued unless `all` (the first round) finds it
 * zero (the destination's memory starts zero). */
static int send_page(source *o, uint32_t n, uint64_t p, bool all, uint64_t *dirty)
{
    bool zero = hv_kvm_page_is_zero(o->vm->ram[n].host + p * HV_MIG_PAGE_BYTES, HV_MIG_PAGE_BYTES);

    o->round_pages_left--;
    if (all && zero)
        return 0;
    (*dirty)++;
    return queue_page(o, n, p, zero);
}

/* Every page of every node (`all`: the first round, zero pages skipped, and the memory never
 * written not even read), or those the dirty log marks (every node's read first); *dirty
 * counts the pages sent. */
static int send_round(source *o, bool all, uint64_t *dirty)
{
    int rc;

    *dirty = 0;
    o->round_pages_left = 0;
    for (uint32_t n = 0; n < o->vm->nram; n++) {
        hv_kvm_ram *ram = &o->vm->ram[n];
        size_t words = (size_t)((ram->bytes / HV_MIG_PAGE_BYTES + 63) / 64);

        if (all) {
            o->round_pages_left += ram->bytes / HV_MIG_PAGE_BYTES;
            continue;
        }
        if ((rc = hv_kvm_ram_dirty_pages(ram, o->vm->fd, o->manual_protect, o->bitmap[n])) < 0)
            return rc;
        for (size_t w = 0; w < words; w++)
            o->round_pages_left += (uint64_t)__builtin_popcountll(o->bitmap[n][w]);
    }
    for (uint32_t n = 0; n < o->vm->nram; n++) {
        hv_kvm_ram *ram = &o->vm->ram[n];
        uint64_t pages = ram->bytes / HV_MIG_PAGE_BYTES, start, end;

        for (uint64_t at = 0; all && at < ram->bytes; at = end) {
            hv_kvm_ram_next_data(ram, at, &start, &end);
            o->round_pages_left -= (start - at) / HV_MIG_PAGE_BYTES; /* holes: zero */
            for (uint64_t p = start / HV_MIG_PAGE_BYTES; p < end / HV_MIG_PAGE_BYTES; p++)
                if ((rc = send_page(o, n, p, true, dirty)) < 0)
                    return rc;
        }
        for (uint64_t p = 0; !all && p < pages; p++)
            if ((o->bitmap[n][p / 64] & (UINT64_C(1) << (p % 64))) &&
                (rc = send_page(o, n, p, false, dirty)) < 0)
                return rc;
    }
    return flush(o);
}

/* ---- the throttle (HV_MIGRATE_THROTTLE) --------------------------------------------- */

static void *throttle_ticker(void *arg)
{
    source *o = arg;

    pthread_setname_np(pthread_self(), "throttle");
    pthread_mutex_lock(&o->ticker_lock);
    while (!o->ticker_stop) {
        unsigned int percent = o->progress.throttle_percent;
        struct timespec deadline;

        pthread_mutex_unlock(&o->ticker_lock);
        hv_kvm_vm_throttle_tick(o->vm, percent);
        pthread_mutex_lock(&o->ticker_lock);
        /* the slice it runs plus the share it sleeps */
        hv_clock_deadline_ms(
            &deadline, (int64_t)(HV_KVM_THROTTLE_SLICE_NS / 1000000u * 100u / (100u - percent)));
        if (!o->ticker_stop)
            pthread_cond_timedwait(&o->ticker_cond, &o->ticker_lock, &deadline);
    }
    pthread_mutex_unlock(&o->ticker_lock);
    return NULL;
}

/* Slow the guest down more: 20 %, then 10 % more each time, up to 99 %. */
static void throttle_more(source *o)
{
    unsigned int percent = o->progress.throttle_percent;

    percent = percent ? (percent + 10 > 99 ? 99 : percent + 10) : 20;
    pthread_mutex_lock(&o->ticker_lock);
    o->progress.throttle_percent = percent;
    pthread_mutex_unlock(&o->ticker_lock);
    hv_log_debug("migrate", "%s: throttled to %u %%", o->vm->name, percent);
    if (!o->ticking) {
        o->ticker_stop = false;
        o->ticking = pthread_create(&o->ticker, NULL, throttle_ticker, o) == 0;
    }
}

/* The guest runs at full speed again (idempotent). */
static void throttle_end(source *o)
{
    if (o->ticking) {
        pthread_mutex_lock(&o->ticker_lock);
        o->ticker_stop = true;
        pthread_cond_signal(&o->ticker_cond);
        pthread_mutex_unlock(&o->ticker_lock);
        pthread_join(o->ticker, NULL);
        o->ticking = false;
    }
    if (o->progress.throttle_percent) {
        o->progress.throttle_percent = 0;
        hv_kvm_vm_throttle_tick(o->vm, 0);
    }
}

/* Dirty logging on (manual protection where the kernel has it) or off again. */
static int dirty_logging(source *o, bool on)
{
    int rc = 0;

    if (on) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};
        int have = ioctl(o->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

        cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
        o->manual_protect = have > 0 && (have & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) &&
                            ioctl(o->vm->fd, KVM_ENABLE_CAP, &cap) == 0;
    }
    for (uint32_t n = 0; n < o->vm->nram; n++) {
        int r = hv_kvm_ram_dirty_log(&o->vm->ram[n], o->vm->fd, on);

        if (r < 0 && rc == 0 && on)
            rc = r;
    }
    return rc;
}

static int send_vm_description(source *o, bool was_running)
{
    hv_kvm_vm *vm = o->vm;
    char *meta = NULL;
    int rc;

    if ((rc = hv_kvm_vm_meta_text(vm, was_running, &meta)) < 0)
        return rc;
    rc = hv_mig_send(o->s, HV_MIG_META, meta, strlen(meta));
    hv_free(meta);
    if (rc == 0)
        rc = hv_mig_send(o->s, HV_MIG_PLAN, vm->plan_json ? vm->plan_json : "",
                         vm->plan_json ? strlen(vm->plan_json) : 0);
    if (rc == 0)
        rc = hv_mig_send(o->s, HV_MIG_PAYLOAD, vm->payload, vm->payload_bytes);
    return rc;
}

/* The paused VM's vCPUs and console, then END. */
static int send_state(source *o)
{
    hv_kvm_vm *vm = o->vm;
    hv_kvm_vcpu_state *states = hv_calloc(vm->nvcpus, sizeof(*states));
    char *console = NULL;
    size_t console_len = 0;
    int rc;

    if (!states)
        return HV_E_NOMEM;
    rc = hv_kvm_vm_capture(vm, states);
    for (uint32_t i = 0; rc == 0 && i < vm->nvcpus; i++) {
        uint8_t *record = NULL,
                index[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
        size_t bytes = 0;

        if ((rc = hv_kvm_vcpu_state_encode(&states[i], i, &record, &bytes)) == 0) {
            struct iovec iov[2] = {{index, 4}, {record, bytes}};

            rc = hv_mig_sendv(o->s, HV_MIG_VCPU, iov, 2);
        }
        free(record);
    }
    free(states);
    if (rc == 0 && !(console = hv_kvm_vm_console_bytes(vm, &console_len)))
        rc = HV_E_NOMEM;
    if (rc == 0)
        rc = hv_mig_send(o->s, HV_MIG_CONSOLE, console, console_len);
    free(console);
    if (rc == 0)
        rc = hv_mig_send(o->s, HV_MIG_END, NULL, 0);
    return rc;
}

/* Pre-copy rounds until what is left fits the downtime budget (or the round limit). */
static int precopy(source *o, const hv_kvm_migrate_params *p)
{
    unsigned int max_rounds = p->max_rounds ? p->max_rounds : DEFAULT_ROUNDS;
    double budget_s = (p->max_downtime_ms ? p->max_downtime_ms : DEFAULT_DOWNTIME_MS) / 1000.0,
           last_seconds = 0;
    uint64_t dirty = 0;
    int rc;

    for (unsigned int round = 0;; round++) {
        uint64_t t0 = hv_clock_monotonic_ns(), b0 = hv_mig_bytes_sent(o->s);
        double seconds, bandwidth;

        o->progress.round = round;
        if ((rc = send_round(o, round == 0, &dirty)) < 0)
            return rc;
        o->stats->rounds = round + 1;
        seconds = (double)(hv_clock_monotonic_ns() - t0) / 1e9;
        bandwidth = seconds > 0 ? (double)(hv_mig_bytes_sent(o->s) - b0) / seconds : 1e12;
        hv_log_debug("migrate",
                     "%s: round %u sent %" PRIu64 " pages in %.3f s (%.1f MB/s); budget %.3f s",
                     o->vm->name, round, dirty, seconds, bandwidth / 1e6, budget_s);
        /* this round's pages were written while the last one ran */
        o->progress.bandwidth_bytes_per_s = (uint64_t)bandwidth;
        if (round > 0 && last_seconds > 0)
            o->progress.dirty_bytes_per_s =
                (uint64_t)((double)dirty * HV_MIG_PAGE_BYTES / last_seconds);
        last_seconds = seconds;
        /* what the last round would send now: the pages dirtied while this one ran */
        o->round_pages_left = dirty;
        if ((rc = report(o, true)) < 0)
            return rc;
        if (round > 0 && (double)dirty * HV_MIG_PAGE_BYTES <= bandwidth * budget_s)
            return 0;
        if (p->throttle && round > 0 && round + 1 < max_rounds)
            throttle_more(o);
        if (round + 1 >= max_rounds) {
            if (p->fail_unconverged) {
                o->gave_up = true;
                return hv_error_set(HV_E_MIGRATION, NULL,
                                    "%s dirties its memory faster than it can be sent: after %u "
                                    "rounds %" PRIu64 " pages were still dirty (allow more "
                                    "downtime or rounds)",
                                    o->vm->name, round + 1, dirty);
            }
            return 0;
        }
    }
}

/*
 * A send failed because the destination hung up: it usually said why first (a
 * refusal waiting to be read, or a frame that does not authenticate). That
 * reason, when there is one, else the send's own error `rc`. A send that timed
 * out: the destination stopped reading (a hung one says nothing more).
 */
static int why_the_destination_left(source *o, int rc)
{
    const uint8_t *data;
    size_t bytes;
    uint32_t type = 0;
    char sent[1024];
    int why;

    if (rc == HV_E_TIMEOUT)
        return hv_error_set(HV_E_MIGRATION, NULL,
                            "the destination took nothing for %d ms: is it still there?",
                            hv_kvm_migrate_timeout_ms(o->p));
    if (rc != HV_E_MIGRATION)
        return rc;
    last_message(sent, sizeof(sent));
    why = hv_mig_recv(o->s, 2000, &type, &data, &bytes);
    if (why == 0 && type == HV_MIG_REFUSE)
        return peer_refused(data, bytes, "destination");
    if (why < 0 && why != HV_E_TIMEOUT && !strstr(hv_error_message(hv_error_last()), "closed"))
        return why; /* what went wrong with what it sent: a wrong key, say */
    return hv_error_set(rc, NULL, "%s", sent);
}

/* Pause the VM for the last round: one that ended meanwhile has nothing left to move. */
static int stop_for_the_last_round(hv_kvm_vm *vm)
{
    int rc = hv_kvm_vm_pause(vm), state;

    if (rc == 0)
        return 0;
    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state == HV_VM_STATE_EXITED || state == HV_VM_STATE_CRASHED)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s %s while it was being migrated: there is nothing left to move",
                            vm->name, state == HV_VM_STATE_EXITED ? "exited" : "crashed");
    return rc;
}

int hv_kvm_vm_migrate_out(hv_kvm_vm *vm, int fd, const hv_kvm_migrate_params *p,
                          hv_kvm_migrate_stats *stats)
{
    source o;
    hv_kvm_migrate_stats local;
    uint8_t nonce[HV_MIG_NONCE_BYTES], peer_nonce[HV_MIG_NONCE_BYTES];
    const uint8_t *data;
    size_t bytes;
    uint64_t t0 = hv_clock_monotonic_ns(), paused_at = 0;
    bool was_running, paused = false;
    int rc, state, timeout = hv_kvm_migrate_timeout_ms(p);
    char message[1024];

    memset(&o, 0, sizeof(o));
    memset(&local, 0, sizeof(local));
    o.vm = vm;
    o.p = p;
    o.stats = stats ? stats : &local;
    memset(o.stats, 0, sizeof(*o.stats));
    pthread_mutex_lock(&vm->lock);
    state = vm->state;
    pthread_mutex_unlock(&vm->lock);
    if (state != HV_VM_STATE_RUNNING && state != HV_VM_STATE_PAUSED)
        return hv_error_set(HV_E_STATE, NULL,
                            "%s is %s: only a running or paused VM can be migrated", vm->name,
                            hv_vm_state_name(state));
    was_running = state == HV_VM_STATE_RUNNING;
    pthread_mutex_init(&o.ticker_lock, NULL);
    pthread_cond_init(&o.ticker_cond, NULL);
    for (uint32_t n = 0; n < vm->nram; n++)
        o.progress.memory_bytes += vm->ram[n].bytes;
    if (!(o.contents = hv_reallocarray(NULL, BATCH_PAGES, HV_MIG_PAGE_BYTES))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    for (uint32_t n = 0; n < vm->nram; n++) {
        size_t words = (size_t)((vm->ram[n].bytes / HV_MIG_PAGE_BYTES + 63) / 64);

        if (!(o.bitmap[n] = hv_calloc(words, sizeof(uint64_t)))) {
            rc = HV_E_NOMEM;
            goto out;
        }
    }
    bound_sends(fd, timeout);
    if ((rc = hv_mig_stream_new(fd, false, &o.s)) < 0 || (rc = hv_mig_nonce(nonce)) < 0)
        goto out;
    /* the handshake: versions and nonces, then the stream keyed; the VM described */
    if ((rc = send_greeting(o.s, HV_MIG_HELLO, nonce, p->key ? 1 : 0)) < 0 ||
        (rc = expect(o.s, timeout, HV_MIG_WELCOME, "welcome", "destination", &data, &bytes)) < 0 ||
        (rc = read_greeting(data, bytes, "destination", peer_nonce, NULL)) < 0)
        goto out;
    if (p->key && (rc = hv_mig_stream_set_key(o.s, p->key, p->key_bytes, nonce, peer_nonce)) < 0)
        goto out;
    hv_log_debug("migrate", "%s: handshake done, sending its description", vm->name);
    if ((rc = send_vm_description(&o, was_running)) < 0) {
        rc = why_the_destination_left(&o, rc);
        goto out;
    }
    if ((rc = expect(o.s, timeout, HV_MIG_ACCEPT, "acceptance", "destination", &data, &bytes)) < 0)
        goto out;
    /* pre-copy while it runs, then the rest with it paused */
    for (uint32_t n = 0; n < vm->nram; n++)
        if ((rc = hv_kvm_ram_prepare_access(&vm->ram[n], 0, vm->ram[n].bytes, false,
                                            "the memory to send")) < 0)
            goto out;
    hv_log_debug("migrate", "%s: accepted; pre-copy begins", vm->name);
    if ((rc = dirty_logging(&o, true)) < 0)
        goto out;
    o.paced_from_ns = hv_clock_monotonic_ns();
    o.paced_bytes = hv_mig_bytes_sent(o.s);
    if ((rc = precopy(&o, p)) < 0) {
        if (!o.gave_up)
            rc = why_the_destination_left(&o, rc);
        goto out;
    }
    hv_log_debug("migrate", "%s: %u pre-copy rounds, %" PRIu64 " pages; stopping it", vm->name,
                 o.stats->rounds, o.stats->pages_sent);
    paused_at = hv_clock_monotonic_ns();
    if (was_running && (rc = stop_for_the_last_round(vm)) < 0)
        goto out;
    paused = was_running;
    throttle_end(&o); /* its vCPUs are parked: the ticker has nothing left to slow down */
    o.progress.stopped = true;
    if ((rc = report(&o, true)) < 0)
        goto out;
    {
        uint64_t dirty;

        if ((rc = send_round(&o, false, &dirty)) < 0 || (rc = send_state(&o)) < 0) {
            rc = why_the_destination_left(&o, rc);
            goto out;
        }
    }
    hv_log_debug("migrate", "%s: all sent; waiting for the destination", vm->name);
    if ((rc = expect(o.s, timeout, HV_MIG_RUNNING, "word that the VM runs", "destination", &data,
                     &bytes)) < 0)
        goto out;
    /* it runs there: this copy goes */
    o.stats->downtime_ns = hv_clock_monotonic_ns() - paused_at;
    o.stats->total_ns = hv_clock_monotonic_ns() - t0;
    o.stats->bytes_sent = hv_mig_bytes_sent(o.s);
    dirty_logging(&o, false);
    paused = false;
    rc = hv_kvm_vm_destroy(vm);
out:
    throttle_end(&o);
    if (rc < 0) {
        /* anything before RUNNING: the VM goes on here, where it was */
        last_message(message, sizeof(message));
        if (o.s && (rc != HV_E_MIGRATION || o.gave_up))
            send_refusal(o.s, rc, message);
        end_conversation(fd);
        hv_log_debug("migrate", "%s: failed: %s", vm->name, message);
        dirty_logging(&o, false);
        if (paused)
            hv_kvm_vm_resume(vm);
        pthread_mutex_lock(&vm->lock);
        state = vm->state;
        pthread_mutex_unlock(&vm->lock);
        hv_error_set(rc == HV_E_NOMEM || rc == HV_E_STATE ? rc : HV_E_MIGRATION, NULL,
                     "migrating %s: %s; it %s here", vm->name, message,
                     state == HV_VM_STATE_RUNNING  ? "runs on"
                     : state == HV_VM_STATE_PAUSED ? "stays paused"
                                                   : "has ended");
        rc = rc == HV_E_NOMEM || rc == HV_E_STATE ? rc : HV_E_MIGRATION;
    }
    hv_mig_stream_free(o.s);
    free(o.contents);
    for (uint32_t n = 0; n < HV_KVM_MAX_NODES; n++)
        free(o.bitmap[n]);
    pthread_cond_destroy(&o.ticker_cond);
    pthread_mutex_destroy(&o.ticker_lock);
    return rc;
}

/* ---- the destination -------------------------------------------------------------- */

typedef struct destination {
    hv_kvm_vm *vm;
    hv_mig_stream *s;
    uint64_t node_pages[HV_KVM_MAX_NODES];
    bool *have_vcpu;
} destination;

static int receive_pages(destination *d, const uint8_t *data, size_t bytes, bool zero)
{
    uint32_t node = 0, count = 0;
    const uint8_t *numbers = NULL, *contents = NULL;
    int rc = hv_mig_pages_decode(data, bytes, !zero, (uint32_t)d->vm->nram, d->node_pages, &node,
                                 &count, &numbers, &contents);

    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *page = d->vm->ram[node].host + hv_mig_page_at(numbers, i) * HV_MIG_PAGE_BYTES;

        if (zero)
            memset(page, 0, HV_MIG_PAGE_BYTES);
        else
            memcpy(page, contents + (size_t)i * HV_MIG_PAGE_BYTES, HV_MIG_PAGE_BYTES);
    }
    return 0;
}

static int receive_vcpu(destination *d, const uint8_t *data, size_t bytes)
{
    uint32_t index;
    hv_kvm_vcpu_state st;
    char what[64];
    int rc;

    if (bytes < 4)
        return hv_error_set(HV_E_MIGRATION, NULL, "a vCPU frame of %zu bytes is too short", bytes);
    index = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
            (uint32_t)data[3] << 24;
    if (index >= d->vm->nvcpus || d->have_vcpu[index])
        return hv_error_set(HV_E_MIGRATION, NULL,
                            "a vCPU frame for vCPU %u, which the VM %s: the stream is corrupted",
                            index, index >= d->vm->nvcpus ? "does not have" : "had already");
    hv_format(what, sizeof(what), "vCPU %u of the migration stream", index);
    if ((rc = hv_kvm_vcpu_state_decode(data + 4, bytes - 4, index, what, &st)) < 0)
        return hv_error_set(HV_E_MIGRATION, NULL, "%s", hv_error_message(hv_error_last()));
    if ((rc = hv_kvm_vcpu_state_set(d->vm->vcpus[index].fd, index, &st)) < 0)
        return rc;
    d->vm->vcpus[index].stopped = st.run_state == HV_KVM_VCPU_STATE_STOPPED;
    d->vm->vcpus[index].status = st.status;
    d->vm->vcpus[index].last_marker = st.last_marker;
    d->vm->vcpus[index].marker_count = st.marker_count;
    d->have_vcpu[index] = true;
    return 0;
}

/*
 * A VM that came with a plan, planned on this host (p->host, or this machine's inventory
 * now) and placed where that plan puts it unless p->host_nodes says where - then each
 * vNUMA node on its given host node, its vCPUs on that node's CPUs here: refused with
 * the planner's reason when this host cannot run it.
 */
static int plan_here(const hv_kvm_migrate_params *p, hv_kvm_snapshot_meta *m)
{
    hv_host *discovered = NULL;
    hv_plan *plan = NULL;
    int rc = p->host ? 0 : hv_host_discover(&discovered, NULL);
    const hv_host *here = p->host ? p->host : discovered;

    if (rc == 0 && m->plan_json) {
        rc = hv_kvm_migrate_replan(m, here, &plan);
        if (rc == 0)
            hv_log_debug("migrate", "destination: %s planned on this host", m->name);
    }
    if (rc == 0)
        rc = p->host_nodes ? hv_kvm_migrate_place_on_nodes(here, p->host_nodes, m)
                           : hv_kvm_migrate_place(plan, m);
    hv_plan_free(plan);
    hv_host_free(discovered);
    return rc;
}

/* The VM the source described, with its memory backed and registered, or why not. */
static int build_vm(hv_kvm_conn *conn, destination *d, const hv_kvm_migrate_params *p,
                    const hv_kvm_resume_params *rp, hv_kvm_snapshot_meta *m, const uint8_t *payload,
                    size_t payload_bytes)
{
    hv_kvm_vm *existing = NULL;
    char quoted[HV_QUOTE_SIZE];
    int rc;

    if (p->host_nodes && p->host_node_count != m->node_count)
        return hv_error_set(HV_E_INVAL, NULL,
                            "%zu host nodes were given for a VM of %zu vNUMA nodes",
                            p->host_node_count, m->node_count);
    if ((m->plan_json || p->host_nodes) && (rc = plan_here(p, m)) < 0)
        return rc;
    if (hv_kvm_conn_lookup(conn, rp->name ? rp->name : m->name, &existing) == 0) {
        hv_kvm_vm_unref(existing);
        return hv_error_set(HV_E_EXISTS, NULL,
                            "a VM named %s exists already on the destination: migrate it under "
                            "another name",
                            hv_quote(quoted, sizeof(quoted), rp->name ? rp->name : m->name));
    }
    if ((rc = hv_kvm_vm_from_meta(conn, m, rp, payload, payload_bytes, STREAM_NAME, &d->vm)) < 0)
        return rc;
    for (size_t n = 0; n < d->vm->nram && rc == 0; n++) {
        rc = hv_kvm_ram_back_fresh(&d->vm->ram[n]);
        d->node_pages[n] = d->vm->ram[n].bytes / HV_MIG_PAGE_BYTES;
    }
    if (rc == 0)
        rc = hv_kvm_vm_register_ram(d->vm);
    if (rc == 0 && !(d->have_vcpu = hv_calloc(d->vm->nvcpus, sizeof(bool))))
        rc = HV_E_NOMEM;
    return rc;
}

int hv_kvm_vm_migrate_in(hv_kvm_conn *conn, int fd, const hv_kvm_migrate_params *p,
                         const hv_kvm_resume_params *rp, hv_kvm_vm **out)
{
    destination d;
    hv_kvm_snapshot_meta m;
    uint8_t nonce[HV_MIG_NONCE_BYTES], peer_nonce[HV_MIG_NONCE_BYTES];
    const uint8_t *data;
    size_t bytes;
    uint8_t *payload = NULL;
    size_t payload_bytes = 0;
    bool auth = false, accepted = false, ran = false;
    const char *state = NULL;
    int rc, timeout = hv_kvm_migrate_timeout_ms(p);
    char message[1024];

    *out = NULL;
    memset(&d, 0, sizeof(d));
    memset(&m, 0, sizeof(m));
    if (rp->name && hv_spec_check_name(rp->name, "name") < 0)
        return hv_error_set(HV_E_INVAL, "name", "%s", last_message(message, sizeof(message)));
    bound_sends(fd, timeout);
    if ((rc = hv_mig_stream_new(fd, false, &d.s)) < 0 || (rc = hv_mig_nonce(nonce)) < 0)
        goto out;
    if ((rc = expect(d.s, timeout, HV_MIG_HELLO, "greeting", "source", &data, &bytes)) < 0 ||
        (rc = read_greeting(data, bytes, "source", peer_nonce, &auth)) < 0)
        goto out;
    if (auth != (p->key != NULL)) {
        rc = hv_error_set(HV_E_MIGRATION, NULL,
                          auth ? "the source authenticates with a key and this destination was "
                                 "given none: give both ends the same key"
                               : "this destination accepts only an authenticated migration and "
                                 "the source has no key: give both ends the same key");
        goto out;
    }
    if ((rc = send_greeting(d.s, HV_MIG_WELCOME, nonce, -1)) < 0)
        goto out;
    if (p->key && (rc = hv_mig_stream_set_key(d.s, p->key, p->key_bytes, peer_nonce, nonce)) < 0)
        goto out;
    /* what the source runs: checked, then built here, before any memory comes */
    if ((rc = expect(d.s, timeout, HV_MIG_META, "VM description", "source", &data, &bytes)) < 0)
        goto out;
    if ((rc = hv_kvm_snapshot_meta_parse(data, bytes, STREAM_NAME, &m)) < 0) {
        rc = hv_error_set(HV_E_MIGRATION, NULL, "%s", last_message(message, sizeof(message)));
        goto out;
    }
    if (m.is_linux) {
        rc = hv_error_set(HV_E_MIGRATION, NULL,
                          "the source sends a Linux guest: this hpcvirt's engine migrates "
                          "payload guests only (its Linux guests are suspended and resumed, or "
                          "cloned)");
        goto out;
    }
    if (hv_json_read_string(m.root, "state", "", true, HV_E_PARSE, &state) < 0)
        state = "running";
    if ((rc = expect(d.s, timeout, HV_MIG_PLAN, "plan", "source", &data, &bytes)) < 0)
        goto out;
    if (bytes) {
        if (hv_json_scan((const char *)data, bytes, "the migrated plan", NULL) < 0) {
            rc = hv_error_set(HV_E_MIGRATION, NULL, "%s", last_message(message, sizeof(message)));
            goto out;
        }
        if (!(m.plan_json = hv_reallocarray(NULL, bytes + 1, 1))) {
            rc = HV_E_NOMEM;
            goto out;
        }
        memcpy(m.plan_json, data, bytes);
        m.plan_json[bytes] = '\0';
    }
    if ((rc = expect(d.s, timeout, HV_MIG_PAYLOAD, "payload", "source", &data, &bytes)) < 0)
        goto out;
    if (!(payload = hv_reallocarray(NULL, bytes ? bytes : 1, 1))) {
        rc = HV_E_NOMEM;
        goto out;
    }
    memcpy(payload, data, bytes);
    payload_bytes = bytes;
    hv_log_debug("migrate", "destination: %s described; building it", m.name);
    if ((rc = build_vm(conn, &d, p, rp, &m, payload, payload_bytes)) < 0)
        goto out;
    hv_log_debug("migrate", "destination: %s built; accepting", m.name);
    if ((rc = hv_mig_send(d.s, HV_MIG_ACCEPT, NULL, 0)) < 0)
        goto out;
    accepted = true;
    /* memory rounds, then the paused VM's state */
    for (;;) {
        uint32_t type = 0;

        rc = hv_mig_recv(d.s, timeout, &type, &data, &bytes);
        if (rc == HV_E_TIMEOUT)
            rc = hv_error_set(HV_E_MIGRATION, NULL,
                              "the source sent nothing for %d ms in the middle of the migration",
                              timeout);
        if (rc < 0)
            goto out;
        if (type == HV_MIG_END) {
            hv_log_debug("migrate", "destination: %s all received", m.name);
            break;
        }
        switch (type) {
        case HV_MIG_PAGES:
        case HV_MIG_ZERO:
            rc = receive_pages(&d, data, bytes, type == HV_MIG_ZERO);
            break;
        case HV_MIG_VCPU:
            rc = receive_vcpu(&d, data, bytes);
            break;
        case HV_MIG_CONSOLE:
            rc = d.vm->console ? hv_error_set(HV_E_MIGRATION, NULL, "a second console frame")
                               : hv_kvm_vm_restore_console(d.vm, data, bytes);
            break;
        case HV_MIG_REFUSE:
            rc = peer_refused(data, bytes, "source");
            break;
        default:
            rc = hv_error_set(HV_E_MIGRATION, NULL,
                              "frame type %u in the middle of the migration: the stream is out of "
                              "step",
                              type);
        }
        if (rc < 0)
            goto out;
    }
    for (uint32_t i = 0; i < d.vm->nvcpus; i++)
        if (!d.have_vcpu[i]) {
            rc = hv_error_set(HV_E_MIGRATION, NULL,
                              "the stream ended without the state of vCPU %u: it is corrupted", i);
            goto out;
        }
    /* the boot info's identity as the source kept it; then listed and started */
    if ((rc = hv_kvm_vm_set_identity(d.vm, m.clone_id, m.clone_index, m.generation)) < 0)
        goto out;
    rc = hv_kvm_vm_publish(d.vm); /* frees it when the name is taken */
    if (rc < 0) {
        d.vm = NULL;
        goto out;
    }
    if ((rc = hv_kvm_vm_launch(d.vm, rp->paused || strcmp(state, "paused") == 0)) < 0) {
        hv_kvm_vm_forget(d.vm);
        d.vm = NULL;
        goto out;
    }
    ran = true;
    /* the source destroys its copy when this arrives; a source gone by now is the
     * source that failed after sending everything: the VM runs here either way */
    hv_mig_send(d.s, HV_MIG_RUNNING, NULL, 0);
    *out = d.vm;
    d.vm = NULL;
out:
    if (rc < 0) {
        last_message(message, sizeof(message));
        if (d.s && !ran)
            send_refusal(d.s, rc, message);
        end_conversation(fd);
        hv_log_debug("migrate", "destination: failed: %s", message);
        if (d.vm)
            hv_kvm_vm_discard(d.vm);
        hv_error_set(rc == HV_E_NOMEM || rc == HV_E_INVAL ? rc : HV_E_MIGRATION, NULL,
                     "receiving a migrated VM: %s; nothing was kept%s", message,
                     accepted ? " of what had arrived" : "");
        rc = rc == HV_E_NOMEM || rc == HV_E_INVAL ? rc : HV_E_MIGRATION;
    }
    free(d.have_vcpu);
    free(payload);
    hv_kvm_snapshot_meta_clear(&m);
    hv_mig_stream_free(d.s);
    return rc;
}
