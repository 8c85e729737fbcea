"""Containers as micro-VMs from the command line (issue 18): `hpcvirt
container run` runs an OCI image (a layout made here with umoci from
busybox-static, two layers, the second with a whiteout; or written byte by
byte for the hostile cases) in a Linux VM of the built-in engine, booting
the Debian kernel scripts/kvm-vm boots itself with its modules. They run
with the other Linux-guest tests (scripts/lib/kvm-linux-suites), skipped
without /dev/kvm or a kernel to boot."""
import os
import subprocess
import time

import pytest

import hv_pytest_plugin
import linux_guest
import oci_layout

CLI = os.environ["HPCVIRT_CLI"]
INIT = os.path.join(os.environ["HV_TEST_GUEST_DIR"], "container-init", "hpcvirt-container-init")
KERNEL = linux_guest.kernel()
MODULES = linux_guest.modules_dir()
HOST = (("--host-root", os.environ["HV_TEST_LINUX_HOST_ROOT"])
        if os.environ.get("HV_TEST_LINUX_HOST_ROOT") else ())

pytestmark = [*hv_pytest_plugin.needs_kvm("hello").marks,
              pytest.mark.skipif(KERNEL is None, reason="no kernel to boot (HV_TEST_LINUX_KERNEL)")]


def env():
    e = dict(os.environ)
    e.pop("HPCVIRT_DEFAULT_URI", None)
    e["XDG_RUNTIME_DIR"] = e.get("HV_TEST_RUNTIME_DIR", e.get("XDG_RUNTIME_DIR", "/tmp"))
    return e


def run_args(tmp_path, image, *options, command=()):
    args = [CLI, "container", "run", image, "--kernel", KERNEL, "--init", INIT,
            "--cache", tmp_path / "cache", *HOST, *options]
    if MODULES:
        args += ["--modules", MODULES]
    if command:
        args += ["--", *command]
    return [str(a) for a in args]


def container(tmp_path, image, *options, command=(), timeout=240):
    try:
        return subprocess.run(run_args(tmp_path, image, *options, command=command),
                              capture_output=True, text=True, check=False, timeout=timeout,
                              env=env())
    except subprocess.TimeoutExpired as e:
        pytest.fail("container run ran past %d s; stdout %r stderr %r"
                    % (timeout, e.stdout, e.stderr))


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    return oci_layout.busybox_layout(str(tmp_path_factory.mktemp("oci") / "busybox"))


def test_a_container_runs_its_command(tmp_path, busybox):
    # stdout and stderr apart, the exit status, --env over the image's, --workdir,
    # --entrypoint (CMD ARGS are its arguments), and the file the second layer whited out is
    # gone while its neighbour stays
    r = container(tmp_path, busybox + ":latest", "--env", "FOO=bar", "--workdir", "/work",
                  "--entrypoint", "sh",
                  command=("-c", 'echo "out $FOO $GREETING $(pwd)"; echo err >&2; '
                           'ls /etc; exit 7'))
    assert r.returncode == 7, r.stderr
    assert "out bar image /work\n" in r.stdout, r.stdout
    assert "err" not in r.stdout and "err\n" in r.stderr, (r.stdout, r.stderr)
    assert "kept" in r.stdout and "removed" not in r.stdout, r.stdout
    # the image's Cmd is sh: with no command it reads /dev/null and ends with 0
    r = container(tmp_path, busybox + ":latest")
    assert r.returncode == 0, r.stderr


def test_a_command_not_in_the_image(tmp_path, busybox):
    r = container(tmp_path, busybox + ":latest", command=("no-such-program",))
    assert r.returncode == 127, (r.stdout, r.stderr)
    assert "no-such-program" in r.stderr, r.stderr


def test_bad_images_are_refused_before_anything_boots(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    bb = oci_layout.tar_layer(oci_layout.busybox_entries())
    cases = {
        "corrupt": (dict(layers=[bb], corrupt_layer=0), "corrupt"),
        "no-manifest": (dict(layers=[bb], drop_manifest=True), "blobs/sha256/"),
        "dotdot": (dict(layers=[oci_layout.tar_layer([("../escape", "file", b"x")])]),
                   "../escape"),
        "symlink": (dict(layers=[oci_layout.tar_layer([("evil", "symlink", str(outside).encode()),
                                                       ("evil/file", "file", b"x")])]),
                    "evil"),
        "arch": (dict(layers=[bb], architecture="arm64"), "arm64"),
    }
    for name, (kwargs, words) in cases.items():
        path = str(tmp_path / name)
        oci_layout.hand_layout(path, **kwargs)
        start = time.monotonic()
        r = container(tmp_path, path + ":t", command=("true",), timeout=60)
        assert r.returncode == 125, (name, r.stdout, r.stderr)
        assert words in r.stderr, (name, r.stderr)
        assert time.monotonic() - start < 30, name  # refused before a boot (15 s or more here)
    assert list(outside.iterdir()) == []
    assert not list((tmp_path / "cache").glob("rootfs-*.ext4"))


def test_warm_containers_start_from_the_images_template(tmp_path, busybox):
    # the first warm start makes the template; the next ones resume from it (eight at once:
    # test_container.py's)
    first = container(tmp_path, busybox + ":latest", "--warm", command=("echo", "warm-0"))
    assert first.returncode == 0 and first.stdout == "warm-0\n", (first.stdout, first.stderr)
    templates = list((tmp_path / "cache").glob("template-*.snap"))
    assert len(templates) == 1
    for i in range(1, 4):
        r = container(tmp_path, busybox + ":latest", "--warm",
                      command=("sh", "-c", "echo warm-%d; exit %d" % (i, i)))
        assert r.returncode == i and r.stdout == "warm-%d\n" % i, (i, r.stdout, r.stderr)
    assert list((tmp_path / "cache").glob("template-*.snap")) == templates


def test_ls_lists_a_running_container_and_rm_stops_it(tmp_path, busybox):
    runtime = tmp_path / "run"
    runtime.mkdir()
    os.environ["HV_TEST_RUNTIME_DIR"] = str(runtime)
    try:
        p = subprocess.Popen(run_args(tmp_path, busybox + ":latest", "--name", "sleeper",
                                      command=("sh", "-c", "echo up; sleep 600")),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        assert p.stdout.readline() == "up\n"
        ls = subprocess.run([CLI, "container", "ls"], capture_output=True, text=True, env=env())
        assert ls.returncode == 0 and "sleeper" in ls.stdout and "sleep 600" in ls.stdout, ls
        rm = subprocess.run([CLI, "container", "rm", "sleeper"], capture_output=True, text=True,
                            env=env())
        assert rm.returncode == 0, rm.stderr
        p.wait(timeout=60)
        assert p.returncode == 128 + 15
        ls = subprocess.run([CLI, "container", "ls", "--json"], capture_output=True, text=True,
                            env=env())
        assert ls.stdout == "[]\n", ls
        rm = subprocess.run([CLI, "container", "rm", "sleeper"], capture_output=True, text=True,
                            env=env())
        assert rm.returncode == 1 and "no running container is named 'sleeper'" in rm.stderr
    finally:
        del os.environ["HV_TEST_RUNTIME_DIR"]


def test_the_c_api_example(tmp_path, busybox):
    # examples/container-run.c: hv_container_create/start/wait from C, warm
    example = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(CLI))), "examples",
                           "example-container-run")
    args = [example, "-k", KERNEL, "-c", str(tmp_path / "cache"), "-w"]
    if MODULES:
        args += ["-m", MODULES]
    if HOST:
        args += ["-r", HOST[1]]
    for i in range(2):  # the template made, then resumed
        r = subprocess.run(args + [busybox + ":latest", "sh", "-c", "echo c-%d; exit 5" % i],
                           capture_output=True, text=True, timeout=240,
                           env=dict(env(), HPCVIRT_CONTAINER_INIT=INIT))
        assert r.returncode == 5 and r.stdout == "c-%d\n" % i, (r.stdout, r.stderr)
