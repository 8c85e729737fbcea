/*
 * kvm/guest-file.h - reading a file the guest is made from (a payload, a
 * Linux kernel, an initrd) whole into memory, with errors that name the file
 * and what it is for (internal).
 */
#ifndef HV_KVM_GUEST_FILE_H
#define HV_KVM_GUEST_FILE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Read the regular file `path` into a new buffer (*buf, free() it; *bytes
 * its length). `what` names it in messages ("payload", "kernel") and is the
 * error's path; a file of 0 bytes or more than `max_bytes` is HV_E_RANGE,
 * one that cannot be opened or read HV_E_IO. Nothing is allocated on error.
 */
int hv_kvm_guest_file_read(const char *path, const char *what, uint64_t max_bytes, uint8_t **buf,
                           size_t *bytes);

#endif
