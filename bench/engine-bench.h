/*
 * bench/engine-bench.h - what the built-in engine's benchmarks share
 * (engine-bench.c): the host and connection, planning, a running guest,
 * clocks. A benchmark prints figures; it is not a pass/fail test.
 */
#ifndef HV_ENGINE_BENCH_H
#define HV_ENGINE_BENCH_H

#include <stdint.h>
#include <hpcvirt/hpcvirt.h>

extern hv_host *bench_host;
extern hv_conn *bench_conn;

/*
 * Where /dev/kvm is: discover the host, open kvm:/// and remember where the
 * payloads are; 0. Without /dev/kvm: say so as `name` and return 1 (the
 * benchmark then exits 0, having nothing to measure).
 */
int bench_setup(const char *name, const char *guest_dir);
void bench_teardown(void);
/* Print what failed with the library's message and exit 1. */
void bench_die(const char *what);
uint64_t bench_now_ns(void);
int bench_compare_u64(const void *a, const void *b);
/* A plan of 1 vCPU and `memory` ("1GiB") on 4 KiB pages. */
hv_plan *bench_plan(const char *name, const char *memory);
/* GUEST_DIR/NAME.elf, a payload (a static buffer, good until the next call). */
const char *bench_payload(const char *name);
/* A running VM of payload `payload_name` once its vCPU 0 wrote progress `marker`. */
hv_vm *bench_running(const char *name, const char *memory, const char *payload_name,
                     uint32_t marker, hv_plan **plan);
/* Power off, undefine and free. */
void bench_drop(hv_vm *vm);

#endif
