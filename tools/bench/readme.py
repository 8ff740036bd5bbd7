#!/usr/bin/python3
"""readme.py - put a `make bench` run into README.md's Cost section.

    tools/bench/readme.py [--note TEXT] [BENCH_MD [README]]

BENCH_MD (default build/bench.md, written by tools/bench.sh) replaces what
stands between the two marker lines of README (default README.md):

    <!-- bench: begin ... -->
    <!-- bench: end -->

--note TEXT (or, without --note, the variable BENCH_NOTE) puts TEXT, as a
paragraph of its own, before the run (say, that the figures are provisional).
Everything else in README stays as it is. `make bench-readme` runs
`make bench` and then this.
"""
import os
import re
import sys
import textwrap

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BEGIN = "<!-- bench: begin (tools/bench/readme.py writes what follows from build/bench.md; do not edit) -->"
END = "<!-- bench: end -->"


def main(argv):
    note = os.environ.get("BENCH_NOTE") or None
    if len(argv) >= 2 and argv[0] == "--note":
        note, argv = argv[1], argv[2:]
    if len(argv) > 2 or any(a.startswith("-") for a in argv):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    md = argv[0] if argv else os.path.join(ROOT, "build", "bench.md")
    readme = argv[1] if len(argv) > 1 else os.path.join(ROOT, "README.md")
    try:
        run = open(md, encoding="utf-8").read().strip()
    except OSError as e:
        print(f"readme.py: {md}: {e.strerror} (run make bench first)", file=sys.stderr)
        return 1
    if "| workload |" not in run:
        print(f"readme.py: {md} has no table of a make bench run", file=sys.stderr)
        return 1
    text = open(readme, encoding="utf-8").read()
    found = re.search(re.escape(BEGIN) + r"\n.*?^" + re.escape(END) + r"$", text, re.S | re.M)
    if found is None or text.count(BEGIN) != 1:
        print(f"readme.py: {readme}: expected exactly one pair of lines\n  {BEGIN}\n  {END}", file=sys.stderr)
        return 1
    if note:
        note = textwrap.fill(" ".join(note.split()), width=115, break_long_words=False, break_on_hyphens=False)
    block = BEGIN + "\n\n" + (note + "\n\n" if note else "") + run + "\n\n" + END
    new = text[:found.start()] + block + text[found.end():]
    if new != text:
        with open(readme + ".tmp", "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(readme + ".tmp", readme)
    print(f"readme.py: {readme}: Cost section {'updated' if new != text else 'unchanged'} from {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
