"""What the built hpcvirt CLI says it is, for the tests of what is made from
it (the man page, the bash completion): its commands as `hpcvirt --help`
lists them, each command's --help, and the options that --help names which
the command accepts (asked of the CLI itself: an option it does not take is
a usage error naming it), so nothing here lists a command or an option by
hand."""
import concurrent.futures
import functools
import os
import re
import subprocess

CLI = os.environ["HPCVIRT_CLI"]

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

