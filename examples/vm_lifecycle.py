"""The README's VM example: a VM's lifecycle on libvirt's in-process test driver."""
import hpcvirt

with hpcvirt.Connection("libvirt:test:///default") as conn:
    plan = hpcvirt.Plan.create(conn.host(), {"name": "demo", "vcpus": 2, "memory": "1GiB"})
    vm = conn.create(plan, start=True)
    vm.pause(); vm.resume(); print(vm.state)     # running
    vm.destroy(); vm.undefine()
