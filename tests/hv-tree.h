/*
 * tests/hv-tree.h - building small sysfs-like trees in a temporary directory
 * for discovery tests: each entry is a file with content, or a symlink when
 * `link` is set. hv_tree_remove() deletes the tree.
 */
#ifndef HV_TEST_TREE_H
#define HV_TEST_TREE_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct hv_tree_entry {
    const char *path;
    const char *content; /* NULL with link set: a symlink */
    const char *link;
} hv_tree_entry;

static inline void hv_tree_mkdirs(const char *path)
{
    char buf[PATH_MAX * 2];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
}

/* Create the entries under a new temporary directory; returns its path (static). */
static inline const char *hv_tree_create(const hv_tree_entry *entries, size_t count)
{
    static char root[PATH_MAX];
    char path[PATH_MAX * 2];

    snprintf(root, sizeof(root), "/tmp/hv-tree-XXXXXX");
    if (!mkdtemp(root))
        return NULL;
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof(path), "%s/%s", root, entries[i].path);
        hv_tree_mkdirs(path);
        if (entries[i].link) {
            if (symlink(entries[i].link, path) < 0)
                return NULL;
        } else {
            FILE *f = fopen(path, "w");
            if (!f)
                return NULL;
            fputs(entries[i].content ? entries[i].content : "", f);
            fclose(f);
        }
    }
    return root;
}

static inline int hv_tree_rm_entry(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void hv_tree_remove(const char *root)
{
    if (root && strncmp(root, "/tmp/hv-tree-", 13) == 0)
        nftw(root, hv_tree_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define HV_TREE_CREATE(entries) hv_tree_create((entries), sizeof(entries) / sizeof((entries)[0]))

#endif
