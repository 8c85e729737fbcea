#!/usr/bin/python3
"""bench/bench-plan-python.py - what planning through the Python binding costs
over the C call: hpcvirt.Plan.create(host, spec) on a Host and VmSpec built
beforehand, against hv_plan_create() + hv_plan_free() called directly (through
cffi, on the same library handle) in the same run, batches of each taken in
turn. Prints the median time per plan of each, the binding's overhead (their
difference) and the ratio; then the same with the plan's verdict read
(`plan.ok`) and with every fact copied out (a full walk of the plan).

usage: bench-plan-python.py [--plans N] [--max-overhead-us US]
  (run from the source root with PYTHONPATH=<build>/bindings/python; meson:
   `meson test -C build --benchmark bench-plan-python`)
--max-overhead-us: exit 1 when the overhead of a bare Plan.create() is larger.
"""
import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import hpcvirt
from hpcvirt import ffi, lib

SRC = os.environ.get("HV_TEST_SRCDIR") or os.path.join(os.path.dirname(__file__), "..")
HOSTS = os.path.join(SRC, "tests", "fixtures", "hosts")

CASES: Tuple[Tuple[str, str, Dict[str, Any]], ...] = (
    # the README's example, and bench-plan.c's spec on its 576-CPU host
    ("2 vCPUs, 1 GiB on dgx-a100-roce", "dgx-a100-roce",
     dict(name="demo", vcpus=2, memory="1GiB")),
    ("128 vCPUs, 8 x A100, pvrdma, 1 NIC on vsphere-max", "vsphere-max",
     dict(name="bench", vcpus=128, memory=512 << 30,
          accelerators=[{"model": "a100-sxm4-80gb", "count": 8}], rdma=[{}],
          nics=[{"queues": 16, "rss": ("tcp", "udp")}])),
)


def c_plans(host: hpcvirt.Host, spec: hpcvirt.VmSpec, n: int) -> int:
    """n plans through the C API directly (what a C caller pays, plus cffi's call)."""
    create, free, null = lib.hv_plan_create, lib.hv_plan_free, ffi.NULL
    h, s = host._h, spec._h
    out = ffi.new("hv_plan **")
    t0 = time.perf_counter_ns()
    for _ in range(n):
        if create(h, s, null, out) < 0:
            raise hpcvirt.errors.last_error()
        free(out[0])
    return time.perf_counter_ns() - t0


def py_plans(host: hpcvirt.Host, spec: hpcvirt.VmSpec, n: int) -> int:
    create = hpcvirt.Plan.create
    t0 = time.perf_counter_ns()
    for _ in range(n):
        create(host, spec)
    return time.perf_counter_ns() - t0


def py_plans_ok(host: hpcvirt.Host, spec: hpcvirt.VmSpec, n: int) -> int:
    create = hpcvirt.Plan.create
    t0 = time.perf_counter_ns()
    for _ in range(n):
        create(host, spec).ok  # pylint: disable=expression-not-assigned
    return time.perf_counter_ns() - t0


def walk(plan: hpcvirt.Plan) -> Tuple[object, ...]:
    """Every fact of the plan, as a user reading all of it would."""
    return (plan.ok, plan.name, plan.profile, plan.findings, plan.firmware, plan.vcpus,
            plan.memory_bytes, plan.sockets, plan.cores_per_socket, plan.threads_per_core,
            plan.cpu_placement, plan.vnuma_nodes, plan.distances, plan.emulator_cpus,
            plan.vcpu_pins, plan.mmio, plan.devices, plan.live_migratable,
            plan.migration_reasons)


def py_plans_walked(host: hpcvirt.Host, spec: hpcvirt.VmSpec, n: int) -> int:
    create = hpcvirt.Plan.create
    t0 = time.perf_counter_ns()
    for _ in range(n):
        walk(create(host, spec))
    return time.perf_counter_ns() - t0


def measure(host: hpcvirt.Host, spec: hpcvirt.VmSpec, plans: int, batch: int,
            *variants: Callable[[hpcvirt.Host, hpcvirt.VmSpec, int], int]) -> List[float]:
    """Median ns per plan of each variant, batches taken in turn (so that a
    slower stretch of a busy machine hits them all)."""
    for fn in variants:  # warm up
        fn(host, spec, batch)
    per_plan: List[List[float]] = [[] for _ in variants]
    for _ in range(max(1, plans // batch)):
        for i, fn in enumerate(variants):
            per_plan[i].append(fn(host, spec, batch) / batch)
    return [statistics.median(t) for t in per_plan]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=50000,
                        help="plans of each kind per case (default 50000)")
    parser.add_argument("--max-overhead-us", type=float, default=None,
                        help="fail when a bare Plan.create() costs more than this over C")
    args = parser.parse_args()
    batch = max(1, min(500, args.plans // 20))
    gc.disable()  # plans are freed by reference counting; no cycles to collect
    worst = 0.0
    print(f"hpcvirt {hpcvirt.version()}, Python {sys.version.split()[0]}: "
          f"median per plan over {max(1, args.plans // batch)} batches of {batch}")
    for title, fixture, kwargs in CASES:
        host = hpcvirt.Host.discover(root=os.path.join(HOSTS, fixture))
        spec = hpcvirt.VmSpec(**kwargs)
        c_ns, py_ns, ok_ns, walk_ns = measure(host, spec, args.plans, batch, c_plans,
                                              py_plans, py_plans_ok, py_plans_walked)
        print(f"{title}:")
        print(f"  C hv_plan_create + free     {c_ns / 1e3:8.2f} us")
        for name, ns in (("Plan.create", py_ns), ("Plan.create + .ok", ok_ns),
                         ("Plan.create + every fact", walk_ns)):
            print(f"  {name:<27} {ns / 1e3:8.2f} us  = {ns / c_ns:5.2f} x C, "
                  f"overhead {(ns - c_ns) / 1e3:+7.2f} us")
        worst = max(worst, (py_ns - c_ns) / 1e3)
    if args.max_overhead_us is not None and worst > args.max_overhead_us:
        print(f"FAIL: Plan.create() costs {worst:.2f} us over the C call "
              f"(at most {args.max_overhead_us} us)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
