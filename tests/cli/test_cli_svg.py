"""The hpcvirt CLI's pictures: `hpcvirt plan SPEC --svg FILE` and `hpcvirt host
--svg FILE` write SVG that rsvg-convert (librsvg2-bin) renders to a PNG of the
document's size that is not blank - for a 2-node host with a small plan and
for 16 nodes x 8 GPUs. The PNG is read with the standard library only."""
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

CLI = os.environ["HPCVIRT_CLI"]
SRC = Path(os.environ.get("HV_TEST_SRCDIR") or Path(__file__).resolve().parent.parent.parent)
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"])

CASES = {
    "two-nodes": (SRC / "examples/specs/training-8gpu.json", "dgx-a100-roce", 0),
    "16-nodes-8-gpus": (FIXTURES / "specs/gpu-16node-8gpu.json", "gpu-16node-8gpu", 2),
}


def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the row's filter (PNG spec, section 9)
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def render(svg, tmp_path):
    if not shutil.which("rsvg-convert"):
        pytest.skip("rsvg-convert is not installed (Debian: librsvg2-bin)")
    png = tmp_path / (svg.stem + ".png")
    subprocess.run(["rsvg-convert", "--background-color", "white", "-o", png, svg], check=True)
    return png_pixels(png)


def check_picture(svg, tmp_path):
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width, height, bpp, rows = render(svg, tmp_path)
    assert (width, height) == (int(root.get("width")), int(root.get("height")))
    drawn = sum(1 for row in rows for x in range(0, width * bpp, bpp)
                if row[x:x + 3] != b"\xff\xff\xff")
    assert drawn > width * height // 50, f"only {drawn} of {width * height} pixels drawn"
    return width, height


@pytest.mark.parametrize("case", CASES)
def test_plan_svg_renders(case, tmp_path):
    spec, host, status = CASES[case]
    svg = tmp_path / f"plan-{case}.svg"
    r = run("plan", spec, "--host-root", FIXTURES / "hosts" / host, "--svg", svg)
    assert r.returncode == status, r.stderr
    assert "vNUMA node 0" in r.stdout  # the usual view as well
    width, height = check_picture(svg, tmp_path)
    assert width < 2000  # 16 nodes in a grid, not one long row
    assert height < 4000


@pytest.mark.parametrize("host", ["hugepages-2node", "gpu-16node-8gpu"])
def test_host_svg_renders(host, tmp_path):
    svg = tmp_path / f"host-{host}.svg"
    r = run("host", "--root", FIXTURES / "hosts" / host, "--svg", svg)
    assert r.returncode == 0, r.stderr
    assert "NUMA node" in svg.read_text()
    check_picture(svg, tmp_path)


def test_svg_to_stdout_and_errors(tmp_path):
    two = CASES["two-nodes"]
    r = run("plan", two[0], "--host-root", FIXTURES / "hosts" / two[1], "--svg", "-")
    assert r.returncode == 0 and r.stdout.startswith("<?xml"), r.stderr
    ET.fromstring(r.stdout.encode())
    r = run("plan", two[0], "--host-root", FIXTURES / "hosts" / two[1], "--svg", "-", "--json")
    assert r.returncode == 64 and "--svg -" in r.stderr
    r = run("host", "--root", FIXTURES / "hosts" / "hugepages-2node", "--svg")
    assert r.returncode == 64
    r = run("host", "--root", FIXTURES / "hosts" / "hugepages-2node", "--svg",
            tmp_path / "no-such-dir" / "x.svg")
    assert r.returncode == 1 and "cannot create" in r.stderr


@pytest.mark.parametrize("case,picture", [("two-nodes", "plan-training-8gpu.svg"),
                                          ("16-nodes-8-gpus", "plan-gpu-16node-8gpu.svg")])
def test_docs_pictures_are_current(case, picture):
    """The rendered examples under docs/pictures/ are what the CLI draws today."""
    spec, host, status = CASES[case]
    r = run("plan", spec, "--host-root", FIXTURES / "hosts" / host, "--svg", "-")
    assert r.returncode == status, r.stderr
    assert r.stdout == (SRC / "docs" / "pictures" / picture).read_text(), (
        f"docs/pictures/{picture} is stale: rewrite it with hpcvirt plan ... --svg "
        "(docs/pictures.md)")
