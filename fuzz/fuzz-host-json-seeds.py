#!/usr/bin/python3
"""fuzz/fuzz-host-json-seeds.py - seeds for fuzz-host-json at the edges of
what the reader takes (lib/host/json.c, docs/host-json.md): every list just
at and just past its limit, nesting and object size at and past theirs, and
the values JSON does not allow or json-c would silently change (NaN,
\\u0000, a NUL byte, repeated keys, bytes that are not UTF-8, lone
surrogates, a byte order mark).

    fuzz/fuzz-host-json-seeds.py DIR [MAX_BYTES]

writes the seeds of at most MAX_BYTES (default 65536, scripts/fuzz's
-max_len) into DIR. fuzz/corpus/fuzz-host-json/ holds the ones of at most
4096 bytes; the larger ones (8,192 CPUs, 4,096 accelerators and RDMA
devices) are made by this script for a run:

    fuzz/fuzz-host-json-seeds.py build-fuzz/host-seeds
    build-fuzz/fuzz/fuzz-host-json -max_len=65536 CORPUS build-fuzz/host-seeds ...
"""
import json
import os
import sys

CPU0 = {"id": 0, "package": 0, "core": 0, "node": 0}
NODE0 = {"id": 0, "cpus": "0", "memory_bytes": 1073741824, "free_bytes": 0, "distances": [10]}


def host(**extra):
    doc = {"cpus": {"list": [CPU0]}, "numa_nodes": [NODE0]}
    doc.update(extra)
    return doc


# compact(), at_and_past() and write_seeds() serve fuzz-spec-json-seeds.py too.
def compact(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def at_and_past(name, limit, make):
    """The seed at the limit and the one past it: make(count) -> document."""
    return [(f"limit-{name}-{limit}.json", compact(make(limit))),
            (f"limit-{name}-{limit + 1}.json", compact(make(limit + 1)))]


def write_seeds(seeds, usage):
    """The command line: DIR [MAX_BYTES]; writes the seeds that fit MAX_BYTES into DIR."""
    if len(sys.argv) not in (2, 3):
        sys.exit(usage)
    directory, max_bytes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 65536
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds:
        if len(data) <= max_bytes:
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)


def seeds():
    out = []
    out += at_and_past("cpus", 8192, lambda n: dict(host(), cpus={"list": [{}] * n}))
    out += at_and_past("numa-nodes", 1024, lambda n: host(numa_nodes=[{}] * n))
    out += at_and_past("distances", 1024,
                       lambda n: host(numa_nodes=[dict(NODE0, distances=[10] * n)]))
    out += at_and_past("hugepages", 4, lambda n: host(numa_nodes=[dict(NODE0, hugepages=[
        {"page_bytes": 2097152 << i, "total": 1, "free": 1} for i in range(n)])]))
    out += at_and_past("accelerators", 4096, lambda n: host(accelerators=[{}] * n))
    out += at_and_past("bars", 6, lambda n: host(accelerators=[{
        "pci_address": "0000:41:00.0", "bars": [{"index": i % 6, "size_bytes": 4096}
                                                for i in range(n)]}]))
    out += at_and_past("mdev-types", 256, lambda n: host(accelerators=[{
        "pci_address": "0000:41:00.0", "mdev_types": [{}] * n}]))
    out += at_and_past("rdma", 4096, lambda n: host(rdma=[{}] * n))
    out += at_and_past("rdma-ports", 255, lambda n: host(rdma=[{"ports": [{"port": 1}] * n}]))
    out += at_and_past("gids", 4096, lambda n: host(rdma=[{"ports": [{"port": 1, "gids": [
        {"index": i} for i in range(n)]}]}]))
    out += at_and_past("members", 256, lambda n: host(**{f"k{i}": 0 for i in range(n - 2)}))
    deep = compact(host())[:-1]
    out += [("limit-depth-16.json", deep + b',"x":' + b"[" * 15 + b"]" * 15 + b"}"),
            ("limit-depth-17.json", deep + b',"x":' + b"[" * 16 + b"]" * 16 + b"}")]
    base = compact(host())
    out += [
        ("nan.json", base.replace(b'"free_bytes":0', b'"free_bytes":NaN')),
        ("infinity.json", base.replace(b'"free_bytes":0', b'"free_bytes":-Infinity')),
        ("nul-escape.json", base.replace(b'"cpus":"0"', b'"cpus":"0\\u0000-7"')),
        ("nul-escape-key.json", base.replace(b'"core":0', b'"co\\u0000re":0')),
        ("nul-byte.json", base + b"\0" + base),
        ("duplicate-key.json", base.replace(b'"id":0,', b'"id":0,"id":1,', 1)),
        ("duplicate-key-escaped.json", base.replace(b'"id":0,', b'"id":0,"\\u0069d":1,', 1)),
        ("not-utf8.json", base[:-1] + b',"root":"\xff\xfe"}'),
        ("overlong-utf8.json", base[:-1] + b',"root":"\xc0\xaf"}'),
        ("lone-surrogate.json", base[:-1] + b',"root":"\\ud800"}'),
        ("surrogate-pair.json", base[:-1] + b',"root":"\\ud83d\\ude00"}'),
        ("control-char.json", base[:-1] + b',"root":"a\x1b[2Jb"}'),
        ("escape-sequence.json", base[:-1] + b',"profile":"\\u001b[31m"}'),
        ("bom.json", b"\xef\xbb\xbf" + base),
        ("huge-number.json", base.replace(b'"free_bytes":0', b'"free_bytes":1e400')),
    ]
    return out


if __name__ == "__main__":
    write_seeds(seeds(), __doc__)
