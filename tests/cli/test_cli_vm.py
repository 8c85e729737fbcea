"""The hpcvirt CLI's VM commands: create, list, state, start, pause, resume,
stop, destroy, undefine, suspend, resume-from, snapshot and migrate - their
help, usage errors (64), failures with the library's message (1), plans and
specs rejected (2); libvirt's test driver (in-process: each CLI invocation
sees a fresh one, so only single-command checks run there); and a lifecycle
across separate CLI processes on libvirt's embedded QEMU driver in a private
root, whose QEMU processes are killed whatever happens."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import hpcvirt
import libvirt_embed

CLI = os.environ["HPCVIRT_CLI"]
FIXTURES = Path(os.environ["HV_TEST_FIXTURES"]) / "hosts"
DGX = FIXTURES / "dgx-a100-roce"
TEST_URI = "libvirt:test:///default"

VM_COMMANDS = ["create", "list", "state", "start", "pause", "resume", "stop", "destroy",
               "undefine", "suspend", "resume-from", "snapshot", "migrate"]
SIMPLE = ["start", "pause", "resume", "stop", "destroy", "undefine", "state"]

needs_libvirt = pytest.mark.skipif(
    "libvirt" not in hpcvirt.backends(), reason="hpcvirt was built without libvirt"
)


def run(*args, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.pop("HPCVIRT_DEFAULT_URI", None)
    full_env.update(env or {})
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          env=full_env, timeout=timeout)


def write_spec(directory, doc, name="spec.json"):
    path = Path(directory) / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


# ---- help and usage ------------------------------------------------------------


def test_help_lists_the_vm_commands():
    r = run("--help")
    assert r.returncode == 0
    listed = {line.split()[0] for line in r.stdout.splitlines() if line.startswith("  ")}
    assert set(VM_COMMANDS) <= listed


@pytest.mark.parametrize("command", VM_COMMANDS)
def test_command_help_names_the_default_uri(command):
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    # the one-line summary first, then the usage
    summary, blank, usage = r.stdout.splitlines()[:3]
    assert summary.endswith(".") and blank == "" and usage.startswith(f"Usage: hpcvirt {command} ")
    assert "--uri URI" in r.stdout
    assert "$HPCVIRT_DEFAULT_URI" in r.stdout
    assert run("help", command).stdout == r.stdout


USAGE_ERRORS = [
    (["create"], "expected SPEC.json"),
    (["create", "a.json", "b.json"], "unexpected argument 'b.json'"),
    (["create", "a.json", "--host-root", "x", "--host-json", "y"], "exclude each other"),
    (["create", "a.json", "--backend-options"], "--backend-options needs a value"),
    (["create", "a.json", "--paused"], "unknown option '--paused'"),
    (["list", "extra"], "unexpected argument 'extra'"),
    (["list", "--uri"], "--uri needs a value"),
    (["state"], "expected the VM's NAME"),
    (["start", "a", "b"], "unexpected argument 'b'"),
    (["pause", "a", "--timeout", "3"], "unknown option '--timeout'"),
    (["resume", "--bogus", "a"], "unknown option '--bogus'"),
    (["destroy"], "expected the VM's NAME"),
    (["undefine", "a", "--start"], "unknown option '--start'"),
    (["stop", "a", "--timeout"], "--timeout needs a value"),
    (["stop", "a", "--timeout", "abc"], "--timeout takes a whole number"),
    (["stop", "a", "--timeout", "-1"], "--timeout takes a whole number"),
    (["stop", "a", "--timeout", "99999999999"], "from 0 to"),
    (["suspend", "a"], "expected the VM's NAME and the FILE"),
    (["suspend", "a", "f", "--paused"], "unknown option '--paused'"),
    (["resume-from"], "expected the FILE"),
    (["resume-from", "f", "--keep-running"], "unknown option '--keep-running'"),
    (["migrate", "a"], "expected the VM's NAME and the DEST URI"),
    (["migrate", "a", "b", "--bandwidth", "fast"], "--bandwidth takes a whole number"),
    (["migrate", "a", "b", "--max-downtime", "1.5"], "--max-downtime takes a whole number"),
    (["migrate", "a", "b", "--max-downtime", "4294967296"], "from 0 to 4294967295"),
    (["snapshot", "a"], "expected NAME create|revert|delete SNAPSHOT"),
    (["snapshot", "a", "frob", "s"], "'frob' is not a snapshot action"),
    (["snapshot", "a", "create"], "needs the SNAPSHOT name"),
    (["snapshot", "a", "list", "s"], "takes no snapshot"),
    (["snapshot", "a", "delete", "s", "t"], "unexpected argument 't'"),
]


@pytest.mark.parametrize("args,message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_64(args, message):
    r = run(*args)
    assert r.returncode == 64, r.stdout + r.stderr
    assert message in r.stderr
    assert f"Try 'hpcvirt {args[0]} --help'." in r.stderr
    assert r.stdout == ""


def test_double_dash_ends_options():
    # a VM named "--start": an operand after "--", looked up (and not found)
    r = run("state", "--uri", "nosuch:///", "--", "--start")
    assert r.returncode == 1
    assert "connecting to nosuch:///" in r.stderr


# ---- connections ------------------------------------------------------------------


def test_unknown_uri_fails_with_the_library_message():
    r = run("list", "--uri", "nosuch:///")
    assert r.returncode == 1
    assert r.stderr.startswith("hpcvirt: error: connecting to nosuch:///: ")
    assert r.stderr.rstrip().endswith("[HV_E_NOTFOUND]")


def test_uri_defaults_to_the_environment():
    r = run("list", env={"HPCVIRT_DEFAULT_URI": "nosuch-env:///"})
    assert r.returncode == 1
    assert "connecting to nosuch-env:///" in r.stderr
    # --uri wins over the environment
    r = run("list", "--uri", "nosuch-arg:///", env={"HPCVIRT_DEFAULT_URI": "nosuch-env:///"})
    assert "connecting to nosuch-arg:///" in r.stderr


@needs_libvirt
def test_list_on_the_test_driver_from_the_environment():
    r = run("list", env={"HPCVIRT_DEFAULT_URI": TEST_URI})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["test"]  # the driver's own domain
    r = run("state", "test", "--uri", TEST_URI)
    assert (r.returncode, r.stdout) == (0, "running\n")


@needs_libvirt
@pytest.mark.parametrize("command", SIMPLE)
def test_unknown_vm_fails_with_exit_1(command):
    r = run(command, "no-such-vm", "--uri", TEST_URI)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"hpcvirt: error: {command} no-such-vm: ")
    assert "no VM named 'no-such-vm'" in r.stderr
    assert r.stderr.rstrip().endswith("[HV_E_NOTFOUND]")


@needs_libvirt
def test_unknown_vm_in_other_commands():
    for args in (["suspend", "no-such-vm", "/tmp/x.save"], ["migrate", "no-such-vm", TEST_URI],
                 ["snapshot", "no-such-vm", "list"]):
        r = run(*args, "--uri", TEST_URI)
        assert r.returncode == 1, args
        assert "no VM named 'no-such-vm'" in r.stderr


@needs_libvirt
def test_resume_from_a_missing_file(tmp_path):
    r = run("resume-from", tmp_path / "missing.save", "--uri", TEST_URI)
    assert r.returncode == 1
    assert f"resume-from {tmp_path / 'missing.save'}: libvirt: " in r.stderr


# ---- create -------------------------------------------------------------------------


@needs_libvirt
def test_create_and_start_on_the_test_driver(tmp_path):
    spec = write_spec(tmp_path, {"name": "cli-test-vm", "vcpus": 4, "memory": "2GiB"})
    r = run("create", spec, "--uri", TEST_URI, "--start", "--host-root", DGX)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "cli-test-vm\n"
    # the connection's own host (the driver's capabilities)
    small = write_spec(tmp_path, {"name": "cli-small", "vcpus": 2, "memory": "512MiB"},
                       "small.json")
    r = run("create", small, "--uri", TEST_URI)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "cli-small\n"
    # a host given as JSON
    host_json = tmp_path / "host.json"
    r = run("host", "--root", DGX, "--json")
    assert r.returncode == 0
    host_json.write_text(r.stdout)
    r = run("create", spec, "--uri", TEST_URI, "--host-json", host_json, "--start",
            "--backend-options", "domain_type=qemu")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "cli-test-vm\n"


@needs_libvirt
def test_create_plan_with_errors_exits_2(tmp_path):
    spec = write_spec(tmp_path, {"name": "cli-toolarge", "vcpus": 200, "memory": "4GiB"})
    r = run("create", spec, "--uri", TEST_URI, "--host-root", DGX, "--start")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "plan cli-toolarge: NOT OK" in r.stderr
    assert "  error plan.max.vcpus (at vcpus): 200 vCPUs" in r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("hpcvirt: error: create cli-toolarge: the plan has errors")
    assert "plan.max.vcpus" in last and "(at vcpus)" in last and last.endswith("[HV_E_PLAN]")


def test_create_bad_spec_exits_2(tmp_path):
    bad = write_spec(tmp_path, '{"name": "x", "vcpus": ')
    r = run("create", bad, "--uri", "nosuch:///")
    assert r.returncode == 2
    assert "[HV_E_PARSE]" in r.stderr
    invalid = write_spec(tmp_path, {"name": "x", "vcpus": 0, "memory": "1GiB"}, "invalid.json")
    r = run("create", invalid, "--uri", "nosuch:///")
    assert r.returncode == 2
    assert "[HV_E_SPEC]" in r.stderr
    r = run("create", tmp_path / "missing.json", "--uri", "nosuch:///")
    assert r.returncode == 1
    assert "cannot open" in r.stderr


@needs_libvirt
def test_create_says_what_the_domain_leaves_out(tmp_path):
    # the library logs it as a warning (the libvirt backend's create); the tool prints
    # the library's warnings on stderr, as findings are printed
    spec = write_spec(tmp_path, {"name": "cli-nic", "vcpus": 4, "memory": "2GiB",
                                 "nics": [{"queues": 4, "rss": ["tcp"]}]})
    r = run("create", spec, "--uri", TEST_URI, "--host-root", DGX)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "cli-nic\n"
    lines = [line for line in r.stderr.splitlines() if "xml.nic" in line]
    assert lines == ["  warning xml.nic.user-networking (at nics[0]): without a network the NIC "
                     "has user-mode networking, which has one queue: its 4 queues and RSS are "
                     "left out of the domain XML; name a libvirt network (\"default\", for one) "
                     "to keep them"]
    r = run("create", spec, "--uri", TEST_URI, "--host-root", DGX, "--backend-options",
            "network=default")
    assert r.returncode == 0, r.stderr
    assert "xml.nic" not in r.stderr


@needs_libvirt
def test_create_bad_backend_options_exit_1(tmp_path):
    spec = write_spec(tmp_path, {"name": "cli-opts", "vcpus": 2, "memory": "1GiB"})
    r = run("create", spec, "--uri", TEST_URI, "--host-root", DGX, "--backend-options",
            "nosuch=1")
    assert r.returncode == 1
    assert "no option 'nosuch'" in r.stderr and "(at backend_options)" in r.stderr


# ---- migration -----------------------------------------------------------------------


@needs_libvirt
def test_migrate_refused_by_the_test_driver():
    # the driver's own running domain "test": the driver cannot migrate
    r = run("migrate", "test", TEST_URI, "--uri", TEST_URI, "--bandwidth", "100")
    assert r.returncode == 1
    assert r.stderr.startswith("hpcvirt: error: migrate test: libvirt: migrating the domain")
    assert r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")
    r = run("migrate", "test", TEST_URI, "--uri", TEST_URI, "--max-downtime", "50")
    assert r.returncode == 1
    assert "setting the maximum downtime" in r.stderr


# ---- a real guest under libvirt's embedded QEMU driver, across processes --------------


@pytest.fixture(scope="module")
def embed():
    """(uri, root): a private libvirt root. Whatever QEMU the tests leave
    behind is killed, and the root removed, even when a test fails."""
    reason = libvirt_embed.skip_reason()
    if reason:
        pytest.skip(reason)
    with libvirt_embed.private_root("hv-cliembed.") as root:
        yield f"libvirt:qemu:///embed?root={root}", root


def small_guest(directory, name):
    return write_spec(directory, {"name": name, "vcpus": 1, "memory": "256MiB",
                                  "page_size": "4k"}, f"{name}.json")


def test_lifecycle_across_processes(embed, tmp_path):
    uri, root = embed
    spec = small_guest(root, "cli-life")

    def ok(*args):
        r = run(*args, "--uri", uri)
        assert r.returncode == 0, f"hpcvirt {' '.join(map(str, args))}: {r.stderr}"
        return r.stdout

    def state():
        return ok("state", "cli-life").strip()

    try:
        # software emulation: /dev/kvm is not usable here
        assert ok("create", spec, "--start", "--backend-options", "domain_type=qemu") == \
            "cli-life\n"
        assert ok("list").splitlines() == ["cli-life"]
        assert state() == "running"
        ok("pause", "cli-life")
        assert state() == "paused"
        ok("resume", "cli-life")
        assert state() == "running"
        save = Path(root) / "cli-life.save"
        ok("suspend", "cli-life", save)
        assert save.stat().st_size > 0
        assert state() == "defined"
        assert ok("resume-from", save) == "cli-life\n"
        assert state() == "running"
        assert ok("snapshot", "cli-life", "list") == ""
        r = run("snapshot", "cli-life", "revert", "nope", "--uri", uri)
        assert r.returncode == 1
        assert "cli-life has no snapshot named 'nope'" in r.stderr
        # no guest OS answers the shutdown request: powered off after the timeout
        started = time.monotonic()
        ok("stop", "cli-life", "--timeout", "1")
        assert time.monotonic() - started >= 1
        assert state() == "defined"
        r = run("undefine", "cli-life", "--uri", uri)
        assert r.returncode == 0, r.stderr
        assert ok("list") == ""
        r = run("state", "cli-life", "--uri", uri)
        assert r.returncode == 1 and "no VM named 'cli-life'" in r.stderr
    finally:
        run("destroy", "cli-life", "--uri", uri)
        run("undefine", "cli-life", "--uri", uri)
        libvirt_embed.kill_qemu(root)


def test_migrate_refused_for_a_gpu_passthrough_plan(embed):
    uri, root = embed
    spec = write_spec(root, {"name": "cli-gpu", "vcpus": 4, "memory": "4GiB",
                             "accelerators": [{"pci_address": "0000:07:00.0"}]}, "gpu.json")
    try:
        # planned for the DGX fixture, defined (not started) here
        r = run("create", spec, "--uri", uri, "--host-root", DGX)
        assert r.returncode == 0, r.stderr
        # the verdict is read from the plan kept in the domain's metadata
        r = run("migrate", "cli-gpu", "qemu+ssh://elsewhere/system", "--uri", uri)
        assert r.returncode == 1
        assert "cli-gpu cannot be live-migrated" in r.stderr
        assert "0000:07:00.0 is passed through" in r.stderr
        # libvirt's QEMU driver saves through migration too: no file detour
        assert "suspend it to a file" not in r.stderr
        assert "move it with an offline migration" in r.stderr
        assert "hpcvirt migrate --offline" in r.stderr
        assert r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")
    finally:
        run("undefine", "cli-gpu", "--uri", uri)


# libvirt is still reconnecting to the running QEMU when a fresh process
# destroys it; the kill lands and libvirt reports "not running": still a success
def test_destroy_in_a_fresh_process(embed):
    uri, root = embed
    spec = small_guest(root, "cli-destroy")
    try:
        r = run("create", spec, "--start", "--backend-options", "domain_type=qemu", "--uri", uri)
        assert r.returncode == 0, r.stderr
        r = run("destroy", "cli-destroy", "--uri", uri)
        assert run("state", "cli-destroy", "--uri", uri).stdout == "defined\n"
        assert r.returncode == 0, r.stderr
    finally:
        run("destroy", "cli-destroy", "--uri", uri)
        run("undefine", "cli-destroy", "--uri", uri)
        libvirt_embed.kill_qemu(root)


def test_linked_clones_across_processes(embed):
    """`clone NAME --mode linked`: the shut-off parent's qcow2 disk is the
    backing file of each clone's overlay (made by qemu-img), the clones run."""
    uri, root = embed
    if shutil.which("qemu-img") is None:
        pytest.skip("qemu-img is not installed (package qemu-utils)")
    image = Path(root) / "cli-lparent.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"], check=True)
    spec = write_spec(root, {"name": "cli-lparent", "vcpus": 1, "memory": "128MiB",
                             "page_size": "4k",
                             "disks": [{"path": str(image), "format": "qcow2"}]}, "lp.json")
    names = ["cli-lparent-linked1", "cli-lparent-linked2"]
    try:
        r = run("create", spec, "--backend-options", "domain_type=qemu", "--uri", uri)
        assert r.returncode == 0, r.stderr
        # each with its identity as an SMBIOS OEM string, which QEMU must take
        r = run("clone", "cli-lparent", "-n", "2", "--mode", "linked", "--identity",
                "rank={index}", "--uri", uri)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].startswith("2 linked clones of cli-lparent in ")
        assert lines[1:] == names
        for name in names:
            assert run("state", name, "--uri", uri).stdout == "running\n"
            info = json.loads(subprocess.run(
                ["qemu-img", "info", "-U", "--output=json", Path(root) / f"{name}-vda.qcow2"],
                capture_output=True, text=True, check=True).stdout)
            assert info["backing-filename"] == str(image)
        # QEMU keeps the template from being written while clones read it
        r = run("start", "cli-lparent", "--uri", uri)
        assert r.returncode == 1 and 'Failed to get "write" lock' in r.stderr
        # a parent running again would write the templates: no clones of it then
        for name in names:
            assert run("destroy", name, "--uri", uri).returncode == 0
        r = run("start", "cli-lparent", "--uri", uri)
        assert r.returncode == 0, r.stderr
        # (linked is the mode a libvirt URI gets when none is named)
        r = run("clone", "cli-lparent", "-n", "1", "--uri", uri)
        assert r.returncode == 1
        assert "shut it down" in r.stderr and r.stderr.rstrip().endswith("[HV_E_STATE]")
        # --snapshot: an internal snapshot (hpcvirt's, of a running qcow2 guest) is refused,
        # saying how to take one its clones can use (external ones: test-libvirt-embed.c)
        assert run("snapshot", "cli-lparent", "create", "s1", "--uri", uri).returncode == 0
        r = run("clone", "cli-lparent", "-n", "1", "--snapshot", "s1", "--uri", uri)
        assert r.returncode == 1
        assert "snapshot 's1' of 'cli-lparent' is internal" in r.stderr, r.stderr
        assert "snapshot=external" in r.stderr and r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")
    finally:
        for name in ["cli-lparent", *names]:
            run("destroy", name, "--uri", uri)
            run("undefine", name, "--uri", uri)
        libvirt_embed.kill_qemu(root)
