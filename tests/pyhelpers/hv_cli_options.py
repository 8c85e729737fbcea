"""What the built hpcvirt CLI says it is, for the tests of what is made from
it (the man page, the bash completion): its commands as `hpcvirt --help`
lists them, each command's --help, and the options each command accepts,
found by asking the CLI itself (an option it does not take is a usage error
naming it), so nothing here lists a command or an option by hand."""
import concurrent.futures
import functools
import os
import re
import subprocess

CLI = os.environ["HPCVIRT_CLI"]
SRCDIR = os.environ.get("HV_TEST_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))

# An option the CLI accepts that neither its --help nor docs/cli.md
# describes: (command, option). Each entry is a finding to fix in the CLI or
# its help (then drop the entry: test_undocumented_list_is_current says so).
UNDOCUMENTED = {
    ("migrate-listen", "--paused"),  # receives the VM paused and exits 0
}

OPTION_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-n)(?![\w-])")


def run(*args, **kwargs):
    return subprocess.run([CLI, *args], capture_output=True, text=True, check=False,
                          timeout=60, stdin=subprocess.DEVNULL, **kwargs)


@functools.lru_cache(maxsize=None)
def commands():
    """The commands `hpcvirt --help` lists, in its order."""
    out = run("--help").stdout
    names, listing = [], False
    for line in out.splitlines():
        if line.startswith("Commands:"):
            listing = True
        elif listing and not line.strip():
            break
        elif listing:
            names.append(line.split()[0])
    assert names, out
    return tuple(names)


@functools.lru_cache(maxsize=None)
def command_help(command):
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    return r.stdout


@functools.lru_cache(maxsize=None)
def candidate_options():
    """Every option-shaped word in docs/cli.md and the CLI's help texts."""
    texts = [run("--help").stdout] + [command_help(c) for c in commands()]
    with open(os.path.join(SRCDIR, "docs", "cli.md"), encoding="utf-8") as f:
        texts.append(f.read())
    found = set()
    for text in texts:
        found.update(OPTION_RE.findall(text))
    return frozenset(found - {"--help", "--version"})


@functools.lru_cache(maxsize=None)
def accepts(command, option):
    """Whether `hpcvirt COMMAND OPTION` gets past the option."""
    # The option alone: one the command does not take is "unknown option";
    # one it takes is a missing value or operand, or (host, frequency,
    # version, whose flags need nothing else) a report that changes nothing.
    r = run(command, option, env={**os.environ, "HPCVIRT_DEFAULT_URI": "no-such-backend:///"})
    return f"unknown option '{option}'" not in r.stderr


def _probe(pairs):
    # about 0.1 s a process (the libraries it loads): 8 at a time
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda p: accepts(*p), pairs))


@functools.lru_cache(maxsize=None)
def documented_options():
    """{command: the options its --help names that it accepts} (--help aside);
    what its --help names in passing for another command is left out."""
    pairs = [(c, o) for c in commands()
             for o in sorted(set(OPTION_RE.findall(command_help(c))) - {"--help", "--version"})]
    result = {c: set() for c in commands()}
    for (command, option), ok in zip(pairs, _probe(pairs)):
        if ok:
            result[command].add(option)
    return {c: frozenset(o) for c, o in result.items()}


@functools.lru_cache(maxsize=None)
def accepted_options():
    """{command: every option it accepts} (--help aside): each command asked
    about every option docs/cli.md and the help texts name (a process each:
    some 900 of them)."""
    pairs = [(c, o) for c in commands() for o in sorted(candidate_options())]
    result = {c: set() for c in commands()}
    for (command, option), ok in zip(pairs, _probe(pairs)):
        if ok:
            result[command].add(option)
    return {c: frozenset(o) for c, o in result.items()}
