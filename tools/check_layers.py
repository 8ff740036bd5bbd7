#!/usr/bin/env python3
"""check_layers.py - the house rules of the include graph (README, "Layout").

    tools/check_layers.py [ROOT]

Every C file of shim/ and tools/ belongs to a layer; a file may include the
project's headers of its own layer or below, never above. A file and its
header are one room; no room may reach itself through the includes (a
circle). The launcher and the supervisor (tools/) stand on the core: they may
include shim/ headers of the layers "rules" to "books", never the library's
own paths or wrappers. A shim/ file missing from the table below is an error
too: a new room gets its layer when it is made.

Prints one line per problem and exits 1, or one summary line and exits 0.
"""
import os
import re
import sys

# The layers of shim/, lowest first: what each may touch is itself and below.
SHIM_LAYERS = [
    ("rules", "pure functions on plain data: no I/O, no lock, no clock read",
     ["buf", "clock", "config", "policy", "procfs", "proto", "request", "resp", "resp_cmd", "resp_wire", "safe"]),
    ("kernel", "system calls on one socket or file; no table",
     ["log", "page", "probe", "real", "rebuild", "replay"]),
    ("books", "the connection table and what lives in an entry",
     ["reconnect", "session", "table"]),
    ("paths", "the library's write, read and heal paths over the books",
     ["conn", "conn_io", "heal"]),
    ("wrappers", "the interposed symbols, one file per call family",
     ["wrap", "wrap_epoll", "wrap_fd", "wrap_read", "wrap_socket", "wrap_write"]),
]
TOOLS_MAY_REACH = "books"  # the highest shim/ layer a tools/ file may include
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
EXPORTED = re.compile(r"HC_EXPORT\s[^(;]*?\b(\w+)\s*\(")


def code_only(text):
    """The text with comments, strings and character constants blanked."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def sources(root, top):
    for d, _, files in os.walk(os.path.join(root, top)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(d, f), root)


def resolve(root, path, name):
    """The file an include names: next to the includer, else in shim/ (-Ishim)."""
    for base in (os.path.dirname(path), "shim", "tools"):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(root, cand)):
            return cand
    return None


def room(path):
    return os.path.splitext(path)[0]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    layer_of, problems = {}, []
    for rank, (name, _, stems) in enumerate(SHIM_LAYERS):
        for s in stems:
            layer_of["shim/" + s] = (rank, name)
    tools_rank = next(r for r, (n, _, _) in enumerate(SHIM_LAYERS) if n == TOOLS_MAY_REACH)
    files = list(sources(root, "shim")) + list(sources(root, "tools"))
    edges = {}
    for path in files:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        me = room(path)
        if me.startswith("shim/") and me not in layer_of:
            problems.append(f"{path}: a shim/ room without a layer (add {os.path.basename(me)} to SHIM_LAYERS)")
            continue
        for name in INCLUDE.findall(text):
            target = resolve(root, path, name)
            if target is None:
                problems.append(f"{path}: includes \"{name}\", which is no file of the tree")
                continue
            other = room(target)
            if other == me:
                continue
            edges.setdefault(me, set()).add(other)
            if other not in layer_of:
                continue  # a tools/ header: tools/ rooms may use each other
            orank, oname = layer_of[other]
            if me in layer_of:
                mrank, mname = layer_of[me]
                if orank > mrank:
                    problems.append(f"{path} ({mname}) includes {target} ({oname}): a layer above its own")
            elif orank > tools_rank:
                problems.append(f"{path} (tools) includes {target} ({oname}): tools stand on the core's "
                                f"layers up to {TOOLS_MAY_REACH}")
    # A call to a symbol the wrappers export, from the core below them, goes
    # through our own wrapper (an arrow back up the house, and a re-entry):
    # the core calls the real one, HC_REAL(name).
    wrapped = set()
    for path in files:
        if os.path.basename(path).startswith("wrap_"):
            with open(os.path.join(root, path), encoding="utf-8") as f:
                wrapped |= set(EXPORTED.findall(f.read()))
    call = re.compile(r"(?<![\w.>])(" + "|".join(sorted(wrapped)) + r")\s*\(") if wrapped else None
    for path in files:
        me = room(path)
        if call is None or me not in layer_of or layer_of[me][1] == "wrappers":
            continue
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            code = code_only(f.read())
        for m in call.finditer(code):
            if re.search(r"HC_REAL\(\s*$", code[:m.start()]) or re.search(r"\(\*\s*$", code[:m.start()]):
                continue
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{path}:{line}: calls {m.group(1)}(), which the wrappers export: "
                            f"HC_REAL({m.group(1)}) is the real one")
    # Circles: a depth-first walk over the rooms.
    state, stack = {}, []

    def walk(r):
        state[r] = 1
        stack.append(r)
        for o in sorted(edges.get(r, ())):
            if state.get(o) == 1:
                circle = stack[stack.index(o):] + [o]
                problems.append("a circle: " + " -> ".join(circle))
            elif o not in state:
                walk(o)
        stack.pop()
        state[r] = 2

    for r in sorted(edges):
        if r not in state:
            walk(r)
    for p in problems:
        print(f"check_layers: {p}")
    if problems:
        return 1
    nrooms = len({room(p) for p in files})
    print(f"check_layers: {nrooms} rooms, {sum(len(v) for v in edges.values())} includes between them, "
          f"{len(SHIM_LAYERS)} layers: none goes up a layer, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
