"""Python bindings: pictures of plans and hosts (Plan.to_svg, Host.to_svg) are
well-formed SVG documents that name what they draw, the same bytes the C
library (and so `hpcvirt plan --svg -`) writes."""
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from hpcvirt import Host, Plan

SRC = Path(
    os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent.parent
)
FIXTURES = Path(os.environ.get("HV_TEST_FIXTURES") or SRC / "tests" / "fixtures") / "hosts"
CLI = os.environ.get("HPCVIRT_CLI")
SVG = "{http://www.w3.org/2000/svg}"


def text_of(svg):
    root = ET.fromstring(svg.encode())
    assert root.tag == SVG + "svg"
    return root, "".join(root.itertext())


def test_plan_picture():
    host = Host.discover(root=str(FIXTURES / "dgx-a100-roce"))
    spec = json.loads((SRC / "examples" / "specs" / "training-8gpu.json").read_text())
    svg = Plan.create(host, spec).to_svg()
    root, text = text_of(svg)
    assert int(root.get("width")) > 800 and int(root.get("height")) > 600
    for label in ("plan train-8gpu", "host node 1", "vNUMA node 1", "0000:bd:00.0",
                  "64-bit PCI window"):
        assert label in text
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    assert {"vm", "host-node-0", "host-node-1", "vnode-0", "vnode-1", "mmio"} <= ids
    if CLI:
        by_cli = subprocess.run(
            [CLI, "plan", SRC / "examples" / "specs" / "training-8gpu.json", "--host-root",
             FIXTURES / "dgx-a100-roce", "--svg", "-"], capture_output=True, check=True)
        assert by_cli.stdout.decode() == svg


def test_host_picture():
    svg = Host.discover(root=str(FIXTURES / "hugepages-2node")).to_svg()
    root, text = text_of(svg)
    for label in ("NUMA node 0", "NUMA node 1", "NVIDIA L40S", "NUMA distances"):
        assert label in text
    assert svg == Host.discover(root=str(FIXTURES / "hugepages-2node")).to_svg()  # deterministic
