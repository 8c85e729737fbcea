"""The man pages hpcvirt(1) and hpcvirt-spec(5), built by scdoc: they render
with man -l without a warning, hpcvirt(1) has a section for every command
`hpcvirt --help` lists (and no other) naming every option the command's
--help names (and the command accepts), and hpcvirt-spec(5) names every key
of a spec."""
import json
import os
import re
import shutil
import subprocess

import pytest

import hpcvirt
from hv_cli_options import commands, documented_options

MANDIR = os.environ.get("HV_TEST_MANDIR", "")
PAGES = ["hpcvirt.1", "hpcvirt-spec.5"]

pytestmark = [
    pytest.mark.skipif(not MANDIR, reason="the man pages are not built (no scdoc; -Dman=enabled)"),
    pytest.mark.skipif(shutil.which("man") is None, reason="no man (Debian package man-db)"),
]


def render(page, width):
    env = {**os.environ, "LC_ALL": "C.UTF-8", "MANWIDTH": str(width), "MANPAGER": "cat",
           "PAGER": "cat"}
    env.pop("MAN_KEEP_FORMATTING", None)  # plain text, no overstriking
    r = subprocess.run(["man", "--warnings=all", "-l", os.path.join(MANDIR, page)],
                       capture_output=True, text=True, env=env, check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", f"{page} renders with warnings:\n{r.stderr}"
    return r.stdout


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("width", [80, 200])
def test_page_renders_without_warnings(page, width):
    text = render(page, width)
    name, section = page.rsplit(".", 1)
    assert text.startswith(f"{name}({section})")
    assert "\nNAME\n" in text and "\nSEE ALSO\n" in text


def sections(text):
    """{heading: body} of the subsections (.SS) under COMMANDS."""
    body = text.split("\nCOMMANDS\n", 1)[1]
    body = re.split(r"\n[A-Z][A-Z ]+\n", body, maxsplit=1)[0]
    parts = re.split(r"^   (\S[^\n]*)\n", body, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_a_section_per_command():
    # wide: no option is hyphenated across lines
    found = list(sections(render("hpcvirt.1", 1000)))
    assert found == list(commands()), "hpcvirt(1)'s COMMANDS and `hpcvirt --help` differ"


def test_each_section_names_its_options():
    found = sections(render("hpcvirt.1", 1000))
    missing = []
    for command, options in documented_options().items():
        words = set(re.findall(r"(?<![\w-])-{1,2}[a-z][a-z0-9-]*", found.get(command, "")))
        missing += [f"{command} {o}" for o in sorted(options - words)]
    assert not missing, "hpcvirt(1) does not describe: " + ", ".join(missing)


def spec_keys():
    """Every key of a spec, as the library writes a spec back (canonical form)."""
    keys = set()
    for doc in [
        {"vcpus": 1, "memory": "1GiB", "vnuma": [{"vcpus": 1, "memory": "1GiB"}],
         "accelerators": [{"model": "t4"}], "nics": [{}], "rdma": [{}],
         "disks": [{"path": "/srv/a.img"}],
         "boot": {"kernel": "/srv/vmlinuz", "initrd": "/srv/initrd.img", "cmdline": "quiet"}},
        {"vcpus": 1, "memory": "1GiB",
         "accelerators": [{"pci_address": "0000:17:00.0", "mode": "vgpu", "mdev_type": "nvidia-1156"}]},
    ]:
        def walk(value):
            if isinstance(value, dict):
                keys.update(value)
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(json.loads(hpcvirt.VmSpec.from_json(json.dumps(doc)).to_json()))
    return keys


def test_spec_page_names_every_key():
    text = render("hpcvirt-spec.5", 1000)
    headings = set(re.findall(r"^ +([a-z_]+) \(", text, flags=re.M))
    assert spec_keys() - headings == set(), "hpcvirt-spec(5) does not describe these keys"


def test_spec_page_example_is_a_spec():
    text = render("hpcvirt-spec.5", 1000)
    example = text.split("\nEXAMPLE\n", 1)[1].split("\n\n", 1)[0]
    spec = hpcvirt.VmSpec.from_json(example)
    assert json.loads(spec.to_json())["name"] == "mpi-node"
