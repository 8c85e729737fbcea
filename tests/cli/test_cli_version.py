"""The hpcvirt CLI: help, version, usage errors and exit codes."""
import json
import os
import subprocess

import hpcvirt

CLI = os.environ["HPCVIRT_CLI"]


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False)


def test_version_human_and_json():
    r = run("version")
    assert r.returncode == 0
    assert hpcvirt.version() in r.stdout
    r = run("version", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["library"] == hpcvirt.version()


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "version" in r.stdout
    assert run("version", "--help").returncode == 0


def test_usage_errors_exit_64():
    assert run().returncode == 64
    r = run("no-such-command")
    assert r.returncode == 64
    assert "not a command" in r.stderr
    r = run("version", "--bogus")
    assert r.returncode == 64
    assert "--bogus" in r.stderr
