/*
 * tests/kvm/test-disks.c - the built-in engine's disk images (kvm/disks.c),
 * no /dev/kvm needed: an image is checked through the descriptor the VM
 * keeps, so what stands at the path when it is opened is what is checked. A
 * FIFO, a directory or a symlink put where a VM's disk was is refused when
 * the VM resumes (never waited on: opening a FIFO for reading would block
 * until a writer came); the image itself opens and locks, and a guest's own
 * bytes in it (even a qcow2 header) do not stop a resume.
 */
#include "hv-test.h"
#include "kvm/disks.h"
#include "plan/spec.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_BYTES 65536

static char dir[64], image[128];

static int setup(void **state)
{
    int fd;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/hv-disks-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(image, sizeof(image), "%s/disk.raw", dir);
    fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, IMAGE_BYTES) < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    char path[160];

    (void)state;
    unlink(image);
    snprintf(path, sizeof(path), "%s/other", dir);
    unlink(path);
    rmdir(path);
    return rmdir(dir);
}

static hv_spec_disk disk_at(const char *path, bool read_only)
{
    hv_spec_disk d;

    memset(&d, 0, sizeof(d));
    snprintf(d.path, sizeof(d.path), "%s", path);
    d.format = HV_DISK_FORMAT_RAW;
    d.bus = HV_DISK_BUS_VIRTIO;
    d.read_only = read_only;
    return d;
}

/* Resuming a VM whose disk is `path` (IMAGE_BYTES when it was suspended). */
static int reopen(const char *path, bool read_only, hv_kvm_disks *disks)
{
    hv_spec_disk d = disk_at(path, read_only);
    uint64_t bytes = IMAGE_BYTES;

    return hv_kvm_disks_reopen(&d, &bytes, 1, disks);
}

static void test_reopen_the_image(void **state)
{
    hv_kvm_disks disks, other;
    static const char qcow2_magic[] = "QFI\xfb\0\0\0\3";
    int fd;

    (void)state;
    /* the guest wrote a qcow2 header into its raw disk: its bytes, not the host's format */
    fd = open(image, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, qcow2_magic, 8, 0), 8);
    close(fd);
    assert_hv_ok(reopen(image, false, &disks));
    assert_int_equal(disks.count, 1);
    assert_true(disks.disk[0].fd >= 0);
    /* held: another VM cannot take it */
    assert_hv_error(reopen(image, true, &other), HV_E_STATE);
    assert_error_mentions("in use by another VM");
    hv_kvm_disks_close(&disks, false);
    assert_hv_ok(reopen(image, true, &disks));
    hv_kvm_disks_close(&disks, false);
}

static void test_reopen_refuses_what_is_not_an_image(void **state)
{
    char path[160];
    hv_kvm_disks disks;

    (void)state;
    snprintf(path, sizeof(path), "%s/other", dir);
    /* a FIFO: refused at once, for writing and for reading */
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_hv_error(reopen(path, false, &disks), HV_E_UNSUPPORTED);
    assert_error_mentions("is not a regular file");
    assert_hv_error(reopen(path, true, &disks), HV_E_UNSUPPORTED);
    assert_error_mentions("is not a regular file");
    unlink(path);
    /* a symlink to the image: not followed */
    assert_int_equal(symlink(image, path), 0);
    assert_hv_error(reopen(path, true, &disks), HV_E_IO);
    assert_error_mentions("cannot open the image");
    unlink(path);
    /* a directory */
    assert_int_equal(mkdir(path, 0700), 0);
    assert_hv_error(reopen(path, true, &disks), HV_E_UNSUPPORTED);
    assert_error_mentions("is not a regular file");
    rmdir(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_the_image),
        cmocka_unit_test(test_reopen_refuses_what_is_not_an_image),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
