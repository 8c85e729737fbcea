"""plan_vm.py - the README's Python example: plan a VM on this machine (or a
captured host tree) and print its vNUMA layout and findings.

    PYTHONPATH=build/bindings/python /usr/bin/python3 examples/plan_vm.py [HOST_ROOT]
"""
import argparse

import hpcvirt

parser = argparse.ArgumentParser(description="Plan a 2-vCPU, 1 GiB VM on a host.")
parser.add_argument("root", nargs="?", metavar="HOST_ROOT",
                    help="a captured host tree, e.g. tests/fixtures/hosts/dgx-a100-roce "
                         "(default: this machine)")
args = parser.parse_args()

try:
    host = hpcvirt.Host.discover(root=args.root)
except hpcvirt.Error as err:  # NotFound for a root that is not a host tree, ...
    parser.exit(1, f"{parser.prog}: {err}\n")
spec = hpcvirt.VmSpec.from_json('{"name": "demo", "vcpus": 2, "memory": "1GiB"}')
plan = hpcvirt.Plan.create(host, spec)
print(host.cpu_count, "CPUs,", len(host.nodes), "NUMA nodes; plan", "ok" if plan.ok else "has errors")
for node in plan.vnuma_nodes:
    print(f"vNUMA node {node.id}: vCPUs {node.vcpu_list} on host node {node.host_node}")
for finding in plan.findings:
    print(f"{finding.code}: {finding.message}")
