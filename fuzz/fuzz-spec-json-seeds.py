#!/usr/bin/python3
"""fuzz/fuzz-spec-json-seeds.py - seeds for fuzz-spec-json at the edges of
what the reader takes (lib/plan/spec-json.c, docs/spec-json.md): every list
just at and just past its limit, nesting, object size and value count at
and past theirs, and the values JSON does not allow or json-c would
silently change (NaN, \\u0000, a NUL byte, repeated keys, bytes that are not
UTF-8, lone surrogates, control characters).

    fuzz/fuzz-spec-json-seeds.py DIR [MAX_BYTES]

writes the seeds of at most MAX_BYTES (default 65536, scripts/fuzz's
-max_len) into DIR. fuzz/corpus/fuzz-spec-json/ holds the ones of at most
4096 bytes; the value-count seeds (16,384 values, 32 kB) are made by this
script for a run.
"""
import importlib
import sys

# its neighbour's helpers (a file name import does not need to be an identifier),
# without leaving a __pycache__ in the source tree
sys.dont_write_bytecode = True
_common = importlib.import_module("fuzz-host-json-seeds")
compact, at_and_past, write_seeds = _common.compact, _common.at_and_past, _common.write_seeds


def spec(**extra):
    doc = {"vcpus": 64, "memory": "64GiB"}
    doc.update(extra)
    return doc


def seeds():
    out = []
    out += at_and_past("nics", 64, lambda n: spec(nics=[{}] * n))
    out += at_and_past("accelerators", 64, lambda n: spec(accelerators=[{"model": "l40s"}] * n))
    out += at_and_past("rdma", 64, lambda n: spec(rdma=[{}] * n))
    out += at_and_past("vnuma", 64,
                       lambda n: spec(vcpus=n, memory=f"{n}GiB",
                                      vnuma=[{"vcpus": 1, "memory": "1GiB"}] * n))
    out += at_and_past("rss", 3, lambda n: spec(nics=[{"rss": ["tcp", "udp", "esp", "tcp"][:n]}]))
    out += at_and_past("tunnels", 2, lambda n: spec(nics=[{
        "tunnel_offloads": ["vxlan", "geneve", "vxlan"][:n]}]))
    out += at_and_past("members", 64, lambda n: spec(**{f"k{i}": 0 for i in range(n - 2)}))
    # values and keys: the root, 3 keys, 2 values and the list, then its entries
    out += at_and_past("values", 16384, lambda n: spec(x=[0] * (n - 7)))
    base = compact(spec())
    out += [("limit-depth-16.json", base[:-1] + b',"x":' + b"[" * 15 + b"]" * 15 + b"}"),
            ("limit-depth-17.json", base[:-1] + b',"x":' + b"[" * 16 + b"]" * 16 + b"}")]
    out += [
        ("nan.json", b'{"vcpus":NaN,"memory":"1GiB"}'),
        ("infinity.json", b'{"vcpus":2,"memory":Infinity}'),
        ("huge-number.json", b'{"vcpus":1e400,"memory":"1GiB"}'),
        ("nul-escape.json", b'{"name":"a\\u0000b","vcpus":2,"memory":"1GiB"}'),
        ("nul-escape-key.json", b'{"na\\u0000me":"a","vcpus":2,"memory":"1GiB"}'),
        ("nul-byte.json", b'{"name":"a","vcpus":2,"memory":"1GiB"}\0{"vcpus":8}'),
        ("duplicate-key.json", b'{"vcpus":4,"vcpus":8,"memory":"1GiB"}'),
        ("duplicate-key-escaped.json", b'{"vcpus":4,"v\\u0063pus":8,"memory":"1GiB"}'),
        ("duplicate-key-nested.json",
         b'{"vcpus":4,"memory":"1GiB","nics":[{"queues":1,"queues":2}]}'),
        ("not-utf8.json", b'{"name":"caf\xe9","vcpus":2,"memory":"1GiB"}'),
        ("lone-surrogate.json", b'{"name":"\\udc00","vcpus":2,"memory":"1GiB"}'),
        ("surrogate-pair.json", b'{"name":"\\ud83d\\ude00","vcpus":2,"memory":"1GiB"}'),
        ("control-char.json", b'{"name":"a\x1bb","vcpus":2,"memory":"1GiB"}'),
        ("escape-sequence.json", b'{"name":"\\u001b[2J","vcpus":2,"memory":"\\u009b31m"}'),
        ("bidi-override.json", b'{"vcpus":2,"memory":"1GiB","nics":[{"model":"\\u202eten"}]}'),
        ("bom.json", b'\xef\xbb\xbf{"vcpus":2,"memory":"1GiB"}'),
    ]
    return out


if __name__ == "__main__":
    write_seeds(seeds(), __doc__)
