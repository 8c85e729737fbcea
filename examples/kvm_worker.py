"""The README's engine example: the worker payload on the built-in KVM engine
(needs /dev/kvm and the guest payloads, built into build/guest).

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/kvm_worker.py [build/guest/worker.elf]
"""
import argparse

import hpcvirt

parser = argparse.ArgumentParser(description="Run the worker guest payload on kvm:/// and "
                                             "print its console, exit code and port exits.")
parser.add_argument("payload", nargs="?", default="build/guest/worker.elf",
                    help="the guest payload (default: %(default)s)")
args = parser.parse_args()

try:
    with hpcvirt.Connection("kvm:///") as conn:
        plan = hpcvirt.Plan.create(conn.host(), {"name": "w", "vcpus": 1, "memory": "256MiB"})
        with conn.create(plan, start=True, payload=args.payload,
                         console=lambda data: print(data.decode(), end="")) as vm:
            print("exit code", vm.wait(), vm.stats()["exits_io"], "port exits")
except hpcvirt.Error as err:  # NoKvm without /dev/kvm, NotFound for a missing payload, ...
    parser.exit(1, f"{parser.prog}: {err.name}: {err}\n")
