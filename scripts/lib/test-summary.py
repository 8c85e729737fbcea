#!/usr/bin/python3
"""Print one summary line over meson test logs (testlog*.json, one JSON object
per line) and extra named results (--extra NAME=pass|fail): "N passed, N
failed, N skipped". Exit 1 when anything failed."""
import json
import os
import sys

passed = failed = skipped = 0
args = sys.argv[1:]
while args and args[0] == "--extra":
    name, _, result = args[1].partition("=")
    if result == "pass":
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {name}")
    args = args[2:]
for path in args:
    if not os.path.exists(path):
        print(f"missing test log {path}", file=sys.stderr)
        failed += 1
        continue
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line).get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED: {json.loads(line).get('name')} ({result}) in {path}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
