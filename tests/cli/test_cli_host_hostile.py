"""`hpcvirt host` on hostile trees (issue 12, items 3 and 4): a link in the tree
to a file outside it must not make the CLI read or print that file, and a FIFO
where a file belongs must not make it hang."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLI = os.environ["HPCVIRT_CLI"]
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
SECRET = "hunter2:$6$not-for-your-eyes$0123456789abcdef:19000:0:99999:7:::"
CPULIST = "sys/devices/system/node/node0/cpulist"
TIMEOUT = 30  # seconds; the CLI answers a hostile tree in well under one


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False,
                          timeout=TIMEOUT)


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def tree(tmp_path):
    """A writable copy of a fixture host (`cp -a`: its links stay links)."""
    root = tmp_path / "root"
    shutil.copytree(FIXTURES / "hugepages-2node", root, symlinks=True)
    return root


def replace(path, make):
    path.unlink()
    make(path)


def assert_not_leaked(result):
    for stream in (result.stdout, result.stderr):
        assert "hunter2" not in stream and "not-for-your-eyes" not in stream, stream


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_link_to_a_file_outside_the_root_is_not_read(tree, secret, form):
    # the reproduction, with a secret of our own instead of /etc/shadow
    target = str(secret) if form == "absolute" else "../" * 40 + str(secret).lstrip("/")
    replace(tree / CPULIST, lambda p: p.symlink_to(target))
    for args in (["--json"], []):
        result = run("host", "--root", str(tree), *args)
        assert result.returncode == 0, result.stderr
        assert_not_leaked(result)
    doc = json.loads(run("host", "--root", str(tree), "--json").stdout)
    (finding,) = [f for f in doc["findings"] if f["code"] == "host.numa.cpulist"]
    assert finding["path"] == CPULIST
    assert "symbolic link to nothing in the host tree" in finding["message"]


@pytest.mark.parametrize("rel", ["proc/cpuinfo", CPULIST, "sys/devices/system/node/online"])
def test_fifo_in_the_tree_does_not_hang(tree, rel):
    replace(tree / rel, os.mkfifo)
    result = run("host", "--root", str(tree), "--json")  # TimeoutExpired fails the test
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert any(f["path"] == rel and "FIFO" in f["message"] for f in doc["findings"]), doc


def test_links_inside_the_root_still_work(tree):
    # an absolute link reads as a chroot sees it: relative to the root
    (tree / "data").mkdir()
    shutil.move(tree / "proc/meminfo", tree / "data/meminfo")
    (tree / "proc/meminfo").symlink_to("/data/meminfo")
    got = json.loads(run("host", "--root", str(tree), "--json").stdout)
    want = json.loads(run("host", "--root", str(FIXTURES / "hugepages-2node"), "--json").stdout)
    for doc in (got, want):
        del doc["root"]
    assert got == want
