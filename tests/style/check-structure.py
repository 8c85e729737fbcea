#!/usr/bin/python3
"""The library's structure, checked: layers, loops and file-local functions.

Usage: check-structure.py SOURCE_ROOT BUILD_ROOT

1. Layers. lib/ has one folder per layer, in this order:
       core -> host -> plan -> (kvm, libvirt) -> backend -> container
   A file may include headers of its own layer and of the layers below it;
   kvm and libvirt are peers and never include each other.
2. Loops. Within one folder of lib/, no files include each other in a loop,
   and no object files call each other in a loop (from the symbols `nm` sees
   in the library's objects).
3. File-local functions. A function (or object) that is not static must be
   used outside its file: by another file of the library, a tool, a benchmark
   or a fuzz target, a test (any object in BUILD_ROOT), or be part of the
   public ABI (ABI.txt). Otherwise it should be static. Those only tests call
   are listed as notes (seams for unit tests, or dead code tests keep alive).
4. Definitions you can find. Every exported function (ABI.txt) has its
   definition written out in lib/: a line that starts with its return type
   and has NAME( on it, as `grep -n '^[a-z].*NAME('` and ctags find it -
   never a definition a macro generates.

Prints every violation, one per line, and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

LAYERS = {"core": 0, "host": 1, "plan": 2, "kvm": 3, "libvirt": 3, "backend": 4, "container": 5}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def lib_files(src):
    lib = os.path.join(src, "lib")
    for layer in sorted(LAYERS):
        folder = os.path.join(lib, layer)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if name.endswith((".c", ".h")):
                yield layer, name, os.path.join(folder, name)


def strongly_connected(graph):
    """Tarjan's algorithm: the components with more than one member."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def check_includes(src, problems):
    graphs = {}
    for layer, name, path in lib_files(src):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        unit = os.path.splitext(name)[0]
        graph = graphs.setdefault(layer, {})
        for target in INCLUDE.findall(text):
            parts = target.split("/")
            if len(parts) != 2 or parts[0] not in LAYERS:
                continue
            other = parts[0]
            rel = "lib/%s/%s" % (layer, name)
            if LAYERS[other] > LAYERS[layer]:
                problems.append("%s includes %s: %s is a higher layer than %s"
                                % (rel, target, other, layer))
            elif LAYERS[other] == LAYERS[layer] and other != layer:
                problems.append("%s includes %s: %s and %s are peers and never include each other"
                                % (rel, target, other, layer))
            elif other == layer:
                dest = os.path.splitext(parts[1])[0]
                if dest != unit:
                    graph.setdefault(unit, set()).add(dest)
    for layer, graph in sorted(graphs.items()):
        for loop in strongly_connected(graph):
            problems.append("lib/%s: files include each other in a loop: %s"
                            % (layer, ", ".join(loop)))


def nm(paths):
    """{path: (defined global symbols, undefined symbols)} of object files, in one nm run."""
    result = {path: ({}, set()) for path in paths}
    if not paths:
        return result
    out = subprocess.run(["nm", "-P", "-A"] + list(paths), check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        head, _, rest = line.partition(": ")
        fields = rest.split()
        if head not in result or len(fields) < 2:
            continue
        name, kind = fields[0], fields[1]
        defined, undefined = result[head]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRGSVW" and kind.isupper():
            defined[name] = kind
    return result


def public_symbols(src):
    with open(os.path.join(src, "ABI.txt"), encoding="utf-8") as f:
        return {line.split()[1] for line in f
                if line.strip() and not line.startswith("#") and len(line.split()) == 2}


def check_objects(src, build, problems, notes):
    lib_objects, other_objects = {}, []
    object_dir = os.path.join(build, "lib", "libhpcvirt-internal.a.p")
    if not os.path.isdir(object_dir):
        problems.append("%s: no library objects to check (build the library first)" % object_dir)
        return
    keys = {}
    for name in sorted(os.listdir(object_dir)):
        m = re.match(r"^([a-z]+)_(.+)\.c\.o$", name)
        if m and m.group(1) in LAYERS:
            keys[os.path.join(object_dir, name)] = (m.group(1), m.group(2))
    for path, symbols in nm(sorted(keys)).items():
        lib_objects[keys[path]] = symbols
    for root, dirs, names in os.walk(build):
        if os.path.abspath(root) == os.path.abspath(object_dir):
            continue
        dirs[:] = [d for d in dirs if not d.startswith("meson-")]
        other_objects += [os.path.join(root, n) for n in names if n.endswith(".o")]
    outside, tested = set(), set()
    for path, (_, undefined) in nm(other_objects).items():
        rel = os.path.relpath(path, build)
        (tested if rel.startswith("tests" + os.sep) else outside).update(undefined)

    owner = {}
    for key, (defined, _) in lib_objects.items():
        for symbol in defined:
            owner[symbol] = key
    graphs = {}
    used = set(outside)
    for key, (_, undefined) in lib_objects.items():
        for symbol in undefined:
            dest = owner.get(symbol)
            if dest is None or dest == key:
                continue
            used.add(symbol)
            if dest[0] == key[0]:
                graphs.setdefault(key[0], {}).setdefault(key[1], set()).add(dest[1])
    for layer, graph in sorted(graphs.items()):
        for loop in strongly_connected(graph):
            problems.append("lib/%s: files call each other in a loop: %s"
                            % (layer, ", ".join(f + ".c" for f in loop)))

    public = public_symbols(src)
    for (layer, unit), (defined, _) in sorted(lib_objects.items()):
        for symbol in sorted(defined):
            if symbol in public or symbol in used:
                continue
            if symbol in tested:
                notes.append("lib/%s/%s.c: %s: only tests call it (a seam for unit tests)"
                             % (layer, unit, symbol))
                continue
            problems.append("lib/%s/%s.c: %s is not static but nothing outside the file uses it"
                            " (make it static, or remove it if nothing uses it at all)"
                            % (layer, unit, symbol))


def check_definitions(src, problems):
    lines = []
    for layer, name, path in lib_files(src):
        if name.endswith(".c"):
            with open(path, encoding="utf-8") as f:
                lines += [line for line in f if line[:1].isalpha() and not line.rstrip().endswith(";")]
    text = "".join(lines)
    for symbol in sorted(public_symbols(src)):
        if not re.search(r"^[A-Za-z].*\b%s\(" % re.escape(symbol), text, re.M):
            problems.append("%s: exported (ABI.txt) but no definition line in lib/ starts with its"
                            " return type and names it (write the function out; no macro)"
                            % symbol)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    src, build = argv[1], argv[2]
    problems, notes = [], []
    check_includes(src, problems)
    check_objects(src, build, problems, notes)
    check_definitions(src, problems)
    for note in notes:
        print("note: " + note)
    for problem in problems:
        print(problem)
    if problems:
        print("%d structure problem(s)" % len(problems))
        return 1
    print("structure: layers hold, no loops, no file-local functions exported, every"
          " public function defined where a search finds it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
