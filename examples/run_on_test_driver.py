"""Plan an example spec on a fixture host and run it under libvirt's
in-process test driver: define, start, pause and resume, a snapshot,
suspend to a file and resume from it, managed save, a live migration the
plan refuses (or the driver cannot do), then power off and undefine.

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/run_on_test_driver.py \
        examples/specs/vgpu-workstation.json tests/fixtures/hosts/hugepages-2node
"""
import argparse
import os
import tempfile

import hpcvirt

parser = argparse.ArgumentParser(
    description="Plan a spec on a captured host and run it under libvirt's test driver.")
parser.add_argument("spec", metavar="SPEC.json", help="a VM spec, e.g. "
                    "examples/specs/vgpu-workstation.json")
parser.add_argument("host_root", metavar="HOST_ROOT", help="a captured host tree, e.g. "
                    "tests/fixtures/hosts/hugepages-2node")
args = parser.parse_args()

try:
    host = hpcvirt.Host.discover(root=args.host_root)
    plan = hpcvirt.Plan.create(host, hpcvirt.VmSpec.from_file(args.spec))
except (hpcvirt.Error, OSError) as err:  # a missing file, a bad spec or host tree
    parser.exit(1, f"{parser.prog}: {err}\n")
print(f"plan {plan.name}: {'ok' if plan.ok else 'has errors'}, "
      f"live migration {'allowed' if plan.live_migratable else 'refused'}")

with hpcvirt.Connection("libvirt:test:///default") as conn, \
        tempfile.TemporaryDirectory() as tmp:
    vm = conn.create(plan, start=True)
    print(f"created and started {vm.name}: {vm.state}")
    vm.pause()
    print(f"paused: {vm.state}")
    vm.resume()
    vm.snapshot_create("before-save")
    print(f"snapshots: {vm.snapshot_list()}")
    save = os.path.join(tmp, "vm.save")
    vm.suspend(save)
    print(f"suspended to a file ({os.path.getsize(save)} bytes): {vm.state}")
    vm = conn.resume_from(save)
    print(f"resumed from it: {vm.state}")
    vm.managed_save()
    print(f"managed save: {vm.state}, image kept: {vm.has_managed_save}")
    vm.start()
    try:
        vm.migrate("qemu+ssh://other-host/system")
    except hpcvirt.Error as exc:
        print(f"migration refused ({exc.name}): {exc.message}")
    vm.destroy()
    vm.snapshot_delete("before-save")
    vm.undefine()
    print(f"destroyed and undefined; VMs left: {conn.list_vms()} (the test driver's own)")
