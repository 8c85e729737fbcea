"""The README's engine example: the worker payload on the built-in KVM engine.

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/kvm_worker.py [build/guest/worker.elf]
"""
import sys

import hpcvirt

worker = sys.argv[1] if len(sys.argv) > 1 else "build/guest/worker.elf"
with hpcvirt.Connection("kvm:///") as conn:
    plan = hpcvirt.Plan.create(conn.host(), {"name": "w", "vcpus": 1, "memory": "256MiB"})
    vm = conn.create(plan, start=True, payload=worker,
                     console=lambda data: print(data.decode(), end=""))
    print("exit code", vm.wait(), vm.stats()["exits_io"], "port exits")
