#!/usr/bin/python3
"""Fail when the built library's exported symbols differ from ABI.txt.

ABI.txt lines are "VERSION_NODE symbol" (comments with #). The library's
exports come from `nm -D --defined-only --with-symbol-versions`.
usage: check-symbols.py LIBRARY ABI.txt
"""
import re
import subprocess
import sys


def exported(library):
    out = subprocess.run(
        ["nm", "-D", "--defined-only", "--with-symbol-versions", library],
        check=True, capture_output=True, text=True,
    ).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if parts[1] == "A":  # the version node itself (HPCVIRT_1.0)
            continue
        name = parts[2]
        m = re.match(r"^([^@]+)@@?(.+)$", name)
        if not m:
            symbols.add(("(unversioned)", name))
            continue
        sym, node = m.group(1), m.group(2)
        if sym == node:  # the version node's own definition symbol
            continue
        symbols.add((node, sym))
    return symbols


def listed(abi_txt):
    symbols = set()
    with open(abi_txt, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                sys.exit(f"{abi_txt}:{n}: expected 'VERSION_NODE symbol', got {line!r}")
            symbols.add((parts[0], parts[1]))
    return symbols


def main():
    library, abi_txt = sys.argv[1:3]
    have, want = exported(library), listed(abi_txt)
    extra = sorted(have - want)
    missing = sorted(want - have)
    for node, sym in extra:
        print(f"exported but not in ABI.txt: {node} {sym}")
    for node, sym in missing:
        print(f"in ABI.txt but not exported: {node} {sym}")
    if extra or missing:
        print(f"{len(extra)} extra, {len(missing)} missing: fix HV_EXTERN/the headers or ABI.txt")
        return 1
    print(f"{len(have)} exported symbols match ABI.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
