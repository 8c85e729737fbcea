/*
 * container/initramfs.c - the container guest's initramfs: the modules the
 * init loads, chosen from the kernel's modules.dep and modules.builtin in
 * the order they load in, and the newc cpio archive that holds them, the
 * init and the folders the init mounts on (docs/container-guest.md).
 */
#include "container/initramfs.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/text.h"
#include "kvm/guest-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The modules the guest needs, in the order they are asked for. */
static const struct {
    const char *name;
    bool optional; /* a kernel may have it otherwise (crc32c: an accelerated driver) */
} wanted_modules[] = {
    {"virtio_mmio", false},   {"virtio_blk", false}, {"virtio_console", false},
    {"crc32c_generic", true}, {"ext4", false},       {"overlay", false},
};

/* A kernel's modules.dep and modules.builtin are a few MiB at most. */
#define MODULE_LIST_MAX_BYTES (UINT64_C(16) << 20)
/* Dependencies deeper than this are a loop or nonsense. */
#define MODULE_DEPTH_MAX 64
/* newc: "070701" and 13 fields of 8 hex digits. */
#define NEWC_HEADER_BYTES 110u

/* ---- modules ------------------------------------------------------------ */

/* One line of modules.dep: a module's path (relative to the folder) and what it needs. */
typedef struct module_line {
    char *path;
    char *deps; /* the paths after the ':', separated by blanks */
    int state;  /* 0 not visited, 1 its dependencies being added, 2 in the order */
} module_line;

typedef struct module_set {
    const char *dir;
    char shown_dir[256]; /* dir, quoted (hv_quote()) */
    uint8_t *dep_text;   /* modules.dep, cut into the lines' strings */
    module_line *lines;
    size_t count, cap;
    uint8_t *builtin; /* modules.builtin, NUL-terminated, or NULL */
    size_t *order;    /* indexes into lines, in loading order */
    size_t order_count, order_cap;
} module_set;

/* Whether `len` bytes at `name` are the module name `wanted` ('-' and '_' alike). */
static bool same_module_name(const char *name, size_t len, const char *wanted)
{
    size_t i = 0;

    for (; i < len && wanted[i]; i++) {
        char a = name[i] == '-' ? '_' : name[i], b = wanted[i] == '-' ? '_' : wanted[i];

        if (a != b)
            return false;
    }
    return i == len && !wanted[i];
}

/* The module name of a path ("kernel/fs/ext4/ext4.ko" -> "ext4", 4): where it starts. */
static const char *module_name_of(const char *path, size_t path_len, size_t *len)
{
    const char *base = path, *end = path + path_len;

    for (const char *p = path; p < end; p++)
        if (*p == '/')
            base = p + 1;
    *len = (size_t)(end - base);
    for (const char *p = base; p + 3 <= end; p++)
        if (memcmp(p, ".ko", 3) == 0) {
            *len = (size_t)(p - base);
            break;
        }
    return base;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* Whether modules.builtin lists `name`. */
static bool module_builtin(const module_set *set, const char *name)
{
    const char *line = (const char *)set->builtin;

    while (line && *line) {
        size_t line_len = strcspn(line, "\n"), len;
        const char *module = module_name_of(line, line_len, &len);

        if (same_module_name(module, len, name))
            return true;
        line += line_len + (line[line_len] == '\n');
    }
    return false;
}

static module_line *find_line_by_name(module_set *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++) {
        size_t len;
        const char *module = module_name_of(set->lines[i].path, strlen(set->lines[i].path), &len);

        if (same_module_name(module, len, name))
            return &set->lines[i];
    }
    return NULL;
}

static module_line *find_line_by_path(module_set *set, const char *path, size_t len)
{
    for (size_t i = 0; i < set->count; i++)
        if (strlen(set->lines[i].path) == len && memcmp(set->lines[i].path, path, len) == 0)
            return &set->lines[i];
    return NULL;
}

/* A module's path: relative, inside the folder, a plain .ko (else an error naming it). */
static int check_module_path(const module_set *set, const char *path)
{
    char quoted[HV_QUOTE_SIZE];
    size_t len = strlen(path);
    static const char *const compressed[] = {".ko.xz", ".ko.zst", ".ko.gz"};

    hv_quote(quoted, sizeof(quoted), path);
    if (path[0] == '/' || strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 ||
        strstr(path, "/../") || (len >= 3 && strcmp(path + len - 3, "/..") == 0))
        return hv_error_set(HV_E_PARSE, set->dir,
                            "'%s/modules.dep' names the module '%s' outside its folder: run "
                            "depmod for that kernel again",
                            set->shown_dir, quoted);
    for (size_t i = 0; i < sizeof(compressed) / sizeof(compressed[0]); i++) {
        size_t n = strlen(compressed[i]);

        if (len > n && strcmp(path + len - n, compressed[i]) == 0)
            return hv_error_set(HV_E_UNSUPPORTED, set->dir,
                                "the kernel's modules in '%s' are compressed ('%s'): the container "
                                "guest's init loads plain .ko files; give the modules "
                                "uncompressed (unxz or unzstd each, then depmod) or a kernel "
                                "with them built in",
                                set->shown_dir, quoted);
    }
    if (len <= 3 || strcmp(path + len - 3, ".ko") != 0)
        return hv_error_set(HV_E_PARSE, set->dir,
                            "'%s/modules.dep' names '%s', which is not a .ko file: run depmod "
                            "for that kernel again",
                            set->shown_dir, quoted);
    return 0;
}

/* Add `line` to the order after what it depends on. */
static int add_module(module_set *set, module_line *line, int depth)
{
    char quoted[HV_QUOTE_SIZE];
    const char *dep = line->deps;
    int rc;

    if (line->state == 2)
        return 0;
    if (line->state == 1 || depth > MODULE_DEPTH_MAX)
        return hv_error_set(HV_E_PARSE, set->dir,
                            "'%s/modules.dep' has a dependency loop through '%s': run depmod "
                            "for that kernel again",
                            set->shown_dir, hv_quote(quoted, sizeof(quoted), line->path));
    if ((rc = check_module_path(set, line->path)) < 0)
        return rc;
    line->state = 1;
    while (*(dep += strspn(dep, " \t\r"))) {
        size_t len = strcspn(dep, " \t\r");
        module_line *needed = find_line_by_path(set, dep, len);
        char quoted_dep[HV_QUOTE_SIZE];

        if (!needed)
            return hv_error_set(HV_E_PARSE, set->dir,
                                "'%s/modules.dep' says '%s' needs '%s' but has no line for it: "
                                "run depmod for that kernel again",
                                set->shown_dir, hv_quote(quoted, sizeof(quoted), line->path),
                                hv_quote_n(quoted_dep, sizeof(quoted_dep), dep, len));
        if ((rc = add_module(set, needed, depth + 1)) < 0)
            return rc;
        dep += len;
    }
    line->state = 2;
    for (size_t i = 0; i < set->order_count; i++)
        if (strcmp(base_name(set->lines[set->order[i]].path), base_name(line->path)) == 0)
            return hv_error_set(HV_E_PARSE, set->dir,
                                "'%s/modules.dep' has two modules named '%s': run depmod for "
                                "that kernel again",
                                set->shown_dir, hv_quote(quoted, sizeof(quoted), line->path));
    if (HV_ARRAY_RESERVE(set->order, set->order_cap, set->order_count + 1) < 0)
        return HV_E_NOMEM;
    set->order[set->order_count++] = (size_t)(line - set->lines);
    return 0;
}

/* Read `dir`/`name` (a list: text, NUL-terminated in *text); a missing optional one is NULL. */
static int read_list(const module_set *set, const char *name, bool optional, uint8_t **text)
{
    char *path = hv_asprintf("%s/%s", set->dir, name);
    struct stat st;
    uint8_t *buf;
    size_t bytes;
    int rc, stat_rc;

    *text = NULL;
    if (!path)
        return HV_E_NOMEM;
    stat_rc = stat(path, &st);
    if (stat_rc < 0 && errno == ENOENT) {
        rc = optional ? 0
                      : hv_error_set(HV_E_NOTFOUND, name,
                                     "the kernel's modules folder '%s' has no %s: give the "
                                     "folder of the guest kernel's modules "
                                     "(/lib/modules/VERSION), or run depmod for it",
                                     set->shown_dir, name);
        free(path);
        return rc;
    }
    /* hv_kvm_guest_file_read() refuses an empty file (and says why it cannot stat one) */
    if (stat_rc == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        free(path);
        *text = hv_calloc(1, 1);
        return *text ? 0 : HV_E_NOMEM;
    }
    rc = hv_kvm_guest_file_read(path, name, MODULE_LIST_MAX_BYTES, &buf, &bytes);
    free(path);
    if (rc < 0)
        return rc;
    if (!(*text = hv_reallocarray(buf, bytes + 1, 1))) {
        free(buf);
        return HV_E_NOMEM;
    }
    (*text)[bytes] = '\0';
    return 0;
}

/* Cut modules.dep into its lines. */
static int parse_dep(module_set *set)
{
    char *line = (char *)set->dep_text;

    while (*line) {
        size_t len = strcspn(line, "\n");
        char *next = line + len + (line[len] == '\n');
        char *colon = memchr(line, ':', len);

        line[len] = '\0';
        if (colon && colon > line) {
            *colon = '\0';
            if (HV_ARRAY_RESERVE(set->lines, set->cap, set->count + 1) < 0)
                return HV_E_NOMEM;
            set->lines[set->count++] = (module_line){line, colon + 1, 0};
        }
        line = next;
    }
    return 0;
}

static void module_set_free(module_set *set)
{
    free(set->dep_text);
    free(set->lines);
    free(set->builtin);
    free(set->order);
}

/* The modules the guest loads from `dir`, in order, into *set (free it with module_set_free). */
static int choose_modules(const char *dir, module_set *set)
{
    int rc;

    memset(set, 0, sizeof(*set));
    set->dir = dir;
    hv_quote(set->shown_dir, sizeof(set->shown_dir), dir);
    if ((rc = read_list(set, "modules.dep", false, &set->dep_text)) < 0 ||
        (rc = read_list(set, "modules.builtin", true, &set->builtin)) < 0 ||
        (rc = parse_dep(set)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(wanted_modules) / sizeof(wanted_modules[0]); i++) {
        const char *name = wanted_modules[i].name;
        module_line *line = find_line_by_name(set, name);

        if (line) {
            if ((rc = add_module(set, line, 0)) < 0)
                return rc;
        } else if (!module_builtin(set, name) && !wanted_modules[i].optional) {
            return hv_error_set(HV_E_NOTFOUND, dir,
                                "the kernel of the modules in '%s' has no module %s, neither in "
                                "modules.dep nor in modules.builtin: the container guest needs "
                                "it; use a kernel that has it",
                                set->shown_dir, name);
        }
    }
    return 0;
}

/* ---- the archive -------------------------------------------------------- */

typedef struct archive {
    uint8_t *bytes;
    size_t length, cap;
    uint32_t next_inode;
} archive;

static int archive_put(archive *a, const void *data, size_t length)
{
    if (HV_ARRAY_RESERVE(a->bytes, a->cap, a->length + length + 4) < 0)
        return HV_E_NOMEM;
    if (length)
        memcpy(a->bytes + a->length, data, length);
    a->length += length;
    while (a->length % 4)
        a->bytes[a->length++] = 0;
    return 0;
}

/* One newc entry: `name` (no leading '/'), `mode` with its type, data, a device's number. */
static int archive_entry(archive *a, const char *name, uint32_t mode, const void *data,
                         size_t length, dev_t rdev)
{
    char header[NEWC_HEADER_BYTES + 1];
    size_t name_bytes = strlen(name) + 1;
    int rc;

    if (length > UINT32_MAX)
        return hv_error_set(HV_E_RANGE, name, "%s is too large for a cpio archive", name);
    snprintf(header, sizeof(header), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             a->next_inode++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned int)length, 0u,
             0u, major(rdev), minor(rdev), (unsigned int)name_bytes, 0u);
    if (HV_ARRAY_RESERVE(a->bytes, a->cap, a->length + NEWC_HEADER_BYTES + name_bytes + 4) < 0)
        return HV_E_NOMEM;
    memcpy(a->bytes + a->length, header, NEWC_HEADER_BYTES);
    a->length += NEWC_HEADER_BYTES;
    if ((rc = archive_put(a, name, name_bytes)) < 0)
        return rc;
    return archive_put(a, data, length);
}

/* The modules' files and /modules.order. */
static int archive_modules(archive *a, const module_set *set)
{
    char *order_text = NULL;
    size_t order_bytes = 0, order_cap = 0;
    int rc = 0;

    for (size_t i = 0; i < set->order_count && rc == 0; i++) {
        const char *path = set->lines[set->order[i]].path, *base = base_name(path);
        char *full = hv_asprintf("%s/%s", set->dir, path);
        char *name = hv_asprintf("lib/modules/%s", base);
        uint8_t *data = NULL;
        size_t bytes = 0, base_bytes = strlen(base);

        if (!full || !name)
            rc = HV_E_NOMEM;
        else
            rc = hv_kvm_guest_file_read(full, "kernel module",
                                        HV_CONTAINER_INITRAMFS_MAX_FILE_BYTES, &data, &bytes);
        if (rc == 0)
            rc = archive_entry(a, name, S_IFREG | 0644, data, bytes, 0);
        if (rc == 0 && HV_ARRAY_RESERVE(order_text, order_cap, order_bytes + base_bytes + 1) < 0)
            rc = HV_E_NOMEM;
        if (rc == 0) {
            memcpy(order_text + order_bytes, base, base_bytes);
            order_text[order_bytes + base_bytes] = '\n';
            order_bytes += base_bytes + 1;
        }
        free(data);
        free(full);
        free(name);
    }
    if (rc == 0)
        rc = archive_entry(a, "modules.order", S_IFREG | 0644, order_text, order_bytes, 0);
    free(order_text);
    return rc;
}

int hv_container_initramfs_build(const char *init_path, const char *modules_dir,
                                 uint8_t **archive_out, size_t *archive_bytes)
{
    static const char *const folders[] = {"dev",     "proc",    "sys", "lower",
                                          "upperfs", "newroot", "lib", "lib/modules"};
    archive a = {NULL, 0, 0, 1};
    module_set set = {0};
    uint8_t *init = NULL;
    size_t init_bytes = 0;
    char quoted[HV_QUOTE_SIZE];
    int rc = 0;

    HV_CHECK_ARG(archive_out, "archive");
    *archive_out = NULL;
    HV_CHECK_ARG(archive_bytes, "archive_bytes");
    *archive_bytes = 0;
    HV_CHECK_ARG(init_path, "init_path");
    if ((rc = hv_kvm_guest_file_read(init_path, "container init",
                                     HV_CONTAINER_INITRAMFS_MAX_FILE_BYTES, &init, &init_bytes)) <
        0)
        return rc;
    if (init_bytes < 4 || memcmp(init, "\177ELF", 4) != 0) {
        free(init);
        return hv_error_set(HV_E_INVAL, "init_path",
                            "the container init '%s' is not an ELF program: give the path of "
                            "hpcvirt-container-init (installed in libexecdir/hpcvirt)",
                            hv_quote(quoted, sizeof(quoted), init_path));
    }
    if (modules_dir)
        rc = choose_modules(modules_dir, &set);
    for (size_t i = 0; rc == 0 && i < sizeof(folders) / sizeof(folders[0]); i++)
        rc = archive_entry(&a, folders[i], S_IFDIR | 0755, NULL, 0, 0);
    if (rc == 0)
        rc = archive_entry(&a, "dev/console", S_IFCHR | 0600, NULL, 0, makedev(5, 1));
    if (rc == 0)
        rc = archive_entry(&a, "init", S_IFREG | 0755, init, init_bytes, 0);
    if (rc == 0)
        rc = archive_modules(&a, &set);
    if (rc == 0)
        rc = archive_entry(&a, "TRAILER!!!", 0, NULL, 0, 0);
    free(init);
    module_set_free(&set);
    if (rc < 0) {
        free(a.bytes);
        return rc;
    }
    *archive_out = a.bytes;
    *archive_bytes = a.length;
    return 0;
}

int hv_container_initramfs_save(const char *output_path, const uint8_t *bytes, size_t length)
{
    char shown[512]; /* output_path, quoted */
    char *tmp;
    size_t done = 0;
    int fd, rc = 0;

    HV_CHECK_ARG(output_path, "output_path");
    HV_CHECK_ARG(bytes, "bytes");
    hv_quote(shown, sizeof(shown), output_path);
    tmp = hv_asprintf("%s.XXXXXX", output_path);
    if (!tmp)
        return HV_E_NOMEM;
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = hv_error_set_errno(HV_E_IO, errno, output_path,
                                "cannot make the container guest's initramfs '%s'", shown);
        free(tmp);
        return rc;
    }
    while (done < length) {
        ssize_t n = write(fd, bytes + done, length - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hv_error_set_errno(HV_E_IO, errno, output_path,
                                    "writing the container guest's initramfs '%s' failed", shown);
            break;
        }
        done += (size_t)n;
    }
    if (rc == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
        rc = hv_error_set_errno(HV_E_IO, errno, output_path,
                                "writing the container guest's initramfs '%s' failed", shown);
    if (close(fd) < 0 && rc == 0)
        rc = hv_error_set_errno(HV_E_IO, errno, output_path,
                                "writing the container guest's initramfs '%s' failed", shown);
    if (rc == 0 && rename(tmp, output_path) < 0)
        rc = hv_error_set_errno(HV_E_IO, errno, output_path,
                                "cannot put the container guest's initramfs in place as '%s'",
                                shown);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int hv_container_initramfs_write(const char *init_path, const char *modules_dir,
                                 const char *output_path)
{
    uint8_t *bytes;
    size_t length;
    int rc;

    HV_CHECK_ARG(output_path, "output_path");
    if ((rc = hv_container_initramfs_build(init_path, modules_dir, &bytes, &length)) < 0)
        return rc;
    rc = hv_container_initramfs_save(output_path, bytes, length);
    free(bytes);
    return rc;
}
