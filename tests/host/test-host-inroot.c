/*
 * tests/host/test-host-inroot.c - white-box tests of the confined file
 * access under a host root (host/inroot.c, host/sysfs.c) with each resolver:
 * openat2 where this kernel has it and the portable walk, forced. Links in
 * and out of the root, "..", loops and the link bound, FIFOs, devices and
 * files of the wrong kind, read and listing bounds; and discovery of every
 * fixture tree and of "/" giving the same answers with either resolver.
 */
#include "hv-test.h"
#include "hv-tree.h"
#include "core/profile.h"
#include "host/discover.h"
#include "host/host.h"
#include "host/inroot.h"
#include "host/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <limits.h>

#define SECRET "hunter2-the-secret-that-must-not-leak"
#define CLIMB  "../../../../../../../../../../../../../../../../../../../../"

static char secret_dir[256]; /* outside the tree */
static char root[256];       /* the tree */

/* Whether `rel` names an entry of the tree (a link itself counts), resolved inside it. */
static bool entry_exists(const hv_sysfs *fs, const char *rel)
{
    struct stat st;
    char name[NAME_MAX + 1];
    int dirfd = hv_inroot_open_parent(fs->rootfd, fs->resolver, rel, name);
    bool found;

    if (dirfd < 0)
        return false;
    found = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    close(dirfd);
    return found;
}

/* Whether `rel` resolves, inside the tree, to a directory. */
static bool entry_is_dir(const hv_sysfs *fs, const char *rel)
{
    struct stat st;
    int fd = hv_inroot_open(fs->rootfd, fs->resolver, rel, HV_INROOT_LOOKUP);
    bool dir;

    if (fd < 0)
        return false;
    dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    return dir;
}

static bool have_openat2(void)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool have = fd >= 0 && hv_inroot_probe(fd) == HV_INROOT_OPENAT2;

    if (fd >= 0)
        close(fd);
    return have;
}

static void make_link(const char *rel, const char *target)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    hv_tree_mkdirs(path);
    assert_int_equal(symlink(target, path), 0);
}

static int make_trees(void **state)
{
    static const hv_tree_entry secret[] = {
        {"secret", SECRET "\n", NULL},
        {"dir/secret", SECRET "\n", NULL},
    };
    static const hv_tree_entry tree[] = {
        {"a/file", "in the tree\n", NULL},
        {"a/b/c/deep", "deep\n", NULL},
        {"flat/link", "../a/b", NULL},
        {"flat/outside", "../../../../../../../../etc/passwd", NULL},
        {"big", NULL, NULL}, /* made below */
        {"empty/.keep", "", NULL},
    };
    char path[PATH_MAX + 64], abs_secret[PATH_MAX];
    const char *dir = HV_TREE_CREATE(secret);
    FILE *f;

    (void)state;
    if (!dir)
        return -1;
    snprintf(secret_dir, sizeof(secret_dir), "%.200s", dir);
    dir = HV_TREE_CREATE(tree);
    if (!dir)
        return -1;
    snprintf(root, sizeof(root), "%.200s", dir);
    snprintf(path, sizeof(path), "%s/big", root);
    f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < 5000; i++)
        fputc('7', f);
    fclose(f);

    snprintf(abs_secret, sizeof(abs_secret), "%s/secret", secret_dir);
    make_link("out-abs", abs_secret);
    snprintf(path, sizeof(path), CLIMB "%s/secret", secret_dir + 1);
    make_link("a/out-rel", path);
    make_link("dir-out", secret_dir);
    make_link("in-abs", "/a/file");
    make_link("a/b/in-rel", "../file");
    make_link("in-climb", CLIMB "a/file");
    make_link("dir-in", "a/b");
    make_link("dir-in-abs", "/a/b/c");
    make_link("loop", "loop");
    make_link("loop-x", "loop-y");
    make_link("loop-y", "loop-x");
    make_link("dangling", "nowhere");
    /* chain-N: N links, chain-N -> chain-N-1 -> ... -> chain-1 -> a/file */
    make_link("chain-1", "a/file");
    for (int i = 2; i <= HV_INROOT_MAX_LINKS + 1; i++) {
        char name[32], target[32];

        snprintf(name, sizeof(name), "chain-%d", i);
        snprintf(target, sizeof(target), "chain-%d", i - 1);
        make_link(name, target);
    }
    snprintf(path, sizeof(path), "%s/fifo", root);
    return mkfifo(path, 0644);
}

static int remove_trees(void **state)
{
    (void)state;
    hv_tree_remove(root);
    hv_tree_remove(secret_dir);
    return 0;
}

static void open_fs(hv_sysfs *fs, const char *at, hv_inroot_resolver resolver)
{
    assert_hv_ok(hv_sysfs_open(fs, at));
    fs->resolver = resolver;
}

/* Each test body runs with the walk, and with openat2 where the kernel has it. */
#define FOR_EACH_RESOLVER(r)                                                                       \
    for (hv_inroot_resolver r = HV_INROOT_OPENAT2; r <= HV_INROOT_WALK; r++)                       \
        if (r != HV_INROOT_OPENAT2 || have_openat2())

static void assert_reads(const hv_sysfs *fs, const char *rel, const char *want)
{
    char *text = NULL;
    int rc = hv_sysfs_read(fs, rel, 4096, &text);

    if (rc < 0)
        fail_msg("reading %s (resolver %d): %s", rel, fs->resolver,
                 hv_error_message(hv_error_last()));
    assert_string_equal(text, want);
    free(text);
}

/* The read fails with `code` and a message holding `words`, and quotes no secret. */
static void assert_read_fails(const hv_sysfs *fs, const char *rel, int code, const char *words)
{
    char *text = NULL;

    assert_hv_error(hv_sysfs_read(fs, rel, 4096, &text), code);
    assert_null(text);
    if (!strstr(hv_error_message(hv_error_last()), words))
        fail_msg("reading %s: \"%s\" does not say \"%s\"", rel, hv_error_message(hv_error_last()),
                 words);
    assert_null(strstr(hv_error_message(hv_error_last()), "hunter2"));
}

static void test_reads_stay_inside(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;

        open_fs(&fs, root, resolver);
        assert_reads(&fs, "a/file", "in the tree\n");
        assert_reads(&fs, "/a/file", "in the tree\n");
        assert_reads(&fs, "in-abs", "in the tree\n");
        assert_reads(&fs, "a/b/in-rel", "in the tree\n");
        assert_reads(&fs, "in-climb", "in the tree\n");
        assert_reads(&fs, "../../../a/./b/../file", "in the tree\n");
        assert_reads(&fs, "dir-in/c/deep", "deep\n");
        assert_reads(&fs, "dir-in-abs/deep", "deep\n");
        assert_read_fails(&fs, "out-abs", HV_E_NOTFOUND, "symbolic link to nothing");
        assert_read_fails(&fs, "a/out-rel", HV_E_NOTFOUND, "symbolic link to nothing");
        assert_read_fails(&fs, "dir-out/secret", HV_E_NOTFOUND, "cannot open dir-out/secret");
        assert_read_fails(&fs, "dangling", HV_E_NOTFOUND, "symbolic link to nothing");
        assert_read_fails(&fs, "fifo", HV_E_IO,
                          "fifo is a FIFO (named pipe) where a regular file is expected");
        assert_read_fails(&fs, "a", HV_E_IO, "a is a directory where a regular file is expected");
        assert_read_fails(&fs, "a/file/x", HV_E_NOTFOUND, "cannot open a/file/x");
        hv_sysfs_close(&fs);
    }
}

static void test_link_bound_and_loops(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;
        char rel[32];

        open_fs(&fs, root, resolver);
        snprintf(rel, sizeof(rel), "chain-%d", HV_INROOT_MAX_LINKS);
        assert_reads(&fs, rel, "in the tree\n");
        snprintf(rel, sizeof(rel), "chain-%d", HV_INROOT_MAX_LINKS + 1);
        assert_read_fails(&fs, rel, HV_E_IO, "a loop of links");
        assert_read_fails(&fs, "loop", HV_E_IO, "a loop of links");
        assert_read_fails(&fs, "loop-x/file", HV_E_IO, "a loop of links");
        assert_false(entry_is_dir(&fs, "loop"));
        hv_sysfs_close(&fs);
    }
}

static void test_read_bounds(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;
        char *text = NULL;

        open_fs(&fs, root, resolver);
        assert_hv_error(hv_sysfs_read(&fs, "big", 4096, &text), HV_E_RANGE);
        assert_error_mentions("big is larger than 4096 bytes");
        assert_hv_ok(hv_sysfs_read(&fs, "big", SIZE_MAX, &text)); /* clamped, still read */
        assert_int_equal(strlen(text), 5000);
        free(text);
        hv_sysfs_close(&fs);
    }
}

/* Devices are never read, however the caller bounds the read. */
static void test_devices_on_the_live_root(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;
        char *text = NULL, **names = NULL;
        size_t n = 0;

        open_fs(&fs, "/", resolver);
        assert_hv_error(hv_sysfs_read(&fs, "dev/zero", SIZE_MAX, &text), HV_E_IO);
        assert_error_mentions("dev/zero is a character device where a regular file is expected");
        assert_hv_error(hv_sysfs_read(&fs, "dev/urandom", SIZE_MAX, &text), HV_E_IO);
        assert_hv_error(hv_sysfs_list(&fs, "dev/null", NULL, &names, &n), HV_E_IO);
        assert_error_mentions("dev/null is a character device where a directory is expected");
        assert_null(text);
        hv_sysfs_close(&fs);
    }
}

static void test_listings(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;
        char **names = NULL;
        size_t n = 0;

        open_fs(&fs, root, resolver);
        assert_hv_ok(hv_sysfs_list(&fs, "dir-in", NULL, &names, &n));
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "c");
        assert_string_equal(names[1], "in-rel");
        hv_sysfs_list_free(names, n);
        assert_hv_ok(hv_sysfs_list(&fs, "dir-in/../..", "chain-", &names, &n)); /* the root */
        assert_int_equal(n, HV_INROOT_MAX_LINKS + 1);
        assert_string_equal(names[1], "chain-2");
        hv_sysfs_list_free(names, n);
        assert_hv_error(hv_sysfs_list(&fs, "dir-out", NULL, &names, &n), HV_E_NOTFOUND);
        assert_hv_error(hv_sysfs_list(&fs, "fifo", NULL, &names, &n), HV_E_IO);
        assert_error_mentions("fifo is a FIFO (named pipe) where a directory is expected");
        assert_hv_error(hv_sysfs_list(&fs, "a/file", NULL, &names, &n), HV_E_IO);
        assert_error_mentions("a/file is a regular file where a directory is expected");
        assert_null(names);
        hv_sysfs_close(&fs);
    }
}

static void test_links_and_existence(void **state)
{
    FOR_EACH_RESOLVER(resolver)
    {
        hv_sysfs fs;
        char *target = NULL;

        open_fs(&fs, root, resolver);
        assert_true(entry_exists(&fs, "out-abs")); /* the link itself is in the tree */
        assert_true(entry_exists(&fs, "fifo"));
        assert_true(entry_exists(&fs, "dir-in/in-rel"));
        assert_false(entry_exists(&fs, "dir-out/secret"));
        assert_false(entry_exists(&fs, "nope"));
        assert_true(entry_is_dir(&fs, "dir-in"));
        assert_true(entry_is_dir(&fs, "a/.."));
        assert_false(entry_is_dir(&fs, "dir-out"));
        assert_false(entry_is_dir(&fs, "fifo"));

        /* a link's text can be read; what it points at stays unread */
        assert_hv_ok(hv_sysfs_readlink(&fs, "dir-in/in-rel", &target));
        assert_string_equal(target, "../file");
        free(target);
        assert_hv_error(hv_sysfs_readlink(&fs, "dir-out/secret", &target), HV_E_NOTFOUND);
        assert_hv_error(hv_sysfs_readlink(&fs, "fifo", &target), HV_E_PARSE);
        assert_hv_ok(hv_sysfs_readlink(&fs, "flat/link", &target));
        assert_string_equal(target, "../a/b");
        free(target);

        assert_hv_ok(hv_sysfs_resolve(&fs, "dir-in", &target));
        assert_string_equal(target, "a/b");
        free(target);
        assert_hv_ok(hv_sysfs_resolve(&fs, "flat/link", &target));
        assert_string_equal(target, "a/b");
        free(target);
        assert_hv_ok(hv_sysfs_resolve(&fs, "dir-in-abs", &target)); /* absolute: from the root */
        assert_string_equal(target, "a/b/c");
        free(target);
        assert_hv_error(hv_sysfs_resolve(&fs, "flat/outside", &target), HV_E_PARSE);
        assert_error_mentions("points outside the host root");
        hv_sysfs_close(&fs);
    }
}

/* Discovery of `at` as JSON, with `resolver`; lines naming free memory dropped when `live`. */
static char *discover_json(const char *at, hv_inroot_resolver resolver, bool live)
{
    hv_sysfs fs;
    hv_host *host = NULL;
    char *json = NULL, *out, *w;

    open_fs(&fs, at, resolver);
    assert_hv_ok(hv_host_discover_fs(&host, &fs, hv_profile_find(NULL)->name, 0));
    hv_sysfs_close(&fs);
    assert_hv_ok(hv_host_to_json(host, HV_JSON_PRETTY, &json));
    hv_host_free(host);
    out = strdup(json);
    assert_non_null(out);
    w = out;
    for (const char *line = json; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line + 1) : strlen(line);

        if (!live || (!memmem(line, len, "\"free_bytes\"", 12) &&
                      !memmem(line, len, "\"available_bytes\"", 17))) {
            memcpy(w, line, len);
            w += len;
        }
        line += len;
    }
    *w = '\0';
    hv_free(json);
    return out;
}

/* Every fixture tree and "/" read the same with the walk as with openat2. */
static void test_resolvers_agree(void **state)
{
    char hosts[PATH_MAX];
    struct dirent *de;
    DIR *dir;
    size_t trees = 0;

    if (!have_openat2())
        skip();
    snprintf(hosts, sizeof(hosts), "%s", hv_test_fixture("hosts"));
    dir = opendir(hosts);
    assert_non_null(dir);
    while ((de = readdir(dir))) {
        char at[PATH_MAX * 2], *a, *b;

        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
            continue;
        snprintf(at, sizeof(at), "%s/%s", hosts, de->d_name);
        a = discover_json(at, HV_INROOT_OPENAT2, false);
        b = discover_json(at, HV_INROOT_WALK, false);
        assert_string_equal(a, b);
        free(a);
        free(b);
        trees++;
    }
    closedir(dir);
    assert_true(trees >= 6);
    {
        char *a = discover_json("/", HV_INROOT_OPENAT2, true);
        char *b = discover_json("/", HV_INROOT_WALK, true);

        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_stay_inside), cmocka_unit_test(test_link_bound_and_loops),
        cmocka_unit_test(test_read_bounds),       cmocka_unit_test(test_devices_on_the_live_root),
        cmocka_unit_test(test_listings),          cmocka_unit_test(test_links_and_existence),
        cmocka_unit_test(test_resolvers_agree),
    };
    return cmocka_run_group_tests(tests, make_trees, remove_trees);
}
