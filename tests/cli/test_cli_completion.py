"""The bash completion (tools/hpcvirt/hpcvirt.bash): sourced into bash it
registers itself for hpcvirt, and scripted completions (COMP_WORDS and
COMP_CWORD set, the function called, COMPREPLY read) offer the commands
`hpcvirt --help` lists, the options each command's --help names, the values
its synopsis names, *.json files for a spec and the VMs of the --uri on the
line."""
import os
import shutil
import subprocess

import pytest

from hv_cli_options import CLI, command_help, commands, documented_options, run

SCRIPT = os.environ.get("HV_TEST_COMPLETION",
                        os.path.join(os.environ.get("HV_TEST_SRCDIR", "."),
                                     "tools", "hpcvirt", "hpcvirt.bash"))
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="no bash")

DRIVER = r'''
source "$1" || exit 90
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_hpcvirt || exit 91
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(*words, cwd=None):
    """What completing the last of `words` (after `hpcvirt`) offers, sorted."""
    r = subprocess.run([BASH, "--norc", "--noprofile", "-c", DRIVER, "driver", SCRIPT, CLI, *words],
                       capture_output=True, text=True, cwd=cwd, check=False, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return sorted(line for line in r.stdout.splitlines() if line)


def test_registers_for_hpcvirt():
    r = subprocess.run([BASH, "--norc", "--noprofile", "-c", 'source "$1" && complete -p hpcvirt',
                        "driver", SCRIPT], capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "complete -F _hpcvirt hpcvirt"


def test_commands():
    assert set(complete("")) == set(commands()) | {"help", "--help", "--version"}
    assert complete("resu") == ["resume", "resume-from"]
    assert complete("help", "migr") == ["migrate", "migrate-listen"]


@pytest.mark.parametrize("command", commands())
def test_options_are_those_the_help_names(command):
    offered = set(complete(command, "-")) - {"--help"}
    documented = documented_options()[command]
    assert offered - documented == set(), f"offered, but `hpcvirt {command}` refuses them"
    # an alias its --help names in passing ("--root is an alias of ...") need not be offered
    aliases = {o for line in command_help(command).splitlines() if "alias" in line
               for o in documented if o in line}
    assert documented - offered - aliases == set(), \
        f"`hpcvirt {command} --help` names them, its completion misses them"
    assert complete(command, "--") == sorted((offered | {"--help"}) - {"-n"})


def test_values_from_the_synopsis():
    assert complete("clone", "snap.hvs", "--mode", "") == ["cold", "full", "instant", "linked"]
    assert complete("plan", "a.json", "--domain-type", "q") == ["qemu"]
    assert complete("snapshot", "web1", "") == ["create", "delete", "list", "revert"]
    assert complete("stop", "web1", "--timeout", "") == []
    assert complete("migrate", "web1", "") == []  # DEST: nothing to offer


@pytest.fixture
def files(tmp_path):
    (tmp_path / "vm.json").write_text("{}")
    (tmp_path / "my spec.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "gpu.json").write_text("{}")
    return tmp_path


@pytest.mark.parametrize("words", [("plan", ""), ("create", ""), ("run", "hello.elf", "--spec", ""),
                                   ("plan", "vm.json", "--host-json", "")])
def test_spec_operands_complete_json_files(files, words):
    assert complete(*words, cwd=files) == ["my spec.json", "specs", "vm.json"]
    assert complete(*words[:-1], "specs/", cwd=files) == ["specs/gpu.json"]


def test_other_operands_complete_files_or_directories(files):
    everything = ["my spec.json", "notes.txt", "specs", "vm.json"]
    assert complete("suspend", "web1", "", cwd=files) == everything
    assert complete("run", "", cwd=files) == everything
    # the second form of `run`: a Linux kernel, its initrd, disks (files); a command line (none)
    for option in ("--kernel", "--initrd", "--disk"):
        assert complete("run", option, "", cwd=files) == everything, option
    assert complete("run", "--kernel", "vmlinuz", "--cmdline", "", cwd=files) == []
    assert complete("host", "--host-root" if "--host-root" in complete("host", "--") else "--root",
                    "", cwd=files) == ["specs"]
    assert complete("plan", "vm.json", "--host-root", "", cwd=files) == ["specs"]


def libvirt_test_driver():
    r = run("list", "--uri", "libvirt:test:///default")
    return r.returncode == 0 and "test" in r.stdout.split()


@pytest.mark.skipif(not libvirt_test_driver(), reason="no libvirt backend")
@pytest.mark.parametrize("command", ["state", "start", "destroy", "snapshot", "migrate", "resume"])
def test_vm_names_from_the_uri_on_the_line(command, tmp_path):
    # (in an empty directory: `resume` takes a FILE there too)
    assert complete(command, "--uri", "libvirt:test:///default", "", cwd=tmp_path) == ["test"]
    # as bash splits the line at COMP_WORDBREAKS (':' among them)
    assert complete(command, "--uri", "libvirt", ":", "test", ":", "///default", "t",
                    cwd=tmp_path) == ["test"]
    assert complete(command, "t", cwd=tmp_path) == []  # no URI on the line: no connection


@pytest.mark.skipif(not libvirt_test_driver(), reason="no libvirt backend")
def test_vm_names_only_where_the_synopsis_says_name(tmp_path):
    uri = ["--uri", "libvirt:test:///default"]
    assert complete("migrate", *uri, "test", "", cwd=tmp_path) == []  # DEST
    assert complete("run", *uri, "t", cwd=tmp_path) == []  # PAYLOAD: a file
    assert complete("resume-from", *uri, "--name", "", cwd=tmp_path) == []  # a new name
