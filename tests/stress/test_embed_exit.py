"""Stress: many short-lived hpcvirt processes against one running domain of
libvirt's embedded QEMU driver (qemu:///embed?root=DIR). Each process opens
the embedded driver, which reconnects to the running QEMU in a thread of its
own, does one thing and exits. Before the fix in lib/libvirt/driver.c
(wait_for_reconnect), about one process in ten died with SIGSEGV at exit:
libnuma's destructor had run while libvirt's reconnection thread was still
probing the host's NUMA nodes. Every process must now exit normally with the
answer it was asked for, whether the domain is running or paused.

HV_STRESS_PROCESSES sets how many processes (default 200)."""
import concurrent.futures
import json
import os
import signal
import subprocess

import pytest

import libvirt_embed

CLI = os.environ["HPCVIRT_CLI"]
PROCESSES = int(os.environ.get("HV_STRESS_PROCESSES", "200"))
NAME = "stress-exit"


@pytest.fixture(name="embed")
def fixture_embed():
    reason = libvirt_embed.skip_reason()
    if reason:
        pytest.skip(reason)
    with libvirt_embed.private_root("hv-stress.") as root:
        yield f"libvirt:qemu:///embed?root={root}", root


def run(*args, timeout=120):
    env = dict(os.environ)
    env.pop("HPCVIRT_DEFAULT_URI", None)
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, check=False,
                          env=env, timeout=timeout)


def describe(r):
    if r.returncode < 0:
        return f"killed by {signal.Signals(-r.returncode).name}: {r.stderr[-500:]}"
    return f"exit status {r.returncode}: {r.stderr[-500:]}"


def test_short_lived_processes_never_crash_at_exit(embed):
    uri, root = embed
    spec = os.path.join(root, f"{NAME}.json")
    with open(spec, "w", encoding="utf-8") as f:
        json.dump({"name": NAME, "vcpus": 1, "memory": "256MiB", "page_size": "4k"}, f)
    try:
        r = run("create", spec, "--start", "--backend-options", "domain_type=qemu", "--uri", uri)
        assert r.returncode == 0, describe(r)

        # Half of the processes see the domain running, half see it paused;
        # each runs a read-only command whose answer is known.
        commands = [("state", NAME), ("list",), ("snapshot", NAME, "list")]
        failures = []
        for phase, expected_state in (("running", "running"), ("paused", "paused")):
            if phase == "paused":
                r = run("pause", NAME, "--uri", uri)
                assert r.returncode == 0, describe(r)
            count = PROCESSES // 2
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                jobs = [pool.submit(run, *commands[i % len(commands)], "--uri", uri)
                        for i in range(count)]
                for i, job in enumerate(jobs):
                    r = job.result()
                    command = commands[i % len(commands)]
                    if r.returncode != 0:
                        failures.append(f"{phase}: hpcvirt {' '.join(command)}: {describe(r)}")
                    elif command[0] == "state" and r.stdout.strip() != expected_state:
                        failures.append(f"{phase}: state said {r.stdout.strip()!r}")
                    elif command[0] == "list" and r.stdout.split() != [NAME]:
                        failures.append(f"{phase}: list said {r.stdout!r}")
        assert not failures, f"{len(failures)} of {PROCESSES} processes failed:\n" + \
            "\n".join(failures[:20])
    finally:
        run("destroy", NAME, "--uri", uri)
        run("undefine", NAME, "--uri", uri)
        libvirt_embed.kill_qemu(root)
