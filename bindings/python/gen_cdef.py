#!/usr/bin/python3
"""Turn the public headers into a cffi cdef: run the C preprocessor with
HV_CDEF (no system headers, HV_EXTERN empty) and drop what cffi cannot parse.

usage: gen_cdef.py CC OUTPUT UMBRELLA_HEADER INCLUDE_DIR...
"""
import subprocess
import sys


def main():
    cc, output, header, *incdirs = sys.argv[1:]
    cmd = cc.split() + ["-E", "-P", "-nostdinc", "-DHV_CDEF"]
    for d in incdirs:
        cmd += ["-I", d]
    cmd.append(header)
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [ln for ln in text.splitlines() if ln.strip()]
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
