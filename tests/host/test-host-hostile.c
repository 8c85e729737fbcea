/*
 * tests/host/test-host-hostile.c - discovery of hostile host trees: links
 * that lead out of the root (absolute and "../", to files and to
 * directories), links that stay inside (which must keep working, the
 * absolute ones as a chroot sees them), FIFOs, devices, sockets and
 * directories where files belong, and loops of links. Nothing outside the
 * root is read or quoted, and nothing hangs: every discovery runs in a
 * child that is killed, failing the test, after HANG_SECONDS. Each tree is
 * discovered twice: through hv_host_discover() (openat2 where the kernel
 * has it) and with the portable walk forced (host/inroot.h).
 */
#include "hv-test.h"
#include "hv-tree.h"
#include "core/profile.h"
#include "host/discover.h"
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#define CPU          "sys/devices/system/cpu/"
#define NODE         "sys/devices/system/node/"
#define SECRET       "hunter2-the-secret-that-must-not-leak"
#define HANG_SECONDS 15
#define GiB(n)       ((uint64_t)(n) << 30)
/* Enough "../" to climb from anywhere in a tree to "/" (more clamp at "/"). */
#define CLIMB "../../../../../../../../../../../../../../../../../../../../"

static const char cpuinfo[] = "processor\t: 0\nmodel name\t: Test CPU\n"
                              "address sizes\t: 46 bits physical, 48 bits virtual\n\n"
                              "processor\t: 1\nmodel name\t: Test CPU\n\n";
static const char meminfo[] = "MemTotal:        8388608 kB\nMemFree:         4194304 kB\n"
                              "MemAvailable:    6291456 kB\n";
static const char node_meminfo[] = "Node 0 MemTotal:        8388608 kB\n"
                                   "Node 0 MemFree:         4194304 kB\n";
/* What the secret directory holds for a tree that escapes: 777 GiB, a GPU. */
static const char secret_meminfo[] = "MemTotal:      814743552 kB\nMemFree:       814743552 kB\n";
static const char secret_node_meminfo[] = "Node 0 MemTotal: 814743552 kB\n"
                                          "Node 0 MemFree:  814743552 kB\n";

/* A whole small host: 2 CPUs, one node of 8 GiB. */
static const hv_tree_entry base_tree[] = {
    {"proc/cpuinfo", cpuinfo, NULL},
    {"proc/meminfo", meminfo, NULL},
    {CPU "online", "0-1\n", NULL},
    {CPU "cpu0/topology/physical_package_id", "0\n", NULL},
    {CPU "cpu0/topology/core_id", "0\n", NULL},
    {CPU "cpu1/topology/physical_package_id", "0\n", NULL},
    {CPU "cpu1/topology/core_id", "1\n", NULL},
    {NODE "online", "0\n", NULL},
    {NODE "node0/cpulist", "0-1\n", NULL},
    {NODE "node0/meminfo", node_meminfo, NULL},
    {NODE "node0/distance", "10\n", NULL},
};

static char secret_dir[256]; /* outside every tree */

static int make_secret_dir(void **state)
{
    static const hv_tree_entry secret[] = {
        {"secret", SECRET "\n", NULL},
        {"meminfo", secret_meminfo, NULL},
        {"node/online", "0\n", NULL},
        {"node/node0/cpulist", SECRET "\n", NULL},
        {"node/node0/meminfo", secret_node_meminfo, NULL},
        {"node/node0/distance", SECRET "\n", NULL},
        {"pci/0000:00:06.0/vendor", "0x10de\n", NULL},
        {"pci/0000:00:06.0/device", "0x2330\n", NULL},
        {"pci/0000:00:06.0/class", "0x030200\n", NULL},
        {"pci/0000:00:06.0/current_link_speed", SECRET "\n", NULL},
    };
    const char *dir = HV_TREE_CREATE(secret);

    (void)state;
    if (!dir)
        return -1;
    snprintf(secret_dir, sizeof(secret_dir), "%s", dir);
    return 0;
}

static int remove_secret_dir(void **state)
{
    (void)state;
    hv_tree_remove(secret_dir);
    return 0;
}

/* A path in the secret directory, absolute or as "../" links climb to it (static buffer). */
static const char *outside(const char *rel, bool relative)
{
    static char bufs[8][PATH_MAX];
    static unsigned int next;
    char *buf = bufs[next++ % 8];

    snprintf(buf, PATH_MAX, "%s%s/%s", relative ? CLIMB : "", secret_dir + (relative ? 1 : 0), rel);
    return buf;
}

/* Whether `path` is `dir` or lies under it. */
static bool same_or_under(const char *path, const char *dir)
{
    size_t len = strlen(dir);

    return strncmp(path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

/* base_tree with `extra` added, an entry of `extra` replacing the base entry of its path. */
static char *make_tree(const hv_tree_entry *extra, size_t nextra)
{
    size_t nbase = sizeof(base_tree) / sizeof(base_tree[0]), n = 0;
    hv_tree_entry *all = calloc(nbase + nextra, sizeof(*all));
    const char *root;

    assert_non_null(all);
    for (size_t i = 0; i < nbase; i++) {
        bool replaced = false;

        for (size_t j = 0; j < nextra; j++)
            replaced |= same_or_under(base_tree[i].path, extra[j].path) ||
                        same_or_under(extra[j].path, base_tree[i].path);
        if (!replaced)
            all[n++] = base_tree[i];
    }
    if (nextra)
        memcpy(all + n, extra, nextra * sizeof(*extra));
    root = hv_tree_create(all, n + nextra);
    free(all);
    assert_non_null(root);
    return strdup(root);
}

#define MAKE_TREE(extra) make_tree((extra), sizeof(extra) / sizeof((extra)[0]))

static void drop_tree(char *root)
{
    hv_tree_remove(root);
    free(root);
}

/* Replace the file at `rel` under `root` by a FIFO. */
static void put_fifo(const char *root, const char *rel)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    unlink(path);
    hv_tree_mkdirs(path);
    assert_int_equal(mkfifo(path, 0644), 0);
}

typedef struct outcome {
    char *text;    /* what the child wrote: the host's JSON, or "error: ..." */
    hv_host *host; /* read back from that JSON */
} outcome;

static void child_discover(const char *root, bool walk, int out)
{
    hv_host_discover_options opts = HV_HOST_DISCOVER_OPTIONS_INIT;
    hv_host *host = NULL;
    char *json = NULL;
    int rc;

    opts.root = root;
    if (walk) {
        hv_sysfs fs;

        rc = hv_sysfs_open(&fs, root);
        if (rc == 0) {
            fs.resolver = HV_INROOT_WALK;
            rc = hv_host_discover_fs(&host, &fs, hv_profile_find(NULL)->name, 0);
            hv_sysfs_close(&fs);
        }
    } else {
        rc = hv_host_discover(&host, &opts);
    }
    if (rc == 0)
        rc = hv_host_to_json(host, HV_JSON_PRETTY, &json);
    if (rc < 0) {
        dprintf(out, "error: %s (at %s)\n", hv_error_message(hv_error_last()),
                hv_error_path(hv_error_last()));
    } else {
        for (size_t len = strlen(json), done = 0; done < len;) {
            ssize_t n = write(out, json + done, len - done);

            if (n <= 0)
                break;
            done += (size_t)n;
        }
    }
    hv_free(json);
    hv_host_free(host);
}

/* Discover `root` in a child; fail when it takes more than HANG_SECONDS. */
static outcome discover(const char *root, bool walk)
{
    struct timespec start, now;
    size_t len = 0, cap = 1 << 16;
    outcome result = {malloc(cap), NULL};
    int fds[2], status;
    pid_t pid;

    assert_non_null(result.text);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_discover(root, walk, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        ssize_t n;
        int waited;

        clock_gettime(CLOCK_MONOTONIC, &now);
        waited =
            (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (waited >= HANG_SECONDS * 1000 || poll(&p, 1, HANG_SECONDS * 1000 - waited) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            close(fds[0]);
            fail_msg("discovery of %s (%s) did not finish in %d s: it hangs", root,
                     walk ? "walk" : "default resolver", HANG_SECONDS);
        }
        if (len + 1 == cap) {
            result.text = realloc(result.text, cap *= 2);
            assert_non_null(result.text);
        }
        n = read(fds[0], result.text + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    result.text[len] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (result.text[0] != '{')
        fail_msg("discovery of %s (%s) failed: %s", root, walk ? "walk" : "default resolver",
                 result.text);
    assert_hv_ok(hv_host_from_json(result.text, &result.host));
    return result;
}

static void outcome_free(outcome *o)
{
    free(o->text);
    hv_host_free(o->host);
}

/* The finding with `code` whose path is `path`; the test fails without one. */
static const hv_finding *finding(const outcome *o, const char *code, const char *path)
{
    for (size_t i = 0; i < hv_host_finding_count(o->host); i++) {
        const hv_finding *f = hv_host_finding_at(o->host, i);

        if (strcmp(hv_finding_code(f), code) == 0 && strcmp(hv_finding_path(f), path) == 0)
            return f;
    }
    fprintf(stderr, "%s\n", o->text);
    fail_msg("no finding %s for %s in the host above", code, path);
    return NULL;
}

static void assert_finding_says(const outcome *o, const char *code, const char *path,
                                const char *words)
{
    const hv_finding *f = finding(o, code, path);

    if (!strstr(hv_finding_message(f), words))
        fail_msg("finding %s for %s says \"%s\", not \"%s\"", code, path, hv_finding_message(f),
                 words);
}

/* Nothing of the secret directory was read: not in any finding, fact or message. */
static void assert_nothing_leaked(const outcome *o)
{
    if (strstr(o->text, "hunter2")) {
        fprintf(stderr, "%s\n", o->text);
        fail_msg("the secret outside the root leaked into the output above");
    }
    assert_true(hv_host_memory_bytes(o->host) != GiB(777));
    for (size_t i = 0; i < hv_host_node_count(o->host); i++)
        assert_true(hv_host_node_memory_bytes(hv_host_node_at(o->host, i)) != GiB(777));
    assert_int_equal(hv_host_accelerator_count(o->host), 0);
}

/* Links to files outside the root, absolute and "../": as if absent, and said so. */
static void test_file_links_out_of_root(void **state)
{
    for (int relative = 0; relative < 2; relative++) {
        hv_tree_entry links[] = {
            {"proc/meminfo", NULL, outside("meminfo", relative)},
            {CPU "cpu1/topology/core_id", NULL, outside("secret", relative)},
            {NODE "node0/cpulist", NULL, outside("secret", relative)},
            {NODE "node0/distance", NULL, outside("secret", relative)},
        };
        char *root = MAKE_TREE(links);

        for (int walk = 0; walk < 2; walk++) {
            outcome o = discover(root, walk);

            assert_nothing_leaked(&o);
            assert_int_equal(hv_host_memory_bytes(o.host), 0);
            assert_finding_says(&o, "host.meminfo", "proc/meminfo",
                                "symbolic link to nothing in the host tree");
            assert_finding_says(&o, "host.numa.cpulist", NODE "node0/cpulist",
                                "symbolic link to nothing in the host tree");
            finding(&o, "host.numa.distance", NODE "node0/distance");
            /* core_id absent: the CPU's own number stands in */
            assert_int_equal(hv_host_cpu_core(hv_host_cpu_by_id(o.host, 1)), 1);
            outcome_free(&o);
        }
        drop_tree(root);
    }
}

/* Directories linked out of the root, whole or in the middle of a path. */
static void test_directory_links_out_of_root(void **state)
{
    for (int relative = 0; relative < 2; relative++) {
        hv_tree_entry links[] = {
            {"sys/devices/system/node", NULL, outside("node", relative)},
            {"sys/bus/pci/devices/0000:00:06.0", NULL, "../../../devices/pci0000:00/0000:00:06.0"},
            {"sys/devices/pci0000:00", NULL, outside("pci", relative)},
        };
        char *root = MAKE_TREE(links);

        for (int walk = 0; walk < 2; walk++) {
            outcome o = discover(root, walk);

            assert_nothing_leaked(&o);
            /* no node directory inside the tree: one node, as without NUMA */
            finding(&o, "host.numa.absent", "sys/devices/system/node");
            assert_int_equal(hv_host_node_count(o.host), 1);
            assert_true(hv_host_node_memory_bytes(hv_host_node_at(o.host, 0)) == GiB(8));
            outcome_free(&o);
        }
        drop_tree(root);
    }
}

/*
 * Links that stay inside the root keep working, the absolute ones and those
 * that climb above the root read as a chroot sees them.
 */
static void test_links_inside_root(void **state)
{
    static const hv_tree_entry links[] = {
        /* absolute: relative to the root */
        {"proc/meminfo", NULL, "/data/meminfo"},
        {"data/meminfo", meminfo, NULL},
        /* "../" above the root stays at the root */
        {CPU "cpu1/topology/core_id", NULL, CLIMB "data/core1"},
        {"data/core1", "1\n", NULL},
        /* a directory, relative */
        {"sys/devices/system/node", NULL, "../../../data/node"},
        {"data/node/online", "0\n", NULL},
        {"data/node/node0/cpulist", "0-1\n", NULL},
        {"data/node/node0/meminfo", node_meminfo, NULL},
        {"data/node/node0/distance", "10\n", NULL},
        {"data/node/node0/hugepages/hugepages-2048kB/nr_hugepages", "4\n", NULL},
        {"data/node/node0/hugepages/hugepages-2048kB/free_hugepages", "3\n", NULL},
        /* a GPU behind the usual sysfs links, the IOMMU group's absolute */
        {"sys/bus/pci/devices/0000:00:06.0", NULL, "../../../devices/pci0000:00/0000:00:06.0"},
        {"sys/devices/pci0000:00/0000:00:06.0/vendor", "0x10de\n", NULL},
        {"sys/devices/pci0000:00/0000:00:06.0/device", "0x2330\n", NULL},
        {"sys/devices/pci0000:00/0000:00:06.0/class", "0x030200\n", NULL},
        {"sys/devices/pci0000:00/0000:00:06.0/driver", NULL, "../../../bus/pci/drivers/nvidia"},
        {"sys/devices/pci0000:00/0000:00:06.0/iommu_group", NULL, "/sys/kernel/iommu_groups/7"},
        {"sys/kernel/iommu_groups/7/devices/0000:00:06.0", NULL,
         "../../../../devices/pci0000:00/0000:00:06.0"},
        {"sys/bus/pci/drivers/nvidia/0000:00:06.0", NULL,
         "../../../../devices/pci0000:00/0000:00:06.0"},
    };
    char *root = MAKE_TREE(links);

    for (int walk = 0; walk < 2; walk++) {
        outcome o = discover(root, walk);
        const hv_accelerator *gpu = hv_host_accelerator_at(o.host, 0);
        uint64_t total = 0, free_pages = 0;

        if (hv_host_finding_count(o.host)) {
            fprintf(stderr, "%s\n", o.text);
            fail_msg("links inside the root gave findings (above)");
        }
        assert_true(hv_host_memory_bytes(o.host) == GiB(8));
        assert_int_equal(hv_host_cpu_core(hv_host_cpu_by_id(o.host, 1)), 1);
        assert_int_equal(hv_host_node_count(o.host), 1);
        assert_string_equal(hv_host_node_cpulist(hv_host_node_at(o.host, 0)), "0-1");
        assert_true(hv_host_node_memory_bytes(hv_host_node_at(o.host, 0)) == GiB(8));
        assert_hv_ok(
            hv_host_node_hugepages(hv_host_node_at(o.host, 0), 2 << 20, &total, &free_pages));
        assert_true(total == 4 && free_pages == 3);
        assert_non_null(gpu);
        assert_string_equal(hv_accelerator_pci_address(gpu), "0000:00:06.0");
        assert_string_equal(hv_accelerator_driver(gpu), "nvidia");
        assert_int_equal(hv_accelerator_iommu_group(gpu), 7);
        assert_string_equal(hv_accelerator_iommu_group_members(gpu), "0000:00:06.0");
        outcome_free(&o);
    }
    drop_tree(root);
}

/* A FIFO where a file or a directory belongs: a finding, never a hang. */
static void test_fifos(void **state)
{
    static const struct {
        const char *path, *code, *says;
    } cases[] = {
        {"proc/cpuinfo", "host.cpuinfo", "is a FIFO (named pipe) where a regular file is expected"},
        {NODE "node0/cpulist", "host.numa.cpulist", "is a FIFO"},
        {NODE "online", "host.numa.online", "is a FIFO"},
        {CPU "cpu1/topology/core_id", "host.cpu.topology", "is a FIFO"},
        {"sys/bus/pci/devices", "host.pci.device",
         "is a FIFO (named pipe) where a directory is expected"},
        {"sys/bus/pci/devices/0000:00:06.0", "host.pci.device", "is not a link"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *root = make_tree(NULL, 0);

        put_fifo(root, cases[i].path);
        for (int walk = 0; walk < 2; walk++) {
            outcome o = discover(root, walk);

            assert_finding_says(&o, cases[i].code, cases[i].path, cases[i].says);
            outcome_free(&o);
        }
        drop_tree(root);
    }
}

/* Make a character device at `rel` (root only): false where that is not allowed. */
static bool put_char_device(const char *root, const char *rel, unsigned int major,
                            unsigned int minor)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    hv_tree_mkdirs(path);
    return mknod(path, S_IFCHR | 0644, makedev(major, minor)) == 0;
}

static void put_socket(const char *root, const char *rel)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", root, rel);
    unlink(addr.sun_path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(fd);
}

/* /dev/zero, /dev/urandom, sockets and directories where files belong. */
static void test_special_files(void **state)
{
    static const hv_tree_entry entries[] = {
        {"proc/cpuinfo/not-a-file", "a directory where a file belongs", NULL},
        {"proc/meminfo", NULL, "/dev/zero"},
        {NODE "node0/distance", NULL, CLIMB "dev/urandom"},
    };
    char *root = MAKE_TREE(entries);
    bool devices =
        put_char_device(root, "dev/zero", 1, 5) && put_char_device(root, "dev/urandom", 1, 9);

    put_socket(root, NODE "node0/meminfo");
    for (int walk = 0; walk < 2; walk++) {
        outcome o = discover(root, walk);

        assert_finding_says(&o, "host.cpuinfo", "proc/cpuinfo",
                            "is a directory where a regular file is expected");
        assert_finding_says(&o, "host.numa.meminfo", NODE "node0/meminfo",
                            "is a socket where a regular file is expected");
        if (devices) { /* the links lead to the tree's own devices */
            assert_finding_says(&o, "host.meminfo", "proc/meminfo",
                                "is a character device where a regular file is expected");
            assert_finding_says(&o, "host.numa.distance", NODE "node0/distance",
                                "is a character device where a regular file is expected");
        } else { /* not root: the links lead to nothing in the tree */
            assert_finding_says(&o, "host.meminfo", "proc/meminfo", "symbolic link to nothing");
            assert_finding_says(&o, "host.numa.distance", NODE "node0/distance",
                                "symbolic link to nothing");
        }
        outcome_free(&o);
    }
    drop_tree(root);
}

/* Loops of links, to a file and in the middle of a path. */
static void test_link_loops(void **state)
{
    static const hv_tree_entry loops[] = {
        {"proc/cpuinfo", NULL, "cpuinfo"},
        {NODE "node0/cpulist", NULL, "loop-a"},
        {NODE "node0/loop-a", NULL, "loop-b"},
        {NODE "node0/loop-b", NULL, "cpulist"},
        {"sys/bus/pci/devices", NULL, "../pci/devices"},
    };
    char *root = MAKE_TREE(loops);

    for (int walk = 0; walk < 2; walk++) {
        outcome o = discover(root, walk);

        assert_finding_says(&o, "host.cpuinfo", "proc/cpuinfo", "a loop of links");
        assert_finding_says(&o, "host.numa.cpulist", NODE "node0/cpulist", "a loop of links");
        assert_finding_says(&o, "host.pci.device", "sys/bus/pci/devices", "a loop of links");
        outcome_free(&o);
    }
    drop_tree(root);
}

/* Names and link targets with terminal escapes are escaped in findings. */
static void test_control_bytes_escaped(void **state)
{
    static const hv_tree_entry entries[] = {
        {"sys/class/infiniband/mlx\033[31m0", NULL, "../../devices/ib/mlx\033[31m0"},
        {"sys/devices/ib/mlx\033[31m0/node_type", "junk\n", NULL},
        {"sys/devices/ib/mlx\033[31m0/ports/1/state", "\033]0;pwned\007\n", NULL},
    };
    char *root = MAKE_TREE(entries);

    for (int walk = 0; walk < 2; walk++) {
        outcome o = discover(root, walk);

        for (size_t i = 0; i < hv_host_finding_count(o.host); i++) {
            const hv_finding *f = hv_host_finding_at(o.host, i);

            assert_null(strchr(hv_finding_message(f), '\033'));
            assert_null(strchr(hv_finding_path(f), '\033'));
            assert_null(strstr(hv_finding_message(f), "pwned"));
        }
        assert_finding_says(&o, "host.rdma.attribute", "sys/devices/ib/mlx\\u001b[31m0/node_type",
                            "is not 'N: NAME'");
        outcome_free(&o);
    }
    drop_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_links_out_of_root),
        cmocka_unit_test(test_directory_links_out_of_root),
        cmocka_unit_test(test_links_inside_root),
        cmocka_unit_test(test_fifos),
        cmocka_unit_test(test_special_files),
        cmocka_unit_test(test_link_loops),
        cmocka_unit_test(test_control_bytes_escaped),
    };
    return cmocka_run_group_tests(tests, make_secret_dir, remove_secret_dir);
}
