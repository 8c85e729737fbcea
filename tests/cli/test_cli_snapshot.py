"""Snapshot files of the built-in engine from the command line, across
processes: `hpcvirt run --suspend-after S --snapshot FILE` stops a guest
mid-way in one process, `hpcvirt resume FILE` finishes it in another with
the checksums of an uninterrupted run (twice from one file, lazy and
eager), `hpcvirt clone FILE -n COUNT` makes clones (instant, full, cold)
and with --wait reports how they ended; corrupted files and usage errors.
The runs are skipped where there is no /dev/kvm; the usage checks run
everywhere."""
import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import hv_pytest_plugin

CLI = os.environ["HPCVIRT_CLI"]
GUEST = os.environ.get("HV_TEST_GUEST_DIR", "")

needs_kvm = hv_pytest_plugin.needs_kvm("clone-probe")

# The worker's last words for vCPU 0: the checksums of its kernels, the same in every
# run of the same VM.
CHECKSUM = re.compile(r"vcpu 0: memory 0x[0-9a-f]{16} compute 0x[0-9a-f]{16}")


def hpcvirt(*args, timeout=180, **kw):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    if "stderr" not in kw:
        kw["capture_output"] = True
    return subprocess.run([CLI, *map(str, args)], text=True, check=False, timeout=timeout,
                          env=env, **kw)


def payload(name):
    return os.path.join(GUEST, name + ".elf")


def suspend(name, path, after, *extra):
    """`hpcvirt run` of payload `name`, suspended to `path` after `after` seconds; its stdout."""
    r = hpcvirt("run", payload(name), *extra, "--suspend-after", after, "--snapshot", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"hpcvirt: {name} suspended to {path}" in r.stderr, \
        f"{name} was not suspended (it ended first?): {r.stdout}{r.stderr}"
    assert path.stat().st_size > 0
    return r.stdout


def spec(directory, name, memory="64MiB", page_size="4k"):
    """A spec file for `hpcvirt run --spec`: the tests that make many clones plan 4 KiB
    pages (a copy-on-write view of hugetlb memory reserves its whole size in the pool)."""
    path = directory / f"{name}-{page_size}.json"
    path.write_text(json.dumps({"name": name, "vcpus": 1, "memory": memory,
                                "page_size": page_size}))
    return path


@pytest.fixture(scope="module")
def reference():
    """The worker's checksum line from an uninterrupted `hpcvirt run`."""
    r = hpcvirt("run", payload("worker"), "--memory", "256MiB")
    assert r.returncode == 0, r.stderr
    lines = CHECKSUM.findall(r.stdout)
    assert len(lines) == 1 and "worker done" in r.stdout
    return lines[0]


@pytest.fixture(scope="module")
def worker_snapshot(tmp_path_factory):
    """A worker suspended mid-way by one process (it takes about a second)."""
    directory = tmp_path_factory.mktemp("snap")
    path = directory / "worker.snap"
    before = suspend("worker", path, "0.3", "--spec", spec(directory, "worker", "256MiB"))
    # it must really have stopped mid-way: a worker that finished first proves nothing
    assert "memory buffer" in before
    assert "worker done" not in before and not CHECKSUM.search(before), \
        f"the worker finished before --suspend-after 0.3: {before!r}"
    return path


@pytest.fixture(scope="module")
def probe_snapshot(tmp_path_factory):
    """clone-probe suspended while it waits to be cloned (after its progress marker 1)."""
    directory = tmp_path_factory.mktemp("snap")
    path = directory / "probe.snap"
    before = suspend("clone-probe", path, "0.2", "--spec", spec(directory, "clone-probe"))
    assert "waiting to be cloned" in before and "foreign words" not in before, before
    return path


# ---- resume FILE ---------------------------------------------------------------------


@needs_kvm
def test_resume_in_another_process_finishes_the_run(worker_snapshot, reference):
    r = hpcvirt("resume", worker_snapshot)
    assert r.returncode == 0, r.stderr
    assert "worker done" in r.stdout
    assert CHECKSUM.findall(r.stdout) == [reference]
    assert "memory buffer" not in r.stdout  # only the output that came after the resume
    assert "hpcvirt: worker exited with code 0" in r.stderr


@needs_kvm
def test_one_file_resumed_twice_gives_the_same_checksums(worker_snapshot, reference):
    # two processes at once, lazy and eager, named
    procs = [subprocess.Popen([CLI, "resume", str(worker_snapshot), *extra], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for extra in ([], ["--eager", "--name", "second", "--stats", "--timeout", "60"])]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    for rc, out, err in results:
        assert rc == 0, err
        assert CHECKSUM.findall(out) == [reference] and out.count("worker done") == 1
    assert "worker exited with code 0" in results[0][2]
    assert "second exited with code 0" in results[1][2]
    assert "statistics: exits=" in results[1][2] and "progress=6" in results[1][2]


@needs_kvm
def test_resume_paused_only_checks_the_file(worker_snapshot):
    r = hpcvirt("resume", worker_snapshot, "--paused", "--name", "checked")
    assert (r.returncode, r.stdout) == (0, "checked\n"), r.stderr
    r = hpcvirt("resume-from", worker_snapshot, "--eager")
    assert (r.returncode, r.stdout) == (0, "worker\n"), r.stderr


@needs_kvm
def test_run_that_ends_before_the_suspension(tmp_path):
    path = tmp_path / "never.snap"
    r = hpcvirt("run", payload("exit-code"), "--suspend-after", "30", "--snapshot", path)
    assert r.returncode == 3, r.stderr
    assert "exit-code exited with code 42" in r.stderr
    assert f"{path} was not written" in r.stderr
    assert not path.exists()


@needs_kvm
def test_corrupted_snapshots_exit_1(worker_snapshot, probe_snapshot, tmp_path):
    truncated = tmp_path / "truncated.snap"
    with open(probe_snapshot, "rb") as src:
        truncated.write_bytes(src.read(100000))
    header = tmp_path / "header.snap"
    shutil.copyfile(probe_snapshot, header)
    with open(header, "r+b") as f:
        f.seek(200)
        f.write(b"XXXX")
    foreign = tmp_path / "foreign.snap"
    foreign.write_text("not a snapshot\n" * 1000)
    for path, why in ((truncated, "truncated"), (header, "corrupted"),
                      (foreign, "not an hpcvirt snapshot")):
        for args in (["resume", path], ["clone", path, "-n", "2"]):
            r = hpcvirt(*args)
            assert r.returncode == 1, (args, r.stderr)
            assert r.stderr.startswith(f"hpcvirt: error: {args[0]} {path}: "), r.stderr
            assert why in r.stderr and r.stderr.rstrip().endswith("[HV_E_SNAPSHOT]"), r.stderr
            assert r.stdout == ""
    # a path that names no file is still taken for a snapshot
    r = hpcvirt("resume", tmp_path / "missing.snap")
    assert r.returncode == 1 and "[HV_E_NOTFOUND]" in r.stderr
    # an operand that is not a file is a VM name: none lives in a fresh process
    r = hpcvirt("resume", "no-such-vm")
    assert r.returncode == 1
    assert "no VM named 'no-such-vm'" in r.stderr and "[HV_E_NOTFOUND]" in r.stderr


# ---- clone --------------------------------------------------------------------------


CLONED = re.compile(r"^(\d+) (instant|full|cold) clones of ([\w-]+) in [\d.]+ ms "
                    r"\([\d.]+ ms each\)$", re.M)


@needs_kvm
@pytest.mark.parametrize("mode", ["instant", "full"])
def test_clones_exit_with_their_index(probe_snapshot, mode):
    r = hpcvirt("clone", probe_snapshot, "-n", "4", "--mode", mode, "--wait", "--timeout", "60")
    assert r.returncode == 3, r.stdout + r.stderr
    assert CLONED.findall(r.stdout) == [("4", mode, "clone-probe")]
    assert "0 exited with 0, 4 with other codes (1, 2, 3, 4), 0 crashed\n" in r.stdout
    assert r.stderr == ""  # no progress bar: stderr is not a terminal


@needs_kvm
def test_cold_clones_boot_afresh(worker_snapshot):
    r = hpcvirt("clone", worker_snapshot, "-n", "2", "--mode", "cold", "--wait")
    assert r.returncode == 0, r.stdout + r.stderr
    assert CLONED.findall(r.stdout) == [("2", "cold", "worker")]
    assert "2 exited with 0, 0 with other codes, 0 crashed\n" in r.stdout


@needs_kvm
def test_instant_clones_of_a_worker_finish_it(worker_snapshot):
    r = hpcvirt("clone", worker_snapshot, "-n", "3", "--threads", "2", "--wait")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 exited with 0, 0 with other codes, 0 crashed\n" in r.stdout


@needs_kvm
def test_clones_without_wait_are_made_and_timed(probe_snapshot):
    r = hpcvirt("clone", probe_snapshot, "-n", "16", "--prepare")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^prepared 16 clones of clone-probe in [\d.]+ ms$", r.stdout, re.M)
    assert CLONED.findall(r.stdout) == [("16", "instant", "clone-probe")]


@needs_kvm
def test_clones_of_a_hugetlb_guest(tmp_path):
    """A hugetlb plan resumes onto huge pages; each clone's copy-on-write view reserves
    its whole size in the pool, so a count the pool cannot hold is refused, saying so."""
    path = tmp_path / "huge.snap"
    r = hpcvirt("run", payload("clone-probe"), "--spec",
                spec(tmp_path, "clone-probe", "16MiB", "2m"), "--suspend-after", "0.2",
                "--snapshot", path)
    # the planner sees the pool short first (plan.pages.short), the engine at its mapping
    if "too few free 2 MiB huge pages" in r.stderr or "(plan.pages.short)" in r.stderr:
        pytest.skip("too few free 2 MiB pages on this host (scripts/kvm-vm's VM reserves some)")
    assert r.returncode == 0, r.stderr
    r = hpcvirt("clone", path, "-n", "1", "--wait", "--timeout", "60")
    assert r.returncode == 3, r.stdout + r.stderr  # the clone exits with its index, 1
    assert "0 exited with 0, 1 with other codes (1), 0 crashed\n" in r.stdout
    r = hpcvirt("clone", path, "-n", "4096")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("hpcvirt: error: clone clone-probe: "), r.stderr
    assert "too few free 2 MiB huge pages for a copy-on-write view" in r.stderr, r.stderr
    assert 'plan with page_size "4k"' in r.stderr and "[HV_E_NOMEM]" in r.stderr
    assert "clones of" not in r.stdout  # none was made


@needs_kvm
def test_clones_named_with_identities(probe_snapshot):
    r = hpcvirt("clone", probe_snapshot, "-n", "2", "--name-pattern", "web-{index}",
                "--identity", "rank={index}", "--wait", "--timeout", "60")
    assert r.returncode == 3, r.stdout + r.stderr  # each exits with its index
    assert r.stdout.splitlines()[1:3] == ["web-1", "web-2"]
    assert "0 exited with 0, 2 with other codes (1, 2), 0 crashed\n" in r.stdout
    # a pattern without {index} would give every clone one name: the library says so
    r = hpcvirt("clone", probe_snapshot, "-n", "2", "--name-pattern", "web")
    assert r.returncode == 1 and 'no "{index}"' in r.stderr and "[HV_E_INVAL]" in r.stderr
    r = hpcvirt("clone", probe_snapshot, "-n", "1", "--mode", "cold", "--identity", "x")
    assert r.returncode == 1 and "instant and full clones" in r.stderr


def test_clone_identity_longer_than_a_clone_is_given(tmp_path):
    r = hpcvirt("clone", tmp_path / "none.snap", "-n", "12", "--identity", "x" * 4095 + "{index}")
    assert r.returncode == 1, r.stderr
    assert r.stderr == ("hpcvirt: error: clone: --identity gives clone 10 more than 4096 bytes: "
                        "use a shorter one [HV_E_INVAL]\n")
    assert r.stdout == ""


@needs_kvm
def test_clones_past_the_timeout_fail(tmp_path):
    path = tmp_path / "loop.snap"
    suspend("endless-loop", path, "0.2", "--spec", spec(tmp_path, "endless-loop"))
    r = hpcvirt("clone", path, "-n", "2", "--wait", "--timeout", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "0 exited with 0, 0 with other codes, 0 crashed, 2 ran past --timeout" in r.stdout
    assert "2 clones still running after --timeout 1 were powered off [HV_E_TIMEOUT]" in r.stderr


@needs_kvm
def test_progress_bar_on_a_terminal(probe_snapshot):
    master, slave = pty.openpty()
    try:
        r = hpcvirt("clone", probe_snapshot, "-n", "8", stderr=slave, stdout=subprocess.PIPE)
        os.close(slave)
        slave = -1
        bar = b""
        try:
            while True:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                bar += chunk
        except OSError:  # EIO: the terminal's other end is closed
            pass
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0
    assert b"[" + b"#" * 30 + b"] 8/8" in bar, bar
    assert CLONED.findall(r.stdout) == [("8", "instant", "clone-probe")]


@needs_kvm
def test_clone_needs_the_built_in_engine(probe_snapshot):
    # a snapshot file on another backend, where clones are linked by default
    r = hpcvirt("clone", probe_snapshot, "-n", "2", "--uri", "libvirt:test:///default")
    assert r.returncode == 1
    assert "a snapshot file's VM is cloned by the built-in engine" in r.stderr
    assert r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")
    # the engine's modes asked for by name
    r = hpcvirt("clone", probe_snapshot, "-n", "2", "--mode", "full", "--uri",
                "libvirt:test:///default")
    assert r.returncode == 1
    if "[HV_E_NOTFOUND]" not in r.stderr:  # hpcvirt built without libvirt
        assert "instant, full and cold clones are the built-in engine's" in r.stderr
        assert r.stderr.rstrip().endswith("[HV_E_UNSUPPORTED]")


# ---- live migration between two processes --------------------------------------------


def _listening(port):
    """Whether something listens on TCP port `port` (from /proc/net/tcp: no connection is
    made, which the destination would take for its one source)."""
    with open("/proc/net/tcp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"
                   for line in f.readlines()[1:])


def migrate_listen(key, timeout):
    """`hpcvirt migrate-listen` on a free loopback port with the key in file `key`, once
    it listens: the process and the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    listener = subprocess.Popen([CLI, "migrate-listen", f"tcp://127.0.0.1:{port}", "--key-file",
                                 str(key), "--timeout", timeout], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(300):
        if _listening(port) or listener.poll() is not None:
            break
        time.sleep(0.1)
    return listener, port


@pytest.fixture(scope="module")
def small_worker(tmp_path_factory):
    """A 32 MiB worker's spec (it moves in a few seconds under emulation) and the checksum
    line of its uninterrupted run."""
    path = spec(tmp_path_factory.mktemp("small"), "worker", "32MiB")
    r = hpcvirt("run", payload("worker"), "--spec", path)
    assert r.returncode == 0, r.stderr
    return path, CHECKSUM.findall(r.stdout)


def on_a_terminal(*args):
    """hpcvirt ARGS with stderr on a terminal (read as it comes: a full one would block
    it): the completed process, stderr as bytes."""
    master, slave = pty.openpty()
    seen = []

    def read():
        try:
            while chunk := os.read(master, 4096):
                seen.append(chunk)
        except OSError:  # EIO: the terminal's other end is closed
            pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        r = hpcvirt(*args, stderr=slave, stdout=subprocess.PIPE)
    finally:
        os.close(slave)
        reader.join(timeout=60)
        os.close(master)
    return r, b"".join(seen)


@needs_kvm
def test_migrate_between_two_processes(tmp_path, small_worker):
    """`run --migrate-to` moves a worker mid-way to `migrate-listen` in another process over
    TCP on loopback, authenticated, throttled if it must be, with a progress line on the
    terminal; it finishes there with the uninterrupted checksums."""
    key = tmp_path / "key"
    key.write_text("a shared secret\n")
    listener, port = migrate_listen(key, "120")
    try:
        # at once and as fast as it goes: at native speed (a PVM /dev/kvm) the worker ended
        # before a migration paced at 64 MiB/s from 0.2 s on was done ("exited while it was
        # being migrated"); the last round may take its time under emulation
        r, err_here = on_a_terminal("run", payload("worker"), "--spec", small_worker[0],
                                    "--migrate-to", f"tcp://127.0.0.1:{port}", "--migrate-after",
                                    "0", "--key-file", key, "--max-downtime", "60000",
                                    "--throttle")
        out, err = listener.communicate(timeout=300)
    finally:
        listener.kill()
    err_here = err_here.decode("utf-8", "replace")
    assert r.returncode == 0, r.stdout + err_here
    assert re.search(r"hpcvirt: worker migrated to tcp://127.0.0.1:\d+ in [\d.]+ ms \(downtime",
                     err_here), err_here
    # the progress line, redrawn in place: the first round's bar, then the stop
    assert re.search(r"\r\x1b\[Kmigrating: round 0 \[[# ]{20}\] [\d.]+ MiB sent", err_here), err_here
    assert "\r\x1b[Kmigrating: stopped after round " in err_here, err_here
    assert "worker done" not in r.stdout
    assert listener.returncode == 0, out + err
    assert f"hpcvirt: worker migrated in from tcp://127.0.0.1:{port}" in err
    assert CHECKSUM.findall(out) == small_worker[1] and "worker done" in out


@needs_kvm
def test_migrate_with_the_wrong_key_runs_on_here(tmp_path, small_worker):
    (tmp_path / "right").write_text("right")
    (tmp_path / "wrong").write_text("wrong")
    listener, port = migrate_listen(tmp_path / "right", "60")
    try:
        r = hpcvirt("run", payload("worker"), "--spec", small_worker[0], "--migrate-to",
                    f"tcp://127.0.0.1:{port}", "--key-file", tmp_path / "wrong")
        out, err = listener.communicate(timeout=120)
    finally:
        listener.kill()
    # refused before any memory went; the worker finished here, and the command fails
    assert r.returncode == 1, r.stdout + r.stderr
    assert "does not authenticate" in r.stderr and "runs on here" in r.stderr
    assert CHECKSUM.findall(r.stdout) == small_worker[1]
    assert listener.returncode == 1 and "nothing was kept" in err and out == ""


def _connected(port):
    """Whether a TCP connection to loopback port `port` is established (from /proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        return any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "01"
                   for line in f.readlines()[1:])


def migration_killed(tmp_path, victim, *extra):
    """`hpcvirt run` of the dirtier (it never ends; it checks every page it wrote before it
    writes it again, and ends with 3 naming a page lost) migrating to `migrate-listen` at
    1 MiB/s, so that the migration lasts, with `extra` options; once the connection is up
    and a second more has passed (the handshake and the first pages), `victim` ("source" or
    "destination") is killed with SIGKILL. The other's exit status, stdout and stderr."""
    key = tmp_path / "key"
    key.write_text("k")
    listener, port = migrate_listen(key, "120")
    source = None
    try:
        source = subprocess.Popen([CLI, "run", payload("dirtier"), "--spec",
                                   spec(tmp_path, "dirtier", "32MiB"), "--migrate-to",
                                   f"tcp://127.0.0.1:{port}", "--key-file", str(key),
                                   "--bandwidth", "1", *extra], text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(600):
            if _connected(port) or source.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(1)
        assert source.poll() is None and listener.poll() is None, source.communicate()
        killed, other = (source, listener) if victim == "source" else (listener, source)
        killed.kill()
        assert killed.wait(timeout=60) == -signal.SIGKILL
        out, err = other.communicate(timeout=240)
    finally:
        listener.kill()
        if source:
            source.kill()
    return other.returncode, out, err


@needs_kvm
def test_migrate_destination_killed_the_source_runs_on(tmp_path):
    """The destination process killed in the middle of the stream: the source's migration
    fails, saying so, and its guest runs on here - the dirtier sweeps on and finds every
    page it wrote, until the source's --timeout powers it off."""
    code, out, err = migration_killed(tmp_path, "destination", "--timeout", "15")
    assert code == 1, out + err
    assert "runs on here" in err, err
    # powered off at its --timeout, not ended by a page it found lost (exit code 3)
    assert "still running after 15000 ms" in err, err
    assert "exited with code" not in err and "lost" not in out, out + err


@needs_kvm
def test_migrate_source_killed_the_destination_keeps_nothing(tmp_path):
    """The source process killed in the middle of the stream: the destination discards what
    had arrived, says so, and fails."""
    code, out, err = migration_killed(tmp_path, "source")
    assert code == 1, out + err
    assert "nothing was kept" in err and out == "", err
    # the stream's words for a peer gone: at a frame's start, inside one, or with a reset
    assert any(gone in err for gone in ("the peer closed the connection", "in the middle of a",
                                        "the peer reset the connection")), err


def test_migrate_usage(tmp_path):
    r = hpcvirt("run", "w.elf", "--key-file", "k")
    assert r.returncode == 64 and "go with --migrate-to" in r.stderr
    r = hpcvirt("run", "w.elf", "--migrate-to", "tcp://h:1", "--suspend-after", "1",
                "--snapshot", "f")
    assert r.returncode == 64 and "exclude each other" in r.stderr
    (tmp_path / "empty").write_text("")
    r = hpcvirt("migrate-listen", "tcp://127.0.0.1:1", "--key-file", tmp_path / "empty")
    assert r.returncode == 1 and "the key file is empty" in r.stderr


# ---- usage ------------------------------------------------------------------------------


USAGE_ERRORS = [
    (["run", "w.elf", "--suspend-after", "1"], "--suspend-after and --snapshot go together"),
    (["run", "w.elf", "--snapshot", "f"], "--suspend-after and --snapshot go together"),
    (["run", "w.elf", "--suspend-after", "soon", "--snapshot", "f"], "--suspend-after takes"),
    (["run", "w.elf", "--suspend-after", "-1", "--snapshot", "f"], "--suspend-after takes"),
    (["run", "w.elf", "--suspend-after", "nan", "--snapshot", "f"], "--suspend-after takes"),
    (["run", "w.elf", "--suspend-after", "1e12", "--snapshot", "f"], "--suspend-after takes"),
    (["run", "w.elf", "--suspend-after", "2", "--snapshot", "f", "--timeout", "2"],
     "--timeout must be longer than --suspend-after"),
    (["run", "w.elf", "--suspend-after"], "--suspend-after needs a value"),
    (["resume"], "expected a snapshot FILE or the VM's NAME"),
    (["resume", "a", "b"], "unexpected argument 'b'"),
    (["resume", "no-such-vm", "--paused"], "'no-such-vm' is not a file"),
    (["resume", "no-such-vm", "--eager"], "'no-such-vm' is not a file"),
    (["resume", "no-such-vm", "--name", "x"], "'no-such-vm' is not a file"),
    (["resume", "no-such-vm", "--timeout", "3"], "'no-such-vm' is not a file"),
    (["resume", "no-such-vm", "--stats"], "'no-such-vm' is not a file"),
    (["resume", "/x.snap", "--timeout", "soon"], "--timeout takes a whole number"),
    (["resume", "/x.snap", "--keep-running"], "unknown option '--keep-running'"),
    (["resume-from", "/x.snap", "--stats"], "unknown option '--stats'"),
    (["clone"], "expected the snapshot FILE"),
    (["clone", "f"], "-n COUNT is needed"),
    (["clone", "f", "g", "-n", "2"], "unexpected argument 'g'"),
    (["clone", "f", "-n"], "-n needs a value"),
    (["clone", "f", "-n", "0"], "-n takes a count from 1 to 1000000"),
    (["clone", "f", "-n", "-3"], "-n takes a whole number"),
    (["clone", "f", "-n", "1000001"], "from 0 to 1000000"),
    (["clone", "f", "-n", "many"], "-n takes a whole number"),
    (["clone", "f", "-n", "2", "--mode", "warm"], "--mode is instant, full, cold or linked"),
    (["clone", "d", "-n", "2", "--mode", "linked", "--wait"], "not --mode linked"),
    (["clone", "f", "-n", "2", "--snapshot", "s1"], "it goes with --mode linked"),
    (["clone", "f", "-n", "2", "--threads", "x"], "--threads takes a whole number"),
    (["clone", "f", "-n", "2", "--threads", "5000"], "from 0 to 1024"),
    (["clone", "f", "-n", "2", "--timeout", "5"], "--timeout goes with --wait"),
    (["clone", "f", "-n", "2", "--wait", "--timeout", "x"], "--timeout takes a whole number"),
    (["clone", "f", "-n", "2", "--paused"], "unknown option '--paused'"),
]


@pytest.mark.parametrize("args,message", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_64(args, message):
    r = hpcvirt(*args)
    assert r.returncode == 64, r.stdout + r.stderr
    assert message in r.stderr
    assert f"Try 'hpcvirt {args[0]} --help'." in r.stderr
    assert r.stdout == ""


def test_help_documents_the_snapshot_rule():
    r = hpcvirt("resume", "--help")
    assert r.returncode == 0
    assert "an operand that is an existing file" in r.stdout and "FILE" in r.stdout
    r = hpcvirt("clone", "--help")
    assert r.returncode == 0 and "-n COUNT" in r.stdout and "instant|full|cold" in r.stdout
    r = hpcvirt("run", "--help")
    assert r.returncode == 0 and "--suspend-after SECONDS --snapshot FILE" in r.stdout
    r = hpcvirt("--help")
    assert "  clone " in r.stdout and "  resume " in r.stdout
