"""The README's VM example: a VM's lifecycle, by default on libvirt's
in-process test driver (nothing real is started).

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/vm_lifecycle.py [--uri URI]
"""
import argparse

import hpcvirt

parser = argparse.ArgumentParser(description="Create, start, pause, resume, destroy and "
                                             "undefine a VM.")
parser.add_argument("--uri", default="libvirt:test:///default",
                    help="the backend (default: %(default)s)")
args = parser.parse_args()

with hpcvirt.Connection(args.uri) as conn:
    plan = hpcvirt.Plan.create(conn.host(), {"name": "demo", "vcpus": 2, "memory": "1GiB"})
    with conn.create(plan, start=True) as vm:  # the handle is released after the block
        vm.pause(); vm.resume(); print(vm.state)     # running
        vm.destroy(); vm.undefine()
