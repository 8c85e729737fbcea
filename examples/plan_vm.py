"""plan_vm.py - the README's Python example: plan a VM on this machine."""
import sys

import hpcvirt

host = hpcvirt.Host.discover(root=sys.argv[1] if len(sys.argv) > 1 else None)
spec = hpcvirt.VmSpec.from_json('{"name": "demo", "vcpus": 2, "memory": "1GiB"}')
plan = hpcvirt.Plan.create(host, spec)
print(host.cpu_count, "CPUs,", len(host.nodes), "NUMA nodes; plan", "ok" if plan.ok else "has errors")
for node in plan.vnuma_nodes:
    print(f"vNUMA node {node.id}: vCPUs {node.vcpu_list} on host node {node.host_node}")
for finding in plan.findings:
    print(f"{finding.code}: {finding.message}")
